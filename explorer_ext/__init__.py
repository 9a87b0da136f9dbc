"""Jupyter front end of nkipy-kg (`%load_ext explorer_ext`). Renders compiler data; never touches MLIR."""
