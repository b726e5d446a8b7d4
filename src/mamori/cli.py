"""The ``mamori`` command: serve | env | accounts | coverage | clock."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from mamori import __version__
from mamori.clock import parse_duration
from mamori.config import SettingError, Settings, is_account_id


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return _read_settings(args)
    except ValueError as exc:  # a bad flag or MAMORI_* value: say which, without a traceback
        raise SystemExit(f"mamori: {exc}") from None


def _read_settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        allow_reset=True if getattr(args, "allow_reset", False) else None,
        allow_time_travel=True if getattr(args, "allow_time_travel", False) else None,
        tls=True if getattr(args, "tls", False) else None,
        tls_cert=Path(args.tls_cert) if getattr(args, "tls_cert", None) else None,
        tls_key=Path(args.tls_key) if getattr(args, "tls_key", None) else None,
        journal_writer=getattr(args, "journal_writer", None),
        journal_writer_cpus=getattr(args, "journal_writer_cpus", None),
        forwarded_allow_ips=getattr(args, "forwarded_allow_ips", None),
    )


def _runtime(settings: Settings):
    from mamori.runtime import Runtime

    try:
        return Runtime(settings)
    except SettingError as exc:  # a setting that cannot be used: say which, no traceback
        raise SystemExit(f"mamori: {exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from mamori.server import serve

    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        serve(settings, announce=lambda line: print(line, flush=True))
    except SettingError as exc:
        raise SystemExit(f"mamori: {exc}") from None
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    settings = _settings(args)
    runtime = _runtime(settings)
    try:
        access_key_id, secret = runtime.root_credentials
    finally:
        runtime.store.close()
    print(f"export AWS_ENDPOINT_URL={settings.endpoint_url}")
    print(f"export AWS_ACCESS_KEY_ID={access_key_id}")
    print(f"export AWS_SECRET_ACCESS_KEY={secret}")
    print(f"export AWS_DEFAULT_REGION={settings.region}")
    if settings.tls_enabled:
        from mamori.server import tls_files

        print(f"export AWS_CA_BUNDLE={tls_files(settings)[0]}")
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    if args.account_id is not None and not is_account_id(args.account_id):
        print(f"mamori: an account id is 12 digits, not {args.account_id!r}", file=sys.stderr)
        return 2
    runtime = _runtime(_settings(args))
    try:
        if args.action == "create":
            account_id = args.account_id or runtime.credentials.new_account_id()
            if runtime.credentials.account_exists(account_id):
                print(f"account {account_id} already exists", file=sys.stderr)
                return 1
            access_key_id, secret = runtime.credentials.ensure_account(
                account_id, now=runtime.clock.now(), name=args.name
            )
            print(
                json.dumps(
                    {
                        "AccountId": account_id,
                        "Name": args.name or f"account-{account_id}",
                        "AccessKeyId": access_key_id,
                        "SecretAccessKey": secret,
                    },
                    indent=2,
                )
            )
        else:
            for account in runtime.credentials.accounts():
                print(f"{account['account_id']}  {account['name']}")
    finally:
        runtime.close()
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from mamori.services.registry import coverage

    rows = coverage()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
        return 0
    width = max(len(r.service) for r in rows)
    total_done = total = 0
    for row in rows:
        total_done += row.implemented
        total += row.total
        print(f"{row.service:<{width}}  {row.implemented:>4} / {row.total:<4}")
        if args.verbose and row.operations:
            print("    " + ", ".join(row.operations))
    print(f"{'total':<{width}}  {total_done:>4} / {total:<4}")
    return 0


def cmd_clock(args: argparse.Namespace) -> int:
    settings = _settings(args)
    url = f"{args.endpoint or settings.endpoint_url}/_mamori/clock"
    if args.action == "advance":
        try:
            body = {"advance_seconds": parse_duration(args.value)}
        except ValueError:
            raise SystemExit(
                f"mamori: not a duration: {args.value!r} (examples: 90s, 15m, 2h, 1d)"
            ) from None
    elif args.action == "set":
        body = {"set": args.value}
    else:
        body = None
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(response.read().decode().strip())
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode().strip(), file=sys.stderr)
        return 1
    except OSError as exc:  # refused, unreachable, timed out (URLError is one)
        reason = getattr(exc, "reason", exc)
        raise SystemExit(f"mamori: cannot reach the server at {url}: {reason}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mamori", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mamori {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the AWS-compatible server")
    serve.add_argument("--host", help="listen address (MAMORI_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (MAMORI_PORT, default 4566)")
    serve.add_argument("--data-dir", help="state directory (MAMORI_DATA_DIR, default ./.mamori)")
    serve.add_argument(
        "--allow-reset", action="store_true", help="enable POST /_mamori/reset (MAMORI_ALLOW_RESET)"
    )
    serve.add_argument(
        "--allow-time-travel",
        action="store_true",
        help="enable POST /_mamori/clock (MAMORI_ALLOW_TIME_TRAVEL)",
    )
    serve.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a generated self-signed certificate"
    )
    serve.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    serve.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    serve.add_argument(
        "--journal-writer",
        choices=["process", "thread"],
        help="who writes the journal's group commits: a process of its own (default) or a "
        "thread of the server (MAMORI_JOURNAL_WRITER)",
    )
    serve.add_argument(
        "--journal-writer-cpus",
        metavar="LIST",
        help="the CPUs the journal writer process runs on, e.g. 1 or 2-3 (default: the "
        "server's; MAMORI_JOURNAL_WRITER_CPUS)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="LIST",
        help="reverse proxies whose X-Forwarded-For/-Proto headers are believed, e.g. "
        "10.0.0.5,10.1.0.0/16 or * (default: none; MAMORI_FORWARDED_ALLOW_IPS)",
    )
    serve.set_defaults(func=cmd_serve)

    env = commands.add_parser("env", help="print export lines for the AWS SDKs and CLI")
    env.add_argument("--data-dir")
    env.add_argument("--host")
    env.add_argument("--port", type=int)
    env.add_argument("--tls", action="store_true", help="the server runs with --tls")
    env.set_defaults(func=cmd_env)

    accounts = commands.add_parser("accounts", help="create or list accounts")
    accounts.add_argument("action", choices=["create", "list"])
    accounts.add_argument("--name", help="a name for the new account")
    accounts.add_argument("--account-id", help="12 digits (default: generated)")
    accounts.add_argument("--data-dir")
    accounts.set_defaults(func=cmd_accounts)

    coverage = commands.add_parser("coverage", help="implemented / total operations per service")
    coverage.add_argument("--json", action="store_true")
    coverage.add_argument("-v", "--verbose", action="store_true", help="list implemented ops")
    coverage.set_defaults(func=cmd_coverage)

    clock = commands.add_parser("clock", help="read or move the server's clock (time travel)")
    clock.add_argument("action", nargs="?", choices=["get", "advance", "set"], default="get")
    clock.add_argument("value", nargs="?", help="a duration (90s, 15m, 2h, 1d) or an ISO time")
    clock.add_argument("--endpoint", help="server URL (default from MAMORI_HOST/MAMORI_PORT)")
    clock.set_defaults(func=cmd_clock)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "clock" and args.action in ("advance", "set") and not args.value:
        build_parser().error(f"clock {args.action} needs a value")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
