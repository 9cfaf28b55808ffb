"""What ``canary run`` says while it works: each phase on stderr, and a countdown while it waits.

A run spends most of its two minutes waiting (X-Ray indexes traces in tens of
seconds, CloudWatch shows a datapoint after a minute or so); a silent terminal
looks hung. On a terminal the wait is a countdown on one line; elsewhere (a
CI log, a file) one line per phase and per wait, never a line per second.
"""

from __future__ import annotations

import math
import sys
from typing import TextIO

from ._config import Clock

__all__ = ["CountdownClock", "Progress"]


class Progress:
    r"""Prints phases to ``stream`` (stderr by default); silent when ``quiet``.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> Progress(out).phase("writing 5 test traces to X-Ray")
        >>> out.getvalue()
        'canary: writing 5 test traces to X-Ray\n'
    """

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())

    def phase(self, text: str) -> None:
        """Say what the canary starts doing now."""
        if not self.quiet:
            self.stream.write(f"canary: {text}\n")
            self.stream.flush()

    def warn(self, text: str) -> None:
        """A warning the operator should act on (printed even when ``quiet``)."""
        self.stream.write(f"canary: warning: {text}\n")
        self.stream.flush()

    def waiting(self, seconds: float, remaining: float) -> None:
        """Show a wait: once per wait off a terminal, every second on one (``remaining`` counts down)."""
        if self.quiet or seconds < 1:
            return
        if self.live:
            end = "\n" if remaining <= 0 else ""
            self.stream.write(
                f"\r  waiting {math.ceil(max(remaining, 0)):>3d} s of {math.ceil(seconds)} s {end}"
            )
            self.stream.flush()
        elif remaining == seconds:
            self.stream.write(f"  waiting {math.ceil(seconds)} s\n")
            self.stream.flush()


class CountdownClock:
    r"""A :class:`~._config.Clock` whose waits are shown by ``progress``; time itself comes from ``clock``.

    Example:
        >>> import io
        >>> class Frozen:
        ...     t = 0.0
        ...     def now(self): return self.t
        ...     def sleep(self, seconds): self.t += seconds
        >>> out = io.StringIO()
        >>> clock = CountdownClock(Frozen(), Progress(out))
        >>> clock.sleep(30)
        >>> out.getvalue(), clock.now()
        ('  waiting 30 s\n', 30.0)
    """

    def __init__(self, clock: Clock, progress: Progress) -> None:
        self._clock = clock
        self._progress = progress

    def now(self) -> float:
        """The wrapped clock's time."""
        return self._clock.now()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``; on a terminal in one-second steps so the countdown moves."""
        if seconds <= 0:
            return
        progress = self._progress
        progress.waiting(seconds, seconds)
        if not progress.live or progress.quiet or seconds < 1:
            self._clock.sleep(seconds)
            return
        end = self._clock.now() + seconds
        while (left := end - self._clock.now()) > 0:
            self._clock.sleep(min(1.0, left))
            progress.waiting(seconds, end - self._clock.now())
