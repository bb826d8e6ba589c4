"""``ResetBudget``: how many in-progress streams a peer may cancel before we hang up (CVE-2023-44487)."""

import time

# A client may cancel this many requests at once (a browser leaving a page
# with every stream in flight) ...
BURST = 200
# ... and then this many per second, for as long as the connection lasts.
RATE = 50.0


class ResetBudget:
    """A token bucket spent by RST_STREAMs on streams the application already works on.

    Cancelling a stream frees its MAX_CONCURRENT_STREAMS slot at once while the
    application call it started goes on, so "open, reset, repeat" makes the
    server run requests without bound (the HTTP/2 rapid reset attack,
    RFC 9113 section 10.5).  Once the budget is spent the connection gets
    GOAWAY(ENHANCE_YOUR_CALM).
    """

    __slots__ = ("tokens", "burst", "rate", "stamp", "clock")

    def __init__(self, burst=BURST, rate=RATE, clock=time.monotonic):
        self.burst = float(burst)
        self.rate = float(rate)
        self.tokens = self.burst
        self.clock = clock
        self.stamp = clock()

    def spend(self):
        """Count one cancelled stream; False once the peer is over its budget."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - 1.0
        self.stamp = now
        return self.tokens >= 0.0
