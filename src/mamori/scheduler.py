"""Periodic and one-off work on the domain clock.

Jobs are registered with an interval; ``run_due()`` runs every job whose time has come according
to the clock. The server calls it from a background task every second and, after a time-travel
jump, before the next request is answered, so work that falls due during a jump has run by then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mamori.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: timedelta
    run: Callable[[datetime], None]
    next_run: datetime


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()

    def every(self, name: str, interval: timedelta, run: Callable[[datetime], None]) -> None:
        with self._lock:
            self._jobs[name] = Job(name, interval, run, self.clock.now() + interval)

    def jobs(self) -> list[str]:
        return sorted(self._jobs)

    def run_due(self) -> int:
        """Run each due job (catching up one run per job per call); returns how many ran."""
        ran = 0
        with self._lock:
            now = self.clock.now()
            for job in list(self._jobs.values()):
                if job.next_run > now:
                    continue
                try:
                    job.run(now)
                except Exception:
                    log.exception("scheduled job %s failed", job.name)
                ran += 1
                # A job that fell behind (time travel) runs once, then resumes its cadence.
                job.next_run += job.interval
                if job.next_run <= now:
                    job.next_run = now + job.interval
        return ran
