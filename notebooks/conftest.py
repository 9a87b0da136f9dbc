"""nbval set-up for the tutorial notebooks: sanitize outputs that vary between runs.

`pytest tests notebooks --nbval` loads this file because `notebooks/` is on the command
line; it points nbval at `nbval_sanitize.cfg` unless `--nbval-sanitize-with` was given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SANITIZE = Path(__file__).parent / "nbval_sanitize.cfg"


def pytest_configure(config: pytest.Config) -> None:
    option = config.option
    if hasattr(option, "nbval_sanitize_with") and option.nbval_sanitize_with is None:
        option.nbval_sanitize_with = str(SANITIZE)
