"""A shared bandwidth (the 16 DMA engines, or a core's HBM share) over modeled time."""

from __future__ import annotations

import numpy as np

_CHUNK = 64  # buckets per vectorised step of a long scan
_PY_STEPS = 16  # buckets scanned one Python step at a time first: most transfers end there


class BandwidthPool:
    """A shared bandwidth (bytes/ns) reserved in time buckets, so transfers issued
    later in program order can still use bandwidth left idle earlier."""

    def __init__(self, rate: float, bucket_ns: float = 50.0) -> None:
        self.rate, self.bucket = rate, bucket_ns
        self.used = np.zeros(1024)
        self.full_until = 0  # every bucket before this index is full
        self.frontier = 0    # every bucket from this index on is empty

    def _grow(self, n: int) -> None:
        if n > len(self.used):
            self.used = np.concatenate([self.used, np.zeros(max(n, 2 * len(self.used)) - len(self.used))])

    def reserve(self, start: float, nbytes: float, max_rate: float) -> float:
        """Move `nbytes` from `start` at <= max_rate; returns the finish time."""
        # Scalar steps read buckets with .item() (a Python float): NumPy scalars cost
        # ~5x more per operation, and every DMA takes this path.
        t, left, b = start, float(nbytes), self.bucket
        used, frontier = self.used, self.frontier
        rate_b = self.rate * b
        cap = rate_b * (1 - 1e-9)
        full = self.full_until
        while full < frontier and used.item(full) >= cap:
            full += 1
        self.full_until = full
        t = max(t, full * b)
        if left <= 1e-6:
            return t
        i = int(t // b)
        if i < frontier and t > i * b:  # the partial first bucket
            span = (i + 1) * b - t
            u = used.item(i)
            rate = min(max_rate, self.rate, (rate_b - u) / span)
            take = min(rate * span, left) if rate > 1e-9 else 0.0
            used[i] = u + take
            left -= take
            if left <= 1e-6:
                return t + take / rate
            t, i = (i + 1) * b, i + 1
        steps = 0
        while i < frontier and (steps < _PY_STEPS or frontier - i <= 8 or left <= max_rate * b):
            # Few buckets (or little data) left: one Python step per bucket is cheapest
            # (a vectorised chunk costs a dozen NumPy calls).
            steps += 1
            u = used.item(i)
            rate = min(max_rate, (rate_b - u) / b)
            if rate > 1e-9:
                take = min(rate * b, left)
                used[i] = u + take
                left -= take
                if left <= 1e-6:
                    return i * b + take / rate
            t, i = (i + 1) * b, i + 1
        if i >= frontier:
            return self._fill_empty(t, left, min(max_rate, self.rate))
        return self._whole_buckets(i, left, max_rate)

    def _whole_buckets(self, i: int, left: float, max_rate: float) -> float:
        """Whole buckets from i up to the frontier: each takes min(its free bytes, max_rate * b).
        Scanned in chunks (a transfer usually ends within a few buckets of a long stretch);
        each chunk's running total starts from the previous one's last, so the sums are the
        same sequential sums as one cumsum over the whole stretch."""
        b, frontier = self.bucket, self.frontier
        lo, prev, need = i, None, left - 1e-6
        while lo < frontier:
            hi = min(frontier, lo + _CHUNK)
            free = self.rate * b - self.used[lo:hi]
            np.minimum(free, max_rate * b, out=free)
            np.maximum(free, 0.0, out=free)  # in place: np.clip's dispatch costs more than the math
            total = np.cumsum(free if prev is None else np.concatenate(([prev], free)))
            if prev is not None:
                total = total[1:]
            if total[-1] >= need:
                k = int(np.searchsorted(total, need))
                before = total[k - 1] if k else prev
                rest = left - (before if before is not None else 0.0)
                self.used[lo:lo + k] += free[:k]
                self.used[lo + k] += rest
                return (lo + k) * b + rest / (free[k] / b)
            self.used[lo:hi] += free
            lo, prev = hi, total[-1]
        return self._fill_empty(frontier * b, left - prev, min(max_rate, self.rate))

    def _fill_empty(self, t: float, nbytes: float, rate: float) -> float:
        """Past the frontier every bucket is empty: the transfer runs at `rate` from t
        (one vectorised fill instead of a Python step per bucket)."""
        b = self.bucket
        end = t + nbytes / rate
        i, j = int(t // b), int(end // b)
        self._grow(j + 2)
        if i == j:
            self.used[i] += nbytes
        else:
            self.used[i] += rate * ((i + 1) * b - t)
            self.used[i + 1: j] = rate * b
            self.used[j] += rate * (end - j * b)
        self.frontier = j + 1
        return end
