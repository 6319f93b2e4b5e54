"""Window arithmetic: where an operation may start and where it ends.

Rule (format): an operation starts at s inside a window [a, b) and ends at the first moment e
at which the window minutes inside [s, e) add up to its duration; it holds [s, e).
Windows are clipped to [0, horizon) and touching windows merged (both exact: nothing may end
after the horizon, and a zero-length gap changes no end).

Zero-duration work holds no machine time, so it needs no window: it may start at any minute
of [0, horizon], the horizon end included (settled in issue 17; the validator agrees).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    """Starts in [lo, hi] all cross the same gaps, so the held span has the fixed `size`."""

    lo: int
    hi: int
    size: int


class Calendar:
    def __init__(self, windows: list[tuple[int, int]], horizon: int) -> None:
        ws: list[tuple[int, int]] = []
        for a, b in sorted(windows):
            a, b = max(0, a), min(horizon, b)
            if b <= a:
                continue
            if ws and a <= ws[-1][1]:
                ws[-1] = (ws[-1][0], max(ws[-1][1], b))
            else:
                ws.append((a, b))
        self.windows = ws
        self.starts = [a for a, _ in ws]
        self.ends = [b for _, b in ws]
        # cum[i] = window minutes before window i; cum[n] = total.
        cum = [0]
        for a, b in ws:
            cum.append(cum[-1] + b - a)
        self.cum = cum
        self.horizon = horizon

    @property
    def total(self) -> int:
        return self.cum[-1]

    def window_of(self, s: int) -> int | None:
        """Index of the window containing minute s, or None."""
        i = bisect_right(self.starts, s) - 1
        if i >= 0 and s < self.ends[i]:
            return i
        return None

    def next_start(self, t: int) -> int | None:
        """Smallest s >= t inside a window."""
        i = bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return t
        i += 1
        return self.starts[i] if i < len(self.starts) else None

    def work_before(self, t: int) -> int:
        """Window minutes inside [0, t)."""
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(t, self.ends[i]) - self.starts[i]

    def end_of(self, s: int, d: int) -> int | None:
        """End of an operation of duration d started at s (None: s not in a window or the
        work does not fit before the last window ends)."""
        if d <= 0:  # holds nothing: no window needed, only the horizon
            return s if 0 <= s <= self.horizon else None
        i = self.window_of(s)
        if i is None:
            return None
        target = self.cum[i] + (s - self.starts[i]) + d
        if target > self.cum[-1]:
            return None
        # first window j with cum[j+1] >= target
        j = bisect_right(self.cum, target - 1) - 1
        return self.starts[j] + target - self.cum[j]

    def pieces(self, d: int, lo: int = 0, hi: int | None = None) -> list[Piece]:
        """Start ranges within [lo, hi] of constant held length for duration d."""
        if hi is None:
            hi = self.horizon
        if d <= 0:  # any start in [0, horizon], windows or not
            lo, hi = max(0, lo), min(hi, self.horizon)
            return [Piece(lo, hi, 0)] if lo <= hi else []
        out: list[Piece] = []
        n = len(self.windows)
        i = max(0, bisect_right(self.starts, lo) - 1)
        while i < n and self.starts[i] <= hi:
            a, b = self.windows[i]
            s_lo, s_hi = max(a, lo), min(b - 1, hi)
            if s_lo <= s_hi:
                # start s in window i ends in window j when cum[j] < W(s)+d <= cum[j+1],
                # W(s) = cum[i] + s - a; held length = d + gaps between windows i and j.
                base = self.cum[i] - a + d
                j = i
                while j < n:
                    p_lo = max(s_lo, self.cum[j] - base + 1)
                    p_hi = min(s_hi, self.cum[j + 1] - base)
                    if p_lo > s_hi:
                        break
                    if p_lo <= p_hi:
                        gaps = (self.starts[j] - self.cum[j]) - (a - self.cum[i])
                        out.append(Piece(p_lo, p_hi, d + gaps))
                    j += 1
            i += 1
        return out
