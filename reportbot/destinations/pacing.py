"""Slack's pace: about one message per second per channel, short bursts allowed.

One ``ChannelPacer`` is shared by every thread of a run, so 200 reports posting to one
channel queue up at one a second instead of drawing 429s. A token bucket per channel
(``rate`` tokens a second, at most ``burst`` saved up): each post takes a token, or
reserves the next one and waits for it; reservations keep threads in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

RATE_PER_SECOND = 1.0
BURST = 2  # one less than Slack tolerates: a late post never lands early on the next


class ChannelPacer:
    def __init__(
        self,
        rate: float = RATE_PER_SECOND,
        burst: int = BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, when)
        self._lock = threading.Lock()

    def reserve(self, channel: str) -> float:
        """Take the next slot of ``channel``; the seconds to wait until it comes."""
        with self._lock:
            now = self._clock()
            tokens, when = self._buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.rate) - 1.0
            self._buckets[channel] = (tokens, now)
        return max(0.0, -tokens / self.rate)

    def wait(self, channel: str) -> None:
        """Block until ``channel`` may take another message."""
        delay = self.reserve(channel)
        if delay > 0:
            self._sleep(delay)
