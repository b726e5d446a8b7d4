"""mamori's own endpoints under ``/_mamori/`` (and moto's ``/moto-api/reset``)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

from mamori import __version__
from mamori.errors import AwsError
from mamori.gateway.streams import read_body
from mamori.protocols.base import HttpRequest, HttpResponse
from mamori.store.engine import STORE_FAILURES

PREFIXES = ("/_mamori/", "/moto-api/")


def _json(status: int, payload: dict[str, Any]) -> HttpResponse:
    return HttpResponse(
        status, {"content-type": "application/json"}, json.dumps(payload).encode() + b"\n"
    )


def _error(status: int, message: str) -> HttpResponse:
    return _json(status, {"error": message})


async def handle(gateway, request: HttpRequest, receive) -> HttpResponse:
    path = request.path.split("?", 1)[0].rstrip("/")
    runtime = gateway.runtime
    if path == "/_mamori/health" and request.method == "GET":
        report = await asyncio.to_thread(health, gateway)
        return _json(200 if report["status"] == "ok" else 503, report)
    if path in ("/_mamori/reset", "/moto-api/reset") and request.method == "POST":
        if not runtime.settings.allow_reset:
            return _error(403, "reset is disabled; start the server with --allow-reset")
        await asyncio.to_thread(runtime.reset)
        return _json(200, {"status": "reset"})
    if path == "/_mamori/clock":
        return await _clock(runtime, request, receive)
    return _error(404, f"no such endpoint: {request.method} {path}")


def health(gateway) -> dict[str, Any]:
    """The node's health; "status" is "unavailable" while AWS calls are being refused (the
    store unreachable, or the journal failing closed), so that a load balancer can tell."""
    runtime = gateway.runtime
    store_ok = runtime.store.ping()
    journal = _journal_health(runtime.journal)
    return {
        "status": "ok" if store_ok and journal["writable"] else "unavailable",
        "version": __version__,
        "uptime_seconds": round(time.monotonic() - gateway.started, 3),
        "store": {"dialect": runtime.store.dialect, "ok": store_ok},
        "journal": journal,
        "services": {
            c.service: {"implemented": c.implemented, "total": c.total}
            for c in runtime.registry.coverage()
        },
    }


def _journal_health(journal) -> dict[str, Any]:
    try:
        journal.check_writable()
    except AwsError as refusal:
        return {"writable": False, "error": refusal.message}
    return {"writable": True}


async def _clock(runtime, request: HttpRequest, receive) -> HttpResponse:
    clock = runtime.clock
    if request.method == "GET":
        return _json(200, _clock_state(clock))
    if request.method != "POST":
        return _error(405, "use GET or POST")
    if not runtime.settings.allow_time_travel:
        return _error(403, "time travel is disabled; start the server with --allow-time-travel")
    try:
        request.body = await read_body(receive, 65536, request.headers.get("content-length"))
    except AwsError as error:
        return _error(error.status or 400, error.message)
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        if "advance_seconds" in body:
            await asyncio.to_thread(runtime.advance_clock, _seconds(body["advance_seconds"]))
        elif "set" in body:
            await asyncio.to_thread(runtime.set_clock, _time(body["set"]))
        else:
            raise ValueError('give "advance_seconds" or "set"')
    except (ValueError, TypeError, OverflowError) as exc:
        return _error(400, str(exc))
    except STORE_FAILURES:
        return _error(503, "the clock was not moved: the store cannot be written")
    # Work that fell due during the jump has run before anyone sees the new time.
    await asyncio.to_thread(runtime.scheduler.run_due)
    return _json(200, _clock_state(clock))


def _seconds(value: Any) -> float:
    if type(value) not in (int, float):  # JSON's true and false are not numbers
        raise ValueError('"advance_seconds" must be a number of seconds')
    return float(value)


def _time(value: Any) -> datetime:
    if type(value) is not str:
        raise ValueError('"set" must be an ISO 8601 time such as 2030-01-01T00:00:00Z')
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _clock_state(clock) -> dict[str, Any]:
    return {
        "now": clock.now().isoformat().replace("+00:00", "Z"),
        "offset_seconds": clock.offset.total_seconds(),
    }
