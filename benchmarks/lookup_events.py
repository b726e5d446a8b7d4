"""CloudTrail ``LookupEvents`` over a large journal: ms for the first page, per lookup attribute.

Fills a store (SQLite in a temp dir by default; PostgreSQL with ``--database-url``) with
``--events`` journal records (default 1,000,000) spread over the last 100 days (so ~10% are past
the 90-day retention), in the journal's own row format (``mamori.journal.prepare``), bulk
inserted with ``executemany`` (secondary indexes dropped during the load and rebuilt after).
Then times the first page (50 events) of LookupEvents for each filter:

* in-process, through :class:`mamori.services.cloudtrail.history.EventHistory` (the provider's
  query), first call (cold) and the median of ``--repeat`` calls;
* through boto3 against a live ``mamori serve`` on that data dir (``--skip-http`` to skip);

and prints each query's plan (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``). The target
(issue 6) is < 100 ms. Prints; asserts nothing.

    .venv/bin/python benchmarks/lookup_events.py                       # ~2-3 minutes
    .venv/bin/python benchmarks/lookup_events.py --events 200000 --repeat 5
    .venv/bin/python benchmarks/lookup_events.py --data-dir /tmp/lookup-bench --keep   # reuse
    .venv/bin/python benchmarks/lookup_events.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/mamori_lookup_bench
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from mamori.gateway import audit
from mamori.iam.principals import Principal, root_principal
from mamori.journal import prepare
from mamori.service_models import service_model
from mamori.services.cloudtrail.history import EventHistory, LookupQuery
from mamori.store import Store
from mamori.store.schema import journal_resources_table, journal_table
from mamori.store.seal import load_master_key

ACCOUNT = "000000000000"
OTHER_ACCOUNTS = ("111111111111", "222222222222")
ROOT_KEY = "AKIAMAMORIBENCHROOT1"
ROOT_SECRET = "mamori-bench-root-secret-access-key-00000"
USERS = 2000
SPAN = timedelta(days=100)
# (service, operation, weight, resource type or None)
OPERATIONS = [
    ("kms", "Encrypt", 200, "AWS::KMS::Key"),
    ("kms", "Decrypt", 200, "AWS::KMS::Key"),
    ("kms", "GenerateDataKey", 80, "AWS::KMS::Key"),
    ("sts", "GetCallerIdentity", 120, None),
    ("sts", "AssumeRole", 40, "AWS::IAM::Role"),
    ("iam", "GetUser", 60, None),
    ("iam", "ListUsers", 60, None),
    ("iam", "ListRoles", 40, None),
    ("iam", "GetRole", 40, None),
    ("iam", "CreateUser", 8, "AWS::IAM::User"),
    ("iam", "DeleteUser", 4, "AWS::IAM::User"),
    ("iam", "CreateRole", 6, "AWS::IAM::Role"),
    ("iam", "PutUserPolicy", 10, None),
    ("iam", "CreatePolicy", 5, "AWS::IAM::Policy"),
    ("iam", "AttachRolePolicy", 5, None),
    ("iam", "CreateAccessKey", 4, None),
    ("kms", "CreateKey", 2, "AWS::KMS::Key"),
    ("kms", "ScheduleKeyDeletion", 1, "AWS::KMS::Key"),
    ("iam", "DeleteAccountPasswordPolicy", 1, None),
]
REGIONS = (("us-east-1", 70), ("eu-west-1", 20), ("ap-northeast-1", 10))


def _templates() -> dict[str, dict]:
    """One real record (audit.build_record) per operation, to copy and vary."""
    now = datetime.now(UTC)
    templates = {}
    for service, name, _, _ in OPERATIONS:
        operation = service_model(service).operation_model(name)
        templates[name] = audit.build_record(
            operation=operation,
            principal=root_principal(ACCOUNT, ROOT_KEY),
            region="us-east-1",
            event_time=now,
            source_ip="10.0.0.1",
            user_agent="Boto3/1.44 md/Botocore#1.44 benchmark",
            request_id="x",
            params={"KeyId": "alias/app"} if service == "kms" else {"UserName": "bench"},
            output=None,
            error_code=None,
            error_message=None,
            resources=None,
            tls=False,
        )
    return templates


def user_identity(i: int, account: str) -> dict:
    return audit.user_identity(
        Principal(
            type="IAMUser",
            account_id=account,
            arn=f"arn:aws:iam::{account}:user/user-{i:04d}",
            principal_id=f"AIDABENCH{i:011d}",
            user_name=f"user-{i:04d}",
            access_key_id=access_key(i),
        )
    )


def access_key(i: int) -> str:
    return f"AKIABENCH{i:011d}"


def resource(kind: str, account: str, region: str, rng: random.Random) -> dict:
    n = rng.randrange(200)
    if kind == "AWS::KMS::Key":
        arn = f"arn:aws:kms:{region}:{account}:key/{uuid.UUID(int=n).hex}"
    elif kind == "AWS::IAM::Role":
        arn = f"arn:aws:iam::{account}:role/role-{n:03d}"
    elif kind == "AWS::IAM::User":
        arn = f"arn:aws:iam::{account}:user/user-{n:04d}"
    else:
        arn = f"arn:aws:iam::{account}:policy/policy-{n:03d}"
    return {"ARN": arn, "accountId": account, "type": kind}


def generate(n: int, now: datetime, seed: int = 6):
    """``n`` records, oldest first, as (journal row dict, resource pairs)."""
    rng = random.Random(seed)
    templates = _templates()
    names = [op[1] for op in OPERATIONS]
    weights = [op[2] for op in OPERATIONS]
    kinds = {op[1]: op[3] for op in OPERATIONS}
    region_names = [r for r, _ in REGIONS]
    region_weights = [w for _, w in REGIONS]
    identities = {}
    start = now - SPAN
    step = SPAN / n
    picks = rng.choices(names, weights, k=n)
    regions = rng.choices(region_names, region_weights, k=n)
    for i in range(n):
        name = picks[i]
        account = ACCOUNT if rng.random() < 0.9 else rng.choice(OTHER_ACCOUNTS)
        region = regions[i]
        user = rng.randrange(USERS)
        identity = identities.get((user, account))
        if identity is None:
            identity = identities[(user, account)] = user_identity(user, account)
        record = copy.copy(templates[name])
        when = start + step * i
        record["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        record["eventID"] = str(uuid.UUID(int=(int(when.timestamp() * 1000) << 80) | i))
        record["requestID"] = str(uuid.UUID(int=rng.getrandbits(128)))
        record["userIdentity"] = identity
        record["awsRegion"] = "us-east-1" if name in ("ListUsers", "GetUser") else region
        record["recipientAccountId"] = account
        if rng.random() < 0.03:
            record["errorCode"] = "AccessDenied"
            record["errorMessage"] = "not authorized"
        kind = kinds[name]
        if kind is not None:
            record["resources"] = [resource(kind, account, record["awsRegion"], rng)]
        yield prepare(record)


def _secondary_indexes() -> list[sa.Index]:
    return [ix for ix in (*journal_table.indexes, *journal_resources_table.indexes)]


def fill(store: Store, n: int, now: datetime, chunk: int = 20_000) -> None:
    engine = store.engine
    indexes = _secondary_indexes()
    t0 = time.perf_counter()
    with store.begin() as conn:
        for ix in indexes:
            ix.drop(conn, checkfirst=True)
    rows: list[dict] = []
    res_rows: list[dict] = []

    def flush() -> None:
        with store.begin() as conn:
            conn.execute(journal_table.insert(), rows)
            if res_rows:
                conn.execute(journal_resources_table.insert(), res_rows)
        rows.clear()
        res_rows.clear()

    for seq, (row, resources) in enumerate(generate(n, now), start=1):
        row["seq"] = seq
        rows.append(row)
        for kind, name in resources:
            res_rows.append(
                {
                    "seq": seq,
                    "resource_type": kind,
                    "resource_name": name,
                    "account_id": row["account_id"],
                    "region": row["region"],
                    "event_time": row["event_time"],
                }
            )
        if len(rows) >= chunk:
            flush()
            if seq % 200_000 == 0:
                print(f"  {seq:,} rows, {time.perf_counter() - t0:.0f} s", flush=True)
    if rows:
        flush()
    t1 = time.perf_counter()
    with store.begin() as conn:
        for ix in indexes:
            ix.create(conn)
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('journal_seq_seq', (SELECT max(seq) FROM journal))")
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    print(
        f"filled {n:,} events in {t1 - t0:.0f} s, indexes rebuilt in "
        f"{time.perf_counter() - t1:.0f} s",
        flush=True,
    )


def count(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(journal_table)).scalar_one()


def pick_values(store: Store, now: datetime) -> dict[str, str]:
    """Real values to look up: from recent events of the default account in us-east-1."""
    with store.connect() as conn:
        recent = conn.execute(
            sa.select(journal_table.c.event_id, journal_table.c.seq)
            .where(journal_table.c.account_id == ACCOUNT, journal_table.c.region == "us-east-1")
            .order_by(journal_table.c.event_time.desc(), journal_table.c.seq.desc())
            .offset(5000)
            .limit(1)
        ).one()
        role = conn.execute(
            sa.select(journal_resources_table.c.resource_name)
            .where(journal_resources_table.c.resource_type == "AWS::IAM::Role")
            .where(journal_resources_table.c.account_id == ACCOUNT)
            .where(journal_resources_table.c.region == "us-east-1")
            .limit(1)
        ).scalar_one()
    return {"event_id": recent[0], "role": role}


def filters(values: dict[str, str], now: datetime) -> list[tuple[str, LookupQuery]]:
    q = LookupQuery
    window = (now - timedelta(days=40), now - timedelta(days=39))
    return [
        ("(no attribute)", q(ACCOUNT, "us-east-1")),
        ("EventId", q(ACCOUNT, "us-east-1", ("EventId", values["event_id"]))),
        ("EventName=CreateUser", q(ACCOUNT, "us-east-1", ("EventName", "CreateUser"))),
        ("EventName=Encrypt", q(ACCOUNT, "us-east-1", ("EventName", "Encrypt"))),
        (
            "EventName (rare)",
            q(ACCOUNT, "us-east-1", ("EventName", "DeleteAccountPasswordPolicy")),
        ),
        ("EventName=NoSuchThing", q(ACCOUNT, "us-east-1", ("EventName", "NoSuchThing"))),
        ("ReadOnly=false", q(ACCOUNT, "us-east-1", ("ReadOnly", "false"))),
        ("Username", q(ACCOUNT, "us-east-1", ("Username", "user-0042"))),
        ("ResourceType", q(ACCOUNT, "us-east-1", ("ResourceType", "AWS::IAM::Role"))),
        ("ResourceName", q(ACCOUNT, "us-east-1", ("ResourceName", values["role"]))),
        ("EventSource", q(ACCOUNT, "us-east-1", ("EventSource", "iam.amazonaws.com"))),
        ("AccessKeyId", q(ACCOUNT, "us-east-1", ("AccessKeyId", access_key(42)))),
        (
            "EventName + 1-day window",
            q(ACCOUNT, "us-east-1", ("EventName", "Decrypt"), window[0], window[1]),
        ),
        ("Username, eu-west-1", q(ACCOUNT, "eu-west-1", ("Username", "user-0042"))),
    ]


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.1f}"


def in_process(store: Store, cases, repeat: int) -> dict[str, tuple[float, float]]:
    history = EventHistory(store)
    now = datetime.now(UTC)
    print(f"\nin-process (EventHistory.lookup, first page, MaxResults=50; {repeat} runs)")
    print(f"{'filter':28} {'events':>6} {'cold ms':>8} {'median ms':>10} {'page 2 ms':>10}")
    results = {}
    for label, query in cases:
        t = time.perf_counter()
        page = history.lookup(query, now=now)
        cold = time.perf_counter() - t
        samples = []
        for _ in range(repeat):
            t = time.perf_counter()
            history.lookup(query, now=now)
            samples.append(time.perf_counter() - t)
        page2 = ""
        if page.get("NextToken"):
            t = time.perf_counter()
            history.lookup(query, now=now, next_token=page["NextToken"])
            page2 = f"{(time.perf_counter() - t) * 1000:10.1f}"
        n = len(page["Events"])
        print(f"{label:28} {n:6d} {cold * 1000:8.1f} {_ms(samples):>10} {page2:>10}")
        results[label] = (cold, statistics.median(samples))
    return results


def plans(store: Store, cases) -> None:
    """The plan of every statement one lookup runs (captured as executed)."""
    history = EventHistory(store)
    now = datetime.now(UTC)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    pg = store.dialect == "postgresql"
    print("\nquery plans (main statement of each lookup)")
    for label, query in cases:
        captured.clear()
        sa.event.listen(store.engine, "before_cursor_execute", capture)
        try:
            history.lookup(query, now=now)
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", capture)
        print(f"  {label}:")
        selects = [c for c in captured if c[0].lstrip().upper().startswith("SELECT")]
        for i, (statement, parameters) in enumerate(selects):
            with store.engine.connect() as conn:
                raw = conn.connection.driver_connection
                cur = raw.cursor()
                cur.execute(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + statement, parameters)
                lines = [str(r[0]) if pg else str(r[-1]) for r in cur.fetchall()]
                cur.close()
            what = "events" if i == 0 else "resources of the page"
            print(f"    [{what}]")
            for line in lines:
                print(f"      {line}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def over_http(data_dir: Path, database_url: str | None, cases, repeat: int) -> None:
    import boto3
    from botocore.config import Config

    port = _free_port()
    env = {
        **os.environ,
        "MAMORI_ROOT_ACCESS_KEY_ID": ROOT_KEY,
        "MAMORI_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
        "MAMORI_LOG_LEVEL": "warning",
    }
    if database_url:
        env["MAMORI_DATABASE_URL"] = database_url
    log = open(data_dir.parent / "lookup-bench-server.log", "ab")  # noqa: SIM115
    command = [sys.executable, "-m", "mamori.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(endpoint + "/_mamori/health", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mamori did not start") from None
                time.sleep(0.1)
        clients = {}
        print(f"\nboto3 -> mamori serve (first page, MaxResults=50; {repeat} runs)")
        print(f"{'filter':28} {'events':>6} {'cold ms':>8} {'median ms':>10}")
        for label, query in cases:
            client = clients.get(query.region)
            if client is None:
                client = clients[query.region] = boto3.client(
                    "cloudtrail",
                    endpoint_url=endpoint,
                    region_name=query.region,
                    aws_access_key_id=ROOT_KEY,
                    aws_secret_access_key=ROOT_SECRET,
                    config=Config(retries={"max_attempts": 1}),
                )
                client.lookup_events(MaxResults=1)  # connection and client warm-up
            params: dict = {}
            if query.attribute:
                params["LookupAttributes"] = [
                    {"AttributeKey": query.attribute[0], "AttributeValue": query.attribute[1]}
                ]
            if query.start:
                params["StartTime"] = query.start
            if query.end:
                params["EndTime"] = query.end
            t = time.perf_counter()
            events = client.lookup_events(**params)["Events"]
            cold = time.perf_counter() - t
            samples = []
            for _ in range(repeat):
                t = time.perf_counter()
                client.lookup_events(**params)
                samples.append(time.perf_counter() - t)
            print(f"{label:28} {len(events):6d} {cold * 1000:8.1f} {_ms(samples):>10}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, help="reuse (or keep) this data dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir")
    parser.add_argument("--database-url", help="PostgreSQL (postgresql+psycopg://...)")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()

    temp = None
    if args.data_dir is None:
        temp = Path(tempfile.mkdtemp(prefix="mamori-lookup-bench-"))
        data_dir = temp / "data"
    else:
        data_dir = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    store = Store(data_dir, args.database_url, master_key=load_master_key(data_dir, None))
    try:
        print(f"store: {store.dialect} ({args.database_url or data_dir})")
        have = count(store)
        if have < args.events:
            if have:
                store.reset()
            fill(store, args.events, now)
        else:
            print(f"reusing {have:,} events already in the store")
        values = pick_values(store, now)
        cases = filters(values, now)
        in_process(store, cases, args.repeat)
        plans(store, cases)
    finally:
        store.close()
    try:
        if not args.skip_http:
            over_http(data_dir, args.database_url, cases, args.repeat)
    finally:
        if temp is not None and not args.keep:
            shutil.rmtree(temp, ignore_errors=True)
        elif temp is not None:
            print(f"\ndata dir kept: {data_dir}")


if __name__ == "__main__":
    main()
