"""Console passwords: login profiles and the account password policy.

Only a salted scrypt hash of a password is stored, never the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from mamori.errors import AwsError
from mamori.iam.entities import GLOBAL, iso

LOGIN_PROFILE = "Mamori::IAM::LoginProfile"
PASSWORD_POLICY = "Mamori::IAM::PasswordPolicy"
# The character classes of a password policy are ASCII only: uppercase "from the ISO basic Latin
# alphabet (A to Z)", lowercase "(a to z)", numbers "(0 to 9)", and these symbols.
CHARACTER_CLASSES = {
    "upper": frozenset(string.ascii_uppercase),
    "lower": frozenset(string.ascii_lowercase),
    "number": frozenset(string.digits),
    "symbol": frozenset("!@#$%^&*()_+-=[]{}|'"),
}
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_HISTORY = 24

# The policy UpdateAccountPasswordPolicy applies to parameters it is not given.
POLICY_DEFAULTS: dict[str, Any] = {
    "MinimumPasswordLength": 6,
    "RequireSymbols": False,
    "RequireNumbers": False,
    "RequireUppercaseCharacters": False,
    "RequireLowercaseCharacters": False,
    "AllowUsersToChangePassword": False,
    "MaxPasswordAge": 0,
    "PasswordReusePrevention": 0,
    "HardExpiry": False,
}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_text, digest_text = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(salt_text)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_text))


def violation() -> AwsError:
    return AwsError(
        "PasswordPolicyViolationException",
        "Password does not conform to the account password policy.",
    )


def check_against_policy(password: str, policy: dict[str, Any] | None, user_name: str) -> None:
    """PasswordPolicyViolation unless ``password`` satisfies the account's policy, or AWS's
    default policy when none is set (8 characters, three of the four character types, not the
    user name)."""
    has = {kind: not members.isdisjoint(password) for kind, members in CHARACTER_CLASSES.items()}
    if policy is None:
        if len(password) < 8 or sum(has.values()) < 3 or password == user_name:
            raise violation()
        return
    if len(password) < policy["MinimumPasswordLength"]:
        raise violation()
    required = {
        "RequireSymbols": "symbol",
        "RequireNumbers": "number",
        "RequireUppercaseCharacters": "upper",
        "RequireLowercaseCharacters": "lower",
    }
    for setting, kind in required.items():
        if policy.get(setting) and not has[kind]:
            raise violation()


class Passwords:
    """Login profiles and the password policy of one account."""

    def __init__(self, resources, conn, account_id: str) -> None:
        self.resources = resources
        self.conn = conn
        self.account_id = account_id

    # Password policy

    def policy(self) -> dict[str, Any] | None:
        return self.resources.get(self.conn, self.account_id, GLOBAL, PASSWORD_POLICY, "account")

    def require_policy(self) -> dict[str, Any]:
        policy = self.policy()
        if policy is None:
            raise AwsError(
                "NoSuchEntityException",
                f"The Password Policy with domain name {self.account_id} cannot be found.",
            )
        return policy

    def set_policy(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        policy = {key: params.get(key, default) for key, default in POLICY_DEFAULTS.items()}
        self.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=PASSWORD_POLICY,
            id="account",
            data=policy,
            now=now,
        )
        return policy

    def delete_policy(self, now: datetime) -> None:
        self.require_policy()
        self.resources.delete(self.conn, self.account_id, GLOBAL, PASSWORD_POLICY, "account", now)

    # Login profiles

    def profile(self, user_name: str) -> dict[str, Any] | None:
        return self.resources.get(
            self.conn, self.account_id, GLOBAL, LOGIN_PROFILE, user_name.lower()
        )

    def require_profile(self, user_name: str) -> dict[str, Any]:
        profile = self.profile(user_name)
        if profile is None:
            raise AwsError(
                "NoSuchEntityException", f"Login Profile for User {user_name} cannot be found."
            )
        return profile

    def _save(self, profile: dict[str, Any], now: datetime) -> None:
        self.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=LOGIN_PROFILE,
            id=profile["UserName"].lower(),
            data=profile,
            now=now,
        )

    def create_profile(
        self, user_name: str, password: str, reset_required: bool, now: datetime
    ) -> dict[str, Any]:
        if self.profile(user_name) is not None:
            raise AwsError(
                "EntityAlreadyExistsException",
                f"Login Profile for user {user_name} already exists.",
            )
        check_against_policy(password, self.policy(), user_name)
        hashed = hash_password(password)
        profile = {
            "UserName": user_name,
            "CreateDate": iso(now),
            "PasswordResetRequired": bool(reset_required),
            "PasswordHash": hashed,
            "PasswordLastChanged": iso(now),
            "History": [hashed],
        }
        self._save(profile, now)
        return profile

    def set_password(
        self,
        user_name: str,
        password: str | None,
        reset_required: bool | None,
        now: datetime,
    ) -> None:
        profile = dict(self.require_profile(user_name))
        if password is not None:
            policy = self.policy()
            check_against_policy(password, policy, user_name)
            reuse = (policy or {}).get("PasswordReusePrevention") or 0
            if reuse and any(check_password(password, old) for old in profile["History"][-reuse:]):
                raise violation()
            hashed = hash_password(password)
            profile.update(
                PasswordHash=hashed,
                PasswordLastChanged=iso(now),
                History=[*profile.get("History", []), hashed][-_HISTORY:],
            )
        if reset_required is not None:
            profile["PasswordResetRequired"] = bool(reset_required)
        self._save(profile, now)

    def rename_profile(self, old_name: str, new_name: str, now: datetime) -> None:
        profile = self.profile(old_name)
        if profile is None:
            return
        if old_name.lower() != new_name.lower():
            self.resources.delete(
                self.conn, self.account_id, GLOBAL, LOGIN_PROFILE, old_name.lower(), now
            )
        self._save({**profile, "UserName": new_name}, now)  # a case-only rename shows too

    def delete_profile(self, user_name: str, now: datetime) -> None:
        self.require_profile(user_name)
        self.resources.delete(
            self.conn, self.account_id, GLOBAL, LOGIN_PROFILE, user_name.lower(), now
        )

    def next_rotation(self, profile: dict[str, Any]) -> datetime | None:
        policy = self.policy()
        max_age = (policy or {}).get("MaxPasswordAge") or 0
        if not max_age:
            return None
        return datetime.fromisoformat(profile["PasswordLastChanged"]) + timedelta(days=max_age)


def public_profile(profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "UserName": profile["UserName"],
        "CreateDate": profile["CreateDate"],
        "PasswordResetRequired": profile["PasswordResetRequired"],
    }


def public_password_policy(policy: dict[str, Any]) -> dict[str, Any]:
    result = {
        key: policy[key]
        for key in (
            "MinimumPasswordLength",
            "RequireSymbols",
            "RequireNumbers",
            "RequireUppercaseCharacters",
            "RequireLowercaseCharacters",
            "AllowUsersToChangePassword",
        )
    }
    result["ExpirePasswords"] = bool(policy.get("MaxPasswordAge"))
    if policy.get("MaxPasswordAge"):
        result["MaxPasswordAge"] = policy["MaxPasswordAge"]
    if policy.get("PasswordReusePrevention"):
        result["PasswordReusePrevention"] = policy["PasswordReusePrevention"]
    if policy.get("HardExpiry"):
        result["HardExpiry"] = True
    return result
