"""The IAM credential report: the CSV security-posture tools read (IAM UG, "Getting credential
reports for your AWS account" — the columns, their order, and where AWS writes N/A)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.iam.credentials import accounts
from mamori.iam.entities import GLOBAL, iso
from mamori.iam.mfa import MfaDevices
from mamori.iam.passwords import Passwords
from mamori.iam.users import Users

CREDENTIAL_REPORT = "Mamori::IAM::CredentialReport"
# A report younger than this is returned as is; an older one is generated again.
REPORT_MAX_AGE = timedelta(hours=4)

COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)


def _time(value: Any) -> str:
    if value is None:
        return "N/A"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _key_columns(keys: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for index in range(2):
        if index < len(keys):
            key = keys[index]
            last_used = key.get("last_used")
            columns += [
                _bool(key["status"] == "Active"),
                _time(key["created"]),
                _time(last_used) if last_used else "N/A",
                key.get("last_used_region") or "N/A",
                key.get("last_used_service") or "N/A",
            ]
        else:
            columns += ["false", "N/A", "N/A", "N/A", "N/A"]
    return columns


def build_report(runtime, conn, account_id: str) -> str:
    """The report's CSV text: the root user's row first, then every IAM user."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    created = conn.execute(
        sa.select(accounts.c.created).where(accounts.c.account_id == account_id)
    ).scalar()
    credentials = runtime.credentials
    root_keys = credentials.keys_of(conn, account_id, account_id)
    writer.writerow(
        [
            "<root_account>",
            f"arn:aws:iam::{account_id}:root",
            _time(created),
            "not_supported",
            "no_information",
            "not_supported",
            "not_supported",
            "false",
            *_key_columns(root_keys),
            "false",
            "N/A",
            "false",
            "N/A",
        ]
    )
    passwords = Passwords(runtime.resources, conn, account_id)
    devices = MfaDevices(runtime, conn, account_id)
    with_mfa = {d["User"].lower() for d in devices.all() if d.get("User")}
    for user in Users(runtime.resources, conn, account_id).all():
        profile = passwords.profile(user["UserName"])
        if profile is not None:
            rotation = passwords.next_rotation(profile)
            password = [
                "true",
                _time(user["PasswordLastUsed"])
                if user.get("PasswordLastUsed")
                else "no_information",
                _time(profile["PasswordLastChanged"]),
                _time(rotation) if rotation else "N/A",
            ]
        else:
            password = ["false", "N/A", "N/A", "N/A"]
        keys = credentials.keys_of(conn, account_id, user["UserId"])
        writer.writerow(
            [
                user["UserName"],
                user["Arn"],
                _time(user["CreateDate"]),
                *password,
                _bool(user["UserName"].lower() in with_mfa),
                *_key_columns(keys),
                "false",
                "N/A",
                "false",
                "N/A",
            ]
        )
    return out.getvalue()


class CredentialReports:
    def __init__(self, runtime, conn, account_id: str) -> None:
        self.runtime = runtime
        self.conn = conn
        self.account_id = account_id

    def current(self) -> dict[str, Any] | None:
        return self.runtime.resources.get(
            self.conn, self.account_id, GLOBAL, CREDENTIAL_REPORT, "report"
        )

    def generate(self, now: datetime) -> str:
        """GenerateCredentialReport: COMPLETE with a fresh report (or a recent enough one)."""
        report = self.current()
        if report is not None and now - datetime.fromisoformat(report["GeneratedTime"]) < (
            REPORT_MAX_AGE
        ):
            return "COMPLETE"
        content = build_report(self.runtime, self.conn, self.account_id)
        self.runtime.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=CREDENTIAL_REPORT,
            id="report",
            data={"GeneratedTime": iso(now), "Content": content},
            now=now,
        )
        return "COMPLETE"

    def get(self, now: datetime) -> dict[str, Any]:
        report = self.current()
        if report is None:
            raise AwsError(
                "CredentialReportNotPresentException",
                "Credential report not present. To generate a credential report, use "
                "GenerateCredentialReport.",
            )
        return report
