"""The domain clock and the scheduler that runs work falling due on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mamori.clock import LATEST, Clock, parse_duration
from mamori.scheduler import Scheduler


def test_clock_moves_forward_only():
    clock = Clock()
    start = clock.now()
    clock.advance(3600)
    assert clock.now() - start >= timedelta(hours=1)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(start)
    target = datetime(2099, 1, 1, tzinfo=UTC)
    assert clock.set(target) >= target
    clock.reset()
    assert clock.now() < target


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 1e15, 1e300, -1.0])
def test_an_impossible_advance_raises_and_changes_nothing(seconds):
    clock = Clock()
    clock.advance(60)
    with pytest.raises(ValueError):
        clock.advance(seconds)
    assert clock.offset == timedelta(seconds=60)


def test_the_clock_stops_at_its_latest_time():
    clock = Clock()
    with pytest.raises(ValueError, match="cannot move past"):
        clock.set(LATEST + timedelta(seconds=1))
    clock.set(LATEST - timedelta(days=1))
    with pytest.raises(ValueError, match="cannot move past"):
        clock.advance(2 * 86400)
    assert clock.now() < LATEST


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_due_jobs_run_once_after_a_jump_then_keep_their_cadence():
    clock = Clock()
    scheduler = Scheduler(clock)
    runs: list[datetime] = []
    scheduler.every("tick", timedelta(minutes=1), runs.append)
    assert scheduler.run_due() == 0 and runs == []
    clock.advance(3600)  # an hour passes at once: the job runs once, not sixty times
    assert scheduler.run_due() == 1
    assert scheduler.run_due() == 0
    clock.advance(59)
    assert scheduler.run_due() == 0
    clock.advance(2)
    assert scheduler.run_due() == 1
    assert len(runs) == 2 and runs[0] <= runs[1]


def test_a_failing_job_does_not_stop_the_others():
    clock = Clock()
    scheduler = Scheduler(clock)
    seen = []

    def broken(now):
        raise RuntimeError("boom")

    scheduler.every("broken", timedelta(seconds=1), broken)
    scheduler.every("fine", timedelta(seconds=1), seen.append)
    clock.advance(2)
    assert scheduler.run_due() == 2
    assert len(seen) == 1
