"""SAML 2.0 identity providers: the metadata document is stored as given."""

from __future__ import annotations

from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from mamori.errors import AwsError
from mamori.iam.entities import AccountQuota, ArnKeyedStore, iso, tag_list

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


class SamlProviders(ArnKeyedStore):
    arn_kind = "saml-provider"
    resource_type = SAML_PROVIDER
    key_field = "Name"
    not_found = "Manifest not found for arn {arn}"
    quota = AccountQuota("SAMLProvidersPerAccount", 100)

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
        self.insert(provider, now)
        return provider

    def update(self, provider: dict[str, Any], document: str, now) -> None:
        valid_until = check_metadata(document)
        self.save({**provider, "SAMLMetadataDocument": document, "ValidUntil": valid_until}, now)


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
