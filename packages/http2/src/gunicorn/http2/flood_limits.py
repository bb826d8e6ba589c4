"""How much useless work a peer may ask for before it gets GOAWAY(ENHANCE_YOUR_CALM) (RFC 9113 section 10.5)."""

import time

# Cancelled requests: a browser leaving a page may cancel every stream in
# flight at once; "open, reset, repeat" (the rapid reset attack,
# CVE-2023-44487) runs application calls without bound.
RESET_BURST = 200
RESET_RATE = 50.0
# Frames that cost us work and carry no request: PING and SETTINGS (each
# answered), PRIORITY, and DATA without payload or END_STREAM (the floods of
# CVE-2019-9512, -9515 and -9518).  Clients send a handful per connection.
CONTROL_BURST = 1000
CONTROL_RATE = 100.0


class FrameBudget:
    """A token bucket: ``burst`` frames at once, then ``rate`` a second."""

    __slots__ = ("tokens", "burst", "rate", "stamp", "clock")

    def __init__(self, burst, rate, clock=time.monotonic):
        self.burst = float(burst)
        self.rate = float(rate)
        self.tokens = self.burst
        self.clock = clock
        self.stamp = clock()

    def spend(self):
        """Count one frame; False once the peer is over its budget."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - 1.0
        self.stamp = now
        return self.tokens >= 0.0


def reset_budget():
    """RST_STREAMs on streams the application already works on."""
    return FrameBudget(RESET_BURST, RESET_RATE)


def control_budget():
    """PING, SETTINGS, PRIORITY and empty DATA frames."""
    return FrameBudget(CONTROL_BURST, CONTROL_RATE)
