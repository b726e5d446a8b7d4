"""Virtual MFA devices: TOTP (RFC 6238, SHA-1, 6 digits, 30 s) with seeds sealed at rest.

``EnableMFADevice`` and ``ResyncMFADevice`` take two consecutive codes; :func:`verify_mfa_code`
(used by STS for ``SerialNumber``/``TokenCode``) accepts a code of the current time step or one
step either side, and never the same or an earlier time step twice (a code cannot be replayed).
"""

from __future__ import annotations

import base64
import secrets
import urllib.parse
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from mamori.errors import AwsError
from mamori.iam.entities import GLOBAL, RESOURCE_TAGS, iso, tag_list

VIRTUAL_MFA = "Mamori::IAM::VirtualMFADevice"
STEP = 30
DIGITS = 6
SEED_BYTES = 40  # 64 Base32 characters, as IAM's seeds
ENABLE_WINDOW = 10  # steps back in time the first of two consecutive codes may be from
MAX_DEVICES_PER_USER = 8


def _seal_context(serial: str) -> bytes:
    return b"iam:mfa-seed:" + serial.encode()


def _totp(seed: bytes) -> TOTP:
    return TOTP(seed, DIGITS, SHA1(), STEP, enforce_key_length=False)


def code_at(seed: bytes, step: int) -> str:
    return _totp(seed).generate(step * STEP).decode()


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP


def qr_code_png(uri: str) -> bytes | None:
    """A PNG of the otpauth URI when the optional ``segno`` package is installed."""
    try:
        import segno  # type: ignore[import-not-found]
    except ImportError:
        return None
    import io

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=4)
    return out.getvalue()


def no_such_device(serial: str) -> AwsError:
    return AwsError(
        "NoSuchEntityException", f"VirtualMFADevice with serial number {serial} doesn't exist."
    )


def invalid_code(serial: str) -> AwsError:
    return AwsError(
        "InvalidAuthenticationCodeException",
        f"Authentication code for device is not valid: {serial}",
    )


class MfaDevices:
    """Virtual MFA devices of one account, keyed by their path and name."""

    tag_rules = RESOURCE_TAGS

    def __init__(self, runtime, conn, account_id: str) -> None:
        self.runtime = runtime
        self.resources = runtime.resources
        self.conn = conn
        self.account_id = account_id

    def serial(self, path: str, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:mfa{path}{name}"

    def _key(self, serial: str) -> str | None:
        prefix = f"arn:aws:iam::{self.account_id}:mfa"
        if not serial.startswith(prefix):
            return None
        return serial[len(prefix) :].lower()

    def find(self, serial: str) -> dict[str, Any] | None:
        key = self._key(serial)
        if key is None:
            return None
        return self.resources.get(self.conn, self.account_id, GLOBAL, VIRTUAL_MFA, key)

    def get(self, serial: str) -> dict[str, Any]:
        device = self.find(serial)
        if device is None:
            raise no_such_device(serial)
        return device

    def save(self, device: dict[str, Any], now: datetime) -> None:
        self.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=VIRTUAL_MFA,
            id=self._key(device["SerialNumber"]),
            data=device,
            now=now,
        )

    def create(
        self, name: str, path: str, tags: dict[str, str], now: datetime, issuer_account: str
    ) -> tuple[dict[str, Any], str, bytes | None]:
        """A new device; returns it, its Base32 seed and (optionally) the QR code PNG."""
        serial = self.serial(path, name)
        if self.find(serial) is not None:
            raise AwsError(
                "EntityAlreadyExistsException",
                "MFADevice entity at the same path and name already exists.",
            )
        seed = secrets.token_bytes(SEED_BYTES)
        sealed = self.runtime.store.sealer.seal(seed, _seal_context(serial))
        device = {
            "SerialNumber": serial,
            "Path": path,
            "Name": name,
            "Seed": base64.b64encode(sealed).decode(),
            "CreateDate": iso(now),
            "User": None,
            "EnableDate": None,
            "LastStep": -1,
            "Tags": tags,
        }
        self.save(device, now)
        seed_text = base64.b32encode(seed).decode()
        label = urllib.parse.quote(f"Amazon Web Services:{name}@{issuer_account}")
        uri = (
            f"otpauth://totp/{label}?secret={seed_text}"
            f"&issuer={urllib.parse.quote('Amazon Web Services')}"
        )
        return device, seed_text, qr_code_png(uri)

    def seed(self, device: dict[str, Any]) -> bytes:
        sealed = base64.b64decode(device["Seed"])
        return self.runtime.store.sealer.unseal(sealed, _seal_context(device["SerialNumber"]))

    def check_consecutive(self, device: dict[str, Any], code1: str, code2: str, now) -> int:
        """The time step of ``code2`` when the two codes are consecutive and recent."""
        seed = self.seed(device)
        current = step_of(now)
        for step in range(current - ENABLE_WINDOW, current + 1):
            if code_at(seed, step) == code1 and code_at(seed, step + 1) == code2:
                if step + 1 <= device.get("LastStep", -1):
                    break
                return step + 1
        raise invalid_code(device["SerialNumber"])

    def enable(self, device: dict, user_name: str, code1: str, code2: str, now) -> None:
        if device.get("User"):
            raise AwsError("EntityAlreadyExistsException", "MFA Device is already in use.")
        last = self.check_consecutive(device, code1, code2, now)
        self.save({**device, "User": user_name, "EnableDate": iso(now), "LastStep": last}, now)

    def resync(self, device: dict, code1: str, code2: str, now) -> None:
        last = self.check_consecutive(device, code1, code2, now)
        self.save({**device, "LastStep": last}, now)

    def deactivate(self, device: dict, now) -> None:
        self.save({**device, "User": None, "EnableDate": None}, now)

    def delete(self, device: dict, now) -> None:
        if device.get("User"):
            raise AwsError(
                "DeleteConflictException", "MFA VirtualDevice in use. Must deactivate first."
            )
        key = self._key(device["SerialNumber"])
        self.resources.delete(self.conn, self.account_id, GLOBAL, VIRTUAL_MFA, key, now)

    def all(self) -> list[dict[str, Any]]:
        rows = self.resources.list(self.conn, self.account_id, GLOBAL, VIRTUAL_MFA)
        return [data for _, data in rows]

    def of_user(self, user_name: str) -> list[dict[str, Any]]:
        name = user_name.lower()
        return [d for d in self.all() if d.get("User") and d["User"].lower() == name]

    def rename_user(self, old_name: str, new_name: str, now) -> None:
        for device in self.of_user(old_name):
            self.save({**device, "User": new_name}, now)


