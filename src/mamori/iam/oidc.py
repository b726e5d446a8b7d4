"""OpenID Connect identity providers (for ``AssumeRoleWithWebIdentity``)."""

from __future__ import annotations

import re
import urllib.parse
from datetime import datetime
from typing import Any

from mamori.errors import AwsError
from mamori.iam.entities import AccountQuota, ArnKeyedStore, iso, tag_list

OIDC_PROVIDER = "AWS::IAM::OIDCProvider"
MAX_THUMBPRINTS = 5
MAX_CLIENT_IDS = 100
_THUMBPRINT_RE = re.compile(r"^[0-9A-Fa-f]{40}$")


def stored_url(url: str) -> str:
    """The URL as IAM keeps it: host and path, no scheme, no trailing slash."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc or parsed.query or parsed.fragment:
        raise AwsError("InvalidInputException", "Invalid Open ID Connect Provider URL", status=400)
    return (parsed.netloc + parsed.path).rstrip("/")


def check_thumbprints(thumbprints: list[str]) -> list[str]:
    if len(thumbprints) > MAX_THUMBPRINTS:
        raise AwsError(
            "InvalidInputException",
            f"Thumbprint list must contain fewer than {MAX_THUMBPRINTS + 1} entries.",
        )
    for thumbprint in thumbprints:
        if not _THUMBPRINT_RE.match(thumbprint):
            raise AwsError("InvalidInputException", f"Thumbprint {thumbprint} is not valid.")
    return [t.lower() for t in thumbprints]


def check_client_ids(client_ids: list[str]) -> list[str]:
    unique = list(dict.fromkeys(client_ids))
    if len(unique) > MAX_CLIENT_IDS:
        raise AwsError(
            "LimitExceededException",
            f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}",
        )
    return unique


class OidcProviders(ArnKeyedStore):
    arn_kind = "oidc-provider"
    resource_type = OIDC_PROVIDER
    key_field = "Url"
    not_found = "OpenIDConnect Provider not found for arn {arn}"
    quota = AccountQuota("OpenIdConnectProvidersPerAccount", 100)

    def create(
        self,
        url: str,
        client_ids: list[str],
        thumbprints: list[str],
        tags: dict[str, str],
        now: datetime,
    ) -> dict[str, Any]:
        stored = stored_url(url)
        arn = self.arn(stored)
        if self.find(arn) is not None:
            raise AwsError(
                "EntityAlreadyExistsException", f"Provider with url {url} already exists."
            )
        provider = {
            "Arn": arn,
            "Url": stored,
            "ClientIDList": check_client_ids(client_ids),
            "ThumbprintList": check_thumbprints(thumbprints),
            "CreateDate": iso(now),
            "Tags": tags,
        }
        self.insert(provider, now)
        return provider


def public_oidc_provider(provider: dict[str, Any]) -> dict[str, Any]:
    result = {
        "Url": provider["Url"],
        "ClientIDList": list(provider["ClientIDList"]),
        "ThumbprintList": list(provider["ThumbprintList"]),
        "CreateDate": provider["CreateDate"],
    }
    if provider.get("Tags"):
        result["Tags"] = tag_list(provider["Tags"])
    return result


def get_oidc_provider(runtime, conn, account_id: str, arn: str) -> dict[str, Any] | None:
    """An OIDC provider as STS needs it: Url (no scheme), ClientIDList, ThumbprintList."""
    provider = OidcProviders(runtime.resources, conn, account_id).find(arn)
    if provider is None:
        return None
    return {
        "Url": provider["Url"],
        "ClientIDList": list(provider["ClientIDList"]),
        "ThumbprintList": list(provider["ThumbprintList"]),
    }
