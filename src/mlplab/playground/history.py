"""A playground's bounded memory of its run: rows keyed by the iteration k, thinned as they grow.

A tab may train for hours, so neither the records of E(w^k), ‖∇E(w^k)‖ nor the snapshots of
w^k for the scrubber may grow with k: past ``cap`` rows, the most recent ``recent`` stay and
the older ones are thinned to a log-spaced subset (w^0 and the early iterations, where the
picture changes fastest, keep more rows than the late ones).
"""

from __future__ import annotations

import numpy as np

MAX_RECORDS = 1200  # history rows kept: the most recent RECENT and a log-spaced subset of the older ones
RECENT = 400


class Thinned:
    """Rows keyed by an increasing k; past ``cap`` rows, the older ones are thinned to a log-spaced subset."""

    def __init__(self, cap: int = MAX_RECORDS, recent: int = RECENT):
        self.cap, self.recent = max(cap, 8), min(recent, max(cap // 2, 4))
        self.rows: list = []

    def add(self, k: int, row) -> None:
        """Append (k, row); a row for the latest k replaces it."""
        if self.rows and self.rows[-1][0] == k:
            self.rows[-1] = (k, row)
            return
        self.rows.append((k, row))
        if len(self.rows) > self.cap:
            self._thin()

    def _thin(self):
        old, new = self.rows[:-self.recent], self.rows[-self.recent:]
        keep = self.cap // 2 - 1
        ks = np.array([k for k, _ in old], dtype=float)
        targets = np.unique(np.round(np.geomspace(1, max(ks[-1], 1) + 1, keep) - 1))
        idx = np.unique(np.searchsorted(ks, targets).clip(0, len(old) - 1))
        idx = np.union1d(idx, [0, len(old) - 1]).astype(int)  # w^0 and the last old one stay
        self.rows = [old[i] for i in idx] + new

    def ks(self) -> list[int]:
        return [k for k, _ in self.rows]

    def last_k(self) -> int | None:
        return self.rows[-1][0] if self.rows else None

    def at_or_before(self, k: int):
        """(k', row) with the largest k' ≤ k (or the first row)."""
        best = self.rows[0]
        for kk, row in self.rows:
            if kk > k:
                break
            best = (kk, row)
        return best

    def get(self, k: int):
        for kk, row in reversed(self.rows):
            if kk == k:
                return row
            if kk < k:
                return None
        return None

    def __len__(self):
        return len(self.rows)


def spread(rows: list, n: int) -> list:
    """At most n of the rows, evenly spaced over the list, the first and the last always kept."""
    if len(rows) <= n:
        return rows
    idx = np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))
    return [rows[i] for i in idx]
