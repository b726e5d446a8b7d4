"""A test SAML identity provider: a key, its self-signed certificate, its metadata, and signed
SAML Responses carrying AWS's attributes (for the AssumeRoleWithSAML tests)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
ATTR = "https://aws.amazon.com/SAML/Attributes/"
SIGNIN = "https://signin.aws.amazon.com/saml"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SamlIdP:
    """An IdP with its own key (``entity_id`` unique per instance)."""

    def __init__(self, entity_id: str | None = None) -> None:
        self.entity_id = entity_id or f"https://idp-{uuid.uuid4().hex[:8]}.example.com/saml"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mamori test idp")])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def metadata(self) -> str:
        der = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        return (
            '<?xml version="1.0"?>'
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'entityID="{self.entity_id}">'
            "<md:IDPSSODescriptor "
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing">'
            '<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
            f"<ds:X509Certificate>{der}</ds:X509Certificate>"
            "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="{self.entity_id}/sso"/>'
            "</md:IDPSSODescriptor></md:EntityDescriptor>"
        )

    def response(
        self,
        *,
        now: datetime,
        roles: list[str],
        session_name: str | None = "saml-user",
        subject: str = "alice@example.com",
        subject_format: str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        recipient: str = SIGNIN,
        audience: str = SIGNIN,
        lifetime: timedelta = timedelta(minutes=5),
        attributes: dict[str, list[str]] | None = None,
        issuer: str | None = None,
        session_not_on_or_after: datetime | None = None,
    ) -> etree._Element:
        """An unsigned samlp:Response (sign it with :meth:`sign`)."""
        issuer = issuer or self.entity_id
        until = _iso(now + lifetime)
        values: dict[str, list[str]] = {ATTR + "Role": roles}
        if session_name is not None:
            values[ATTR + "RoleSessionName"] = [session_name]
        values.update(attributes or {})
        attrs = "".join(
            f'<saml:Attribute Name="{name}">'
            + "".join(f"<saml:AttributeValue>{v}</saml:AttributeValue>" for v in vals)
            + "</saml:Attribute>"
            for name, vals in values.items()
        )
        session_end = (
            f' SessionNotOnOrAfter="{_iso(session_not_on_or_after)}"'
            if session_not_on_or_after
            else ""
        )
        xml = (
            f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" '
            f'ID="_r{uuid.uuid4().hex}" Version="2.0" IssueInstant="{_iso(now)}" '
            f'Destination="{recipient}">'
            f"<saml:Issuer>{issuer}</saml:Issuer>"
            '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
            "</samlp:Status>"
            f'<saml:Assertion ID="_a{uuid.uuid4().hex}" Version="2.0" IssueInstant="{_iso(now)}">'
            f"<saml:Issuer>{issuer}</saml:Issuer>"
            f'<saml:Subject><saml:NameID Format="{subject_format}">{subject}</saml:NameID>'
            '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{recipient}"/>'
            "</saml:SubjectConfirmation></saml:Subject>"
            f'<saml:Conditions NotBefore="{_iso(now - timedelta(seconds=5))}" '
            f'NotOnOrAfter="{until}">'
            f"<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience>"
            "</saml:AudienceRestriction></saml:Conditions>"
            f'<saml:AuthnStatement AuthnInstant="{_iso(now)}"{session_end}>'
            "<saml:AuthnContext><saml:AuthnContextClassRef>"
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
            f"<saml:AttributeStatement>{attrs}</saml:AttributeStatement>"
            "</saml:Assertion></samlp:Response>"
        )
        return etree.fromstring(xml.encode())

    def sign(self, response: etree._Element, *, whole_response: bool = False) -> etree._Element:
        """Sign the Assertion (enveloped, placed after its Issuer), or the whole Response."""
        signer = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
        if whole_response:
            signed = signer.sign(response, key=self.key_pem, cert=self.cert_pem)
            _move_signature_after_issuer(signed)
            return signed
        assertion = response.find(f"{{{SAML}}}Assertion")
        signed_assertion = signer.sign(assertion, key=self.key_pem, cert=self.cert_pem)
        _move_signature_after_issuer(signed_assertion)
        response.replace(assertion, signed_assertion)
        return response


def _move_signature_after_issuer(element: etree._Element) -> None:
    """Schema order: ds:Signature follows saml:Issuer (signxml appends it last). Moving the
    enveloped signature does not change what it signs."""
    signature = element.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    element.remove(signature)
    element.insert(1, signature)


def encode(response: etree._Element | bytes | str) -> str:
    if isinstance(response, etree._Element):
        response = etree.tostring(response)
    if isinstance(response, str):
        response = response.encode()
    return base64.b64encode(response).decode()