def public_mfa_device(device: dict[str, Any]) -> dict[str, Any]:
    return {
        "UserName": device["User"],
        "SerialNumber": device["SerialNumber"],
        "EnableDate": device["EnableDate"],
    }


def public_virtual_device(device: dict[str, Any], user: dict | None) -> dict[str, Any]:
    result: dict[str, Any] = {"SerialNumber": device["SerialNumber"]}
    if user is not None:
        result["User"] = user
    if device.get("EnableDate"):
        result["EnableDate"] = device["EnableDate"]
    if device.get("Tags"):
        result["Tags"] = tag_list(device["Tags"])
    return result


def device_user(runtime, conn, account_id: str, serial_number: str) -> str | None:
    """The name of the IAM user a virtual MFA device is enabled for (None: not enabled)."""
    device = MfaDevices(runtime, conn, account_id).find(serial_number)
    return device.get("User") if device else None


def verify_mfa_code(
    runtime,
    conn,
    account_id: str,
    serial_number: str,
    code: str,
    now: datetime,
    *,
    owner: str | None,
) -> bool:
    """Whether ``code`` is a valid, unused TOTP code of a virtual MFA device enabled for the IAM
    user ``owner`` (None: a caller that owns no device, such as a role session).

    A code is accepted for the current 30-second step or one step either side; once accepted,
    that step and every earlier one are spent (recorded through ``conn``, so pass the calling
    request's transaction). Returns False for an unknown device, one not assigned to ``owner``,
    a wrong code, or a replayed one.
    """
    if owner is None:
        return False
    devices = MfaDevices(runtime, conn, account_id)
    device = devices.find(serial_number)
    if device is None or (device.get("User") or "").lower() != owner.lower():
        return False
    if not (isinstance(code, str) and len(code) == DIGITS and code.isdigit()):
        return False
    seed = devices.seed(device)
    current = step_of(now)
    for step in (current - 1, current, current + 1):
        if step > device.get("LastStep", -1) and secrets.compare_digest(code_at(seed, step), code):
            devices.save({**device, "LastStep": step}, now)
            return True
    return False
