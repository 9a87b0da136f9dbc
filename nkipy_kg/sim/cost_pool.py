"""A shared bandwidth (the 16 DMA engines, or a core's HBM share) over modeled time."""

from __future__ import annotations

import numpy as np


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
        t, left, b = start, float(nbytes), self.bucket
        cap = self.rate * b * (1 - 1e-9)
        while self.full_until < self.frontier and self.used[self.full_until] >= cap:
            self.full_until += 1
        t = max(t, self.full_until * b)
        if left <= 1e-6:
            return t
        i = int(t // b)
        if i < self.frontier and t > i * b:  # the partial first bucket
            span = (i + 1) * b - t
            rate = min(max_rate, self.rate, (self.rate * b - self.used[i]) / span)
            take = min(rate * span, left) if rate > 1e-9 else 0.0
            self.used[i] += take
            left -= take
            if left <= 1e-6:
                return t + take / rate
            t, i = (i + 1) * b, i + 1
        while i < self.frontier and (self.frontier - i <= 8 or left <= max_rate * b):
            # Few buckets (or little data) left: one Python step per bucket is cheapest.
            rate = min(max_rate, (self.rate * b - self.used[i]) / b)
            if rate > 1e-9:
                take = min(rate * b, left)
                self.used[i] += take
                left -= take
                if left <= 1e-6:
                    return i * b + take / rate
            t, i = (i + 1) * b, i + 1
        if i >= self.frontier:
            return self._fill_empty(t, left, min(max_rate, self.rate))
        # Whole buckets up to the frontier: each takes min(its free bytes, max_rate * b).
        free = np.clip(np.minimum(max_rate * b, self.rate * b - self.used[i:self.frontier]), 0.0, None)
        total = np.cumsum(free)
        if total[-1] < left - 1e-6:
            self.used[i:self.frontier] += free
            return self._fill_empty(self.frontier * b, left - total[-1], min(max_rate, self.rate))
        j = int(np.searchsorted(total, left - 1e-6))
        rest = left - (total[j - 1] if j else 0.0)
        self.used[i:i + j] += free[:j]
        self.used[i + j] += rest
        return (i + j) * b + rest / (free[j] / b)

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
