"""SAML 2.0 authentication responses for ``AssumeRoleWithSAML``: verification and claims.

The IdP's signing certificates and entity ID come from the metadata document of the IAM SAML
provider. The Response or its Assertion must carry an XML signature by one of those certificates
(verified by signxml). Only the XML that signxml returns as signed is read afterwards, and the
signed Assertion must be the Response's one and only Assertion: a second, unsigned Assertion
injected beside or around it (signature wrapping) is refused, never read. Documents with a DTD
(entities, XXE) are refused before anything else looks at them.

Time conditions (``NotBefore``, ``NotOnOrAfter``, ``IssueInstant``) are checked against the
domain clock, with five minutes of allowance for the IdP's clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import SignXMLException

from mamori.errors import AwsError

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}

ATTRIBUTE_PREFIX = "https://aws.amazon.com/SAML/Attributes/"
ROLE = ATTRIBUTE_PREFIX + "Role"
ROLE_SESSION_NAME = ATTRIBUTE_PREFIX + "RoleSessionName"
SOURCE_IDENTITY = ATTRIBUTE_PREFIX + "SourceIdentity"
PRINCIPAL_TAG = ATTRIBUTE_PREFIX + "PrincipalTag:"
TRANSITIVE_TAG_KEYS = ATTRIBUTE_PREFIX + "TransitiveTagKeys"

# The audiences AWS sign-in answers to, and its assertion consumer URLs (global or regional).
AUDIENCES = ("https://signin.aws.amazon.com/saml", "urn:amazon:webservices")
_RECIPIENT = re.compile(
    r"^https://(?:[a-z0-9-]+\.)?signin\.aws\.amazon\.com/saml(?:/acs/[A-Za-z0-9-]+)?/?$"
)
CLOCK_SKEW = timedelta(minutes=5)
REDEEM_WITHIN = timedelta(minutes=5)
_NAMEID_PREFIX = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)

# Attributes AWS maps to trust-policy keys (IAM UG, "Mapping SAML attributes to AWS trust policy
# context keys"): OID name -> (key, multi-valued).
_MAPPED_ATTRIBUTES = {
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ("saml:edupersonaffiliation", True),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.11": ("saml:edupersonassurance", True),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.7": ("saml:edupersonentitlement", True),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.2": ("saml:edupersonnickname", True),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.3": ("saml:edupersonorgdn", False),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.4": ("saml:edupersonorgunitdn", True),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.5": ("saml:edupersonprimaryaffiliation", False),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.8": ("saml:edupersonprimaryorgunitdn", False),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": ("saml:edupersonprincipalname", False),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.9": ("saml:edupersonscopedaffiliation", True),
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.10": ("saml:edupersontargetedid", True),
    "urn:oid:1.3.6.1.4.1.5923.1.2.1.2": ("saml:eduorghomepageuri", True),
    "urn:oid:1.3.6.1.4.1.5923.1.2.1.3": ("saml:eduorgidentityauthnpolicyuri", True),
    "urn:oid:1.3.6.1.4.1.5923.1.2.1.4": ("saml:eduorglegalname", True),
    "urn:oid:1.3.6.1.4.1.5923.1.2.1.5": ("saml:eduorgsuperioruri", True),
    "urn:oid:1.3.6.1.4.1.5923.1.2.1.6": ("saml:eduorgwhitepagesuri", True),
    "urn:oid:2.5.4.3": ("saml:cn", True),
}


def invalid_token(message: str) -> AwsError:
    return AwsError("InvalidIdentityToken", message, status=400)


def expired_token(message: str) -> AwsError:
    return AwsError("ExpiredTokenException", message, status=400)


# The identity provider, from the SAML provider's metadata


@dataclass(frozen=True)
class IdentityProvider:
    entity_id: str
    certificates: tuple[x509.Certificate, ...]
    valid_until: datetime | None


def identity_provider(metadata: str) -> IdentityProvider:
    """The IdP an IAM SAML provider's metadata describes (its signing certificates)."""
    try:
        root = SafeElementTree.fromstring(metadata, forbid_dtd=True)
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError):
        raise invalid_token("Invalid SAML provider metadata") from None
    entity = root
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        entity = next(
            (
                e
                for e in root.iter(f"{{{MD}}}EntityDescriptor")
                if e.find("md:IDPSSODescriptor", _NS) is not None
            ),
            None,
        )
    if entity is None or not entity.get("entityID"):
        raise invalid_token("Invalid SAML provider metadata")
    certificates = []
    for descriptor in entity.findall("md:IDPSSODescriptor", _NS):
        for key in descriptor.findall("md:KeyDescriptor", _NS):
            if key.get("use") not in (None, "signing"):
                continue
            for element in key.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS):
                try:
                    der = base64.b64decode("".join((element.text or "").split()))
                    certificates.append(x509.load_der_x509_certificate(der))
                except (binascii.Error, ValueError):
                    continue
    valid_until = root.get("validUntil") or entity.get("validUntil")
    return IdentityProvider(
        entity.get("entityID"),
        tuple(certificates),
        parse_time(valid_until) if valid_until else None,
    )


