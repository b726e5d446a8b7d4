"""SAML 2.0 identity providers: the metadata document is stored as given."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from mamori.errors import AwsError
from mamori.iam.entities import GLOBAL, iso, tag_list

SAML_PROVIDER = "AWS::IAM::SAMLProvider"
_MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


def check_metadata(document: str) -> str | None:
    """Parse a SAML metadata document; returns its ``validUntil`` (None when absent)."""
    try:
        root = ElementTree.fromstring(document)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise AwsError("InvalidInputException", "Could not parse metadata") from None
    if root.tag not in (f"{_MD}EntityDescriptor", f"{_MD}EntitiesDescriptor"):
        raise AwsError("InvalidInputException", "Could not parse metadata")
    return root.get("validUntil")


class SamlProviders:
    def __init__(self, resources, conn, account_id: str) -> None:
        self.resources = resources
        self.conn = conn
        self.account_id = account_id

    def arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:saml-provider/{name}"

    def _key(self, arn: str) -> str | None:
        prefix = f"arn:aws:iam::{self.account_id}:saml-provider/"
        return arn[len(prefix) :].lower() if arn.startswith(prefix) else None

    def find(self, arn: str) -> dict[str, Any] | None:
        key = self._key(arn)
        if key is None:
            return None
        return self.resources.get(self.conn, self.account_id, GLOBAL, SAML_PROVIDER, key)

    def get(self, arn: str) -> dict[str, Any]:
        provider = self.find(arn)
        if provider is None:
            raise AwsError("NoSuchEntityException", f"Manifest not found for arn {arn}")
        return provider

    def save(self, provider: dict[str, Any], now: datetime) -> None:
        self.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=SAML_PROVIDER,
            id=provider["Name"].lower(),
            data=provider,
            now=now,
        )

    def create(self, name: str, document: str, tags: dict[str, str], now) -> dict[str, Any]:
        arn = self.arn(name)
        if self.find(arn) is not None:
            raise AwsError("EntityAlreadyExistsException", f"SAMLProvider {name} already exists")
        provider = {
            "Arn": arn,
            "Name": name,
            "SAMLMetadataDocument": document,
            "ValidUntil": check_metadata(document),
            "CreateDate": iso(now),
            "Tags": tags,
        }
        self.save(provider, now)
        return provider

    def update(self, provider: dict[str, Any], document: str, now) -> None:
        valid_until = check_metadata(document)
        self.save({**provider, "SAMLMetadataDocument": document, "ValidUntil": valid_until}, now)

    def delete(self, provider: dict[str, Any], now) -> None:
        self.resources.delete(
            self.conn, self.account_id, GLOBAL, SAML_PROVIDER, provider["Name"].lower(), now
        )

    def all(self) -> list[dict[str, Any]]:
        rows = self.resources.list(self.conn, self.account_id, GLOBAL, SAML_PROVIDER)
        return [data for _, data in rows]


def public_saml_provider(provider: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "SAMLMetadataDocument": provider["SAMLMetadataDocument"],
        "CreateDate": provider["CreateDate"],
    }
    if provider.get("ValidUntil"):
        result["ValidUntil"] = provider["ValidUntil"]
    if provider.get("Tags"):
        result["Tags"] = tag_list(provider["Tags"])
    return result


def get_saml_provider(runtime, conn, account_id: str, arn: str) -> dict[str, Any] | None:
    """A SAML provider as STS needs it: Arn, Name, SAMLMetadataDocument."""
    provider = SamlProviders(runtime.resources, conn, account_id).find(arn)
    if provider is None:
        return None
    return {k: provider[k] for k in ("Arn", "Name", "SAMLMetadataDocument")}
