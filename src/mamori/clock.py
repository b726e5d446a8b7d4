"""The one clock all domain time comes from.

Credential expiry, rotation and deletion schedules, retention, alarm periods and delivery
intervals read ``Clock.now()``. Tests move it forward (time travel) instead of sleeping. SigV4's
clock-skew check deliberately does not use it: it compares with the real wall clock, so signed
requests keep working after a jump.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta


def wall_clock() -> datetime:
    return datetime.now(UTC)


# Domain time never passes this: later dates would leave no room for the durations added to
# "now" (expiries, schedules, retention) before datetime's own end in the year 9999.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        offset = self._offset
        return datetime.now(UTC) + offset if offset else datetime.now(UTC)

    def readings(self) -> tuple[datetime, datetime]:
        """(domain time, wall-clock time) from one reading of the system clock."""
        wall = datetime.now(UTC)
        offset = self._offset
        return (wall + offset if offset else wall), wall

    @property
    def offset(self) -> timedelta:
        return self._offset

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds``; a bad move raises ValueError and changes nothing."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the clock only moves forward, by a finite number of seconds")
        with self._lock:
            room = LATEST - datetime.now(UTC) - self._offset
            if seconds > room.total_seconds():
                raise _past_latest()
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        """Move forward to ``when``; a bad move raises ValueError and changes nothing."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when > LATEST:
            raise _past_latest()
        with self._lock:
            target = when - datetime.now(UTC)
            if target < self._offset:
                raise ValueError("the clock only moves forward")
            self._offset = target
        return self.now()

    def restore(self, offset: timedelta) -> None:
        """Take up a saved offset (one saved before a restart, or the one before a move that
        could not be saved); ignored if negative or past LATEST."""
        with self._lock:
            if timedelta(0) <= offset <= LATEST - datetime.now(UTC):
                self._offset = offset

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)


def _past_latest() -> ValueError:
    return ValueError(f"the clock cannot move past {LATEST:%Y-%m-%dT%H:%M:%SZ}")


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '2h', '1d', '1w' -> seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)