# The assertion


@dataclass(frozen=True)
class Assertion:
    """What AWS reads from a verified assertion."""

    id: str
    issuer: str
    subject: str
    subject_format: str | None
    recipient: str
    audiences: tuple[str, ...]
    issue_instant: datetime
    not_before: datetime | None
    not_on_or_after: tuple[datetime, ...]  # SubjectConfirmationData's and Conditions'
    session_not_on_or_after: datetime | None
    attributes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def subject_type(self) -> str:
        """AssumeRoleWithSAML's SubjectType: the NameID format, the SAML 2.0 prefix removed."""
        fmt = self.subject_format or _NAMEID_PREFIX + "unspecified"
        return fmt[len(_NAMEID_PREFIX) :] if fmt.startswith(_NAMEID_PREFIX) else fmt

    def single(self, name: str) -> str | None:
        values = self.attributes.get(name)
        if not values:
            return None
        if len(values) != 1:
            raise invalid_token(f"Attribute {name} must have a single value in AuthnResponse")
        return values[0]


def decode(saml_assertion: str) -> bytes:
    """The XML of the request's base64 SAMLAssertion, refused when it declares a DTD."""
    try:
        data = base64.b64decode("".join(saml_assertion.split()), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_token("Invalid base64 SAMLResponse") from None
    try:
        SafeElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise invalid_token("DTDs and entities are not allowed in the SAMLResponse") from None
    except (SafeElementTree.ParseError, ValueError):
        raise invalid_token("Invalid SAMLResponse: not well-formed XML") from None
    return data


def verify(data: bytes, provider: IdentityProvider) -> Assertion:
    """The assertion of a Response signed by the IdP (InvalidIdentityToken otherwise)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise invalid_token("Invalid SAMLResponse: not well-formed XML") from None
    if root.tag != f"{{{SAMLP}}}Response":
        raise invalid_token("Invalid SAMLResponse: the root element must be a samlp:Response")
    status = root.find("samlp:Status/samlp:StatusCode", _NS)
    if status is None or status.get("Value") != _SUCCESS:
        raise AwsError("IDPRejectedClaim", "The SAMLResponse does not report success", status=403)
    assertions = root.findall("saml:Assertion", _NS)
    if len(assertions) != 1 or root.find(".//saml:Assertion//saml:Assertion", _NS) is not None:
        raise invalid_token("Invalid SAMLResponse: it must contain exactly one Assertion")
    signed = _signed_element(data, provider)
    if signed.tag == f"{{{SAMLP}}}Response":
        signed_assertions = signed.findall("saml:Assertion", _NS)
        if len(signed_assertions) != 1:
            raise invalid_token("Invalid SAMLResponse: it must contain exactly one Assertion")
        signed = signed_assertions[0]
    if signed.tag != f"{{{SAML}}}Assertion" or signed.get("ID") != assertions[0].get("ID"):
        raise invalid_token("Response signature invalid")
    return _read_assertion(signed)


def _signed_element(data: bytes, provider: IdentityProvider):
    if not provider.certificates:
        raise invalid_token("No signing certificate in the SAML provider's metadata")
    for certificate in provider.certificates:
        try:
            return XMLVerifier().verify(data, x509_cert=certificate).signed_xml
        # Whatever a malformed signature makes signxml, lxml's schema check or cryptography
        # raise is a refusal, never a server error.
        except (SignXMLException, etree.LxmlError, ValueError, TypeError, UnsupportedAlgorithm):
            continue
    raise invalid_token("Response signature invalid")


def _read_assertion(element) -> Assertion:
    """The claims of a signed Assertion element."""
    issuer = _text(element.find("saml:Issuer", _NS))
    name_id = element.find("saml:Subject/saml:NameID", _NS)
    subject = _text(name_id)
    if not issuer:
        raise invalid_token("Invalid SAMLResponse: the Assertion has no Issuer")
    if not subject:
        raise invalid_token("Invalid SAMLResponse: the Subject has no NameID")
    confirmations = element.findall("saml:Subject/saml:SubjectConfirmation", _NS)
    data = (
        confirmations[0].find("saml:SubjectConfirmationData", _NS)
        if len(confirmations) == 1
        else None
    )
    if data is None or not data.get("Recipient") or not data.get("NotOnOrAfter"):
        raise invalid_token(
            "Invalid SAMLResponse: exactly one SubjectConfirmation with a Recipient and a "
            "NotOnOrAfter is required"
        )
    conditions = element.find("saml:Conditions", _NS)
    not_on_or_after = [parse_time(data.get("NotOnOrAfter"))]
    not_before = None
    audiences: list[str] = []
    if conditions is not None:
        if conditions.get("NotOnOrAfter"):
            not_on_or_after.append(parse_time(conditions.get("NotOnOrAfter")))
        if conditions.get("NotBefore"):
            not_before = parse_time(conditions.get("NotBefore"))
        audiences = [
            _text(a) for a in conditions.findall("saml:AudienceRestriction/saml:Audience", _NS)
        ]
    authn = element.find("saml:AuthnStatement", _NS)
    session_end = authn.get("SessionNotOnOrAfter") if authn is not None else None
    attributes: dict[str, list[str]] = {}
    for attribute in element.findall("saml:AttributeStatement/saml:Attribute", _NS):
        name = attribute.get("Name")
        if name:
            values = [_text(v) for v in attribute.findall("saml:AttributeValue", _NS)]
            attributes.setdefault(name, []).extend(values)
    return Assertion(
        id=element.get("ID") or "",
        issuer=issuer,
        subject=subject,
        subject_format=name_id.get("Format"),
        recipient=data.get("Recipient"),
        audiences=tuple(audiences),
        issue_instant=parse_time(element.get("IssueInstant")),
        not_before=not_before,
        not_on_or_after=tuple(not_on_or_after),
        session_not_on_or_after=parse_time(session_end) if session_end else None,
        attributes=attributes,
    )


def _text(element) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_time(value: str | None) -> datetime:
    """An xs:dateTime (UTC when it names no zone); InvalidIdentityToken when it is none."""
    text = (value or "").strip()
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", text)
    if match is None:
        raise invalid_token(f"Invalid SAMLResponse: {text!r} is not a valid date/time")
    base, fraction, zone = match.groups()
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    when = datetime.fromisoformat(f"{base}.{micro}{'+00:00' if zone in (None, 'Z') else zone}")
    return when.astimezone(UTC)


# The checks AWS makes


def check(assertion: Assertion, provider: IdentityProvider, now: datetime) -> None:
    """Issuer, audience, recipient and time conditions against the domain clock."""
    if provider.valid_until is not None and provider.valid_until <= now:
        raise invalid_token("The metadata of the specified SAML provider has expired")
    if assertion.issuer != provider.entity_id:
        raise invalid_token("Issuer not present in specified provider")
    if not any(a in AUDIENCES for a in assertion.audiences):
        raise invalid_token("Audience restriction of the SAMLResponse does not include AWS")
    if not _RECIPIENT.match(assertion.recipient):
        raise invalid_token("Recipient of the SAMLResponse is not the AWS sign-in endpoint")
    if assertion.not_before is not None and assertion.not_before > now + CLOCK_SKEW:
        raise invalid_token("The SAMLResponse is not yet valid")
    if assertion.issue_instant > now + CLOCK_SKEW:
        raise invalid_token("The SAMLResponse was issued in the future")
    if any(limit + CLOCK_SKEW <= now for limit in assertion.not_on_or_after):
        raise expired_token("Response has expired")
    if assertion.issue_instant + REDEEM_WITHIN + CLOCK_SKEW <= now:
        raise expired_token("Token must be redeemed within 5 minutes of issuance")


def role_pairs(assertion: Assertion) -> set[tuple[str, str]]:
    """The (role ARN, provider ARN) pairs of the Role attribute (either order in a value)."""
    pairs = set()
    for value in assertion.attributes.get(ROLE, []):
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 2:
            continue
        first, second = parts
        if ":saml-provider/" in first:
            first, second = second, first
        pairs.add((first, second))
    return pairs


def session_name(assertion: Assertion) -> str:
    name = assertion.single(ROLE_SESSION_NAME)
    if name is None:
        raise invalid_token("RoleSessionName is required in AuthnResponse")
    if not _SESSION_NAME.match(name):
        raise invalid_token("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
    return name


def principal_tags(assertion: Assertion) -> tuple[list[dict[str, str]], list[str]]:
    """Session tags (``PrincipalTag:<key>`` attributes) and transitive tag keys."""
    tags = []
    for name, values in assertion.attributes.items():
        if name.startswith(PRINCIPAL_TAG):
            if len(values) != 1:
                raise invalid_token(f"Attribute {name} must have a single value in AuthnResponse")
            tags.append({"Key": name[len(PRINCIPAL_TAG) :], "Value": values[0]})
    return tags, list(assertion.attributes.get(TRANSITIVE_TAG_KEYS, []))


def name_qualifier(issuer: str, account: str, provider_name: str) -> str:
    """AWS's NameQualifier: BASE64(SHA1(issuer + account id + "/" + provider name))."""
    digest = hashlib.sha1(f"{issuer}{account}/{provider_name}".encode()).digest()
    return base64.b64encode(digest).decode()


def condition_keys(
    assertion: Assertion, account: str, provider_name: str, qualifier: str
) -> dict[str, object]:
    """The trust-policy condition keys of a SAML federation (``saml:aud``, ``saml:sub`` ...)."""
    keys: dict[str, object] = {
        "saml:aud": assertion.recipient,
        "saml:iss": assertion.issuer,
        "saml:sub": assertion.subject,
        "saml:sub_type": assertion.subject_type,
        "saml:namequalifier": qualifier,
        "saml:doc": f"{account}/{provider_name}",
    }
    for name, (key, multi) in _MAPPED_ATTRIBUTES.items():
        values = assertion.attributes.get(name)
        if values:
            keys[key] = list(values) if multi else values[0]
    return keys
