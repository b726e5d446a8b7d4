"""The SAML response rules of AssumeRoleWithSAML (mamori.services.sts.saml), without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from mamori.errors import AwsError
from mamori.services.sts import saml
from tests.sts_unit.saml_idp import ATTR, SAML, SamlIdP, encode

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/r,arn:aws:iam::123456789012:saml-provider/p"


@pytest.fixture(scope="module")
def idp():
    return SamlIdP()


def verified(idp, **kwargs) -> saml.Assertion:
    kwargs.setdefault("roles", [ROLE])
    response = idp.sign(idp.response(now=NOW, **kwargs))
    return saml.verify(saml.decode(encode(response)), saml.identity_provider(idp.metadata()))


def test_name_qualifier_is_awss_documented_hash():
    # BASE64(SHA1("https://example.com/saml" + "123456789012" + "/MySAMLIdP"))
    assert saml.name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP") == (
        "1uAJanUnBc2XeUkHURMht+xam2c="
    )


def test_subject_type_drops_only_the_saml2_prefix(idp):
    assert verified(idp).subject_type == "persistent"
    email = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert verified(idp, subject_format=email).subject_type == email


def test_claims_and_condition_keys(idp):
    attributes = {
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": ["alice@uni.example"],
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ["member", "staff"],
        ATTR + "PrincipalTag:team": ["blue"],
        ATTR + "TransitiveTagKeys": ["team"],
    }
    assertion = verified(idp, attributes=attributes)
    keys = saml.condition_keys(assertion, "123456789012", "p", "nq")
    assert keys["saml:aud"] == "https://signin.aws.amazon.com/saml"
    assert keys["saml:iss"] == idp.entity_id
    assert keys["saml:sub"] == "alice@example.com"
    assert keys["saml:sub_type"] == "persistent"
    assert keys["saml:doc"] == "123456789012/p"
    assert keys["saml:namequalifier"] == "nq"
    assert keys["saml:edupersonprincipalname"] == "alice@uni.example"
    assert keys["saml:edupersonaffiliation"] == ["member", "staff"]
    assert saml.principal_tags(assertion) == ([{"Key": "team", "Value": "blue"}], ["team"])
    assert saml.role_pairs(assertion) == {tuple(ROLE.split(","))}


def test_time_conditions_use_the_given_clock(idp):
    assertion = verified(idp, lifetime=timedelta(minutes=5))
    provider = saml.identity_provider(idp.metadata())
    saml.check(assertion, provider, NOW + timedelta(minutes=9))  # within the allowance
    with pytest.raises(AwsError) as err:
        saml.check(assertion, provider, NOW + timedelta(minutes=10))
    assert err.value.code == "ExpiredTokenException"
    with pytest.raises(AwsError) as err:
        saml.check(assertion, provider, NOW - timedelta(minutes=6))
    assert err.value.code == "InvalidIdentityToken"


def test_metadata_past_valid_until_is_refused(idp):
    metadata = idp.metadata().replace("entityID=", 'validUntil="2030-01-01T00:00:00Z" entityID=')
    provider = saml.identity_provider(metadata)
    assert provider.valid_until == datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(AwsError) as err:
        saml.check(verified(idp), provider, NOW)
    assert err.value.code == "InvalidIdentityToken"


def test_only_signing_keys_of_the_metadata_count(idp):
    metadata = idp.metadata().replace('use="signing"', 'use="encryption"')
    response = encode(idp.sign(idp.response(now=NOW, roles=[ROLE])))
    with pytest.raises(AwsError) as err:
        saml.verify(saml.decode(response), saml.identity_provider(metadata))
    assert err.value.code == "InvalidIdentityToken"


def test_a_second_certificate_of_the_metadata_verifies(idp):
    other = SamlIdP(idp.entity_id)
    rollover = idp.metadata().replace(
        "</md:KeyDescriptor>", "</md:KeyDescriptor>" + _key_descriptor(other), 1
    )
    response = encode(other.sign(other.response(now=NOW, roles=[ROLE])))
    assertion = saml.verify(saml.decode(response), saml.identity_provider(rollover))
    assert assertion.subject == "alice@example.com"


def _key_descriptor(idp) -> str:
    start = idp.metadata().index("<md:KeyDescriptor")
    end = idp.metadata().index("</md:KeyDescriptor>") + len("</md:KeyDescriptor>")
    return idp.metadata()[start:end]


def test_signed_content_only_is_read(idp):
    """Changing anything the signature covers breaks it; the Response's own Issuer (not signed
    when only the Assertion is) is never read."""
    response = idp.sign(idp.response(now=NOW, roles=[ROLE]))
    response.find(f"{{{SAML}}}Issuer").text = "https://attacker.example.com"
    provider = saml.identity_provider(idp.metadata())
    assertion = saml.verify(saml.decode(encode(response)), provider)
    assert assertion.issuer == idp.entity_id


def test_not_xml_or_not_base64():
    with pytest.raises(AwsError) as err:
        saml.decode("not base64!")
    assert err.value.code == "InvalidIdentityToken"
    with pytest.raises(AwsError) as err:
        saml.decode(encode(b"<unclosed"))
    assert err.value.code == "InvalidIdentityToken"
    billion_laughs = b'<!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><a>&b;</a>'
    with pytest.raises(AwsError) as err:
        saml.decode(encode(billion_laughs))
    assert err.value.code == "InvalidIdentityToken"


def test_parse_time_accepts_fractions_and_zones():
    assert saml.parse_time("2030-05-01T12:00:00.123456789Z") == datetime(
        2030, 5, 1, 12, 0, 0, 123456, tzinfo=UTC
    )
    assert saml.parse_time("2030-05-01T14:00:00+02:00") == datetime(2030, 5, 1, 12, tzinfo=UTC)
    with pytest.raises(AwsError):
        saml.parse_time("yesterday")


@pytest.mark.parametrize(
    "old, new",
    [
        (b"ds:SignedInfo", b"ds:SignedInfoX"),  # fails signxml's schema check
        (b"<ds:DigestValue>", b"<ds:DigestValue>AA"),  # not a valid digest value
        (b"rsa-sha256", b"rsa-unknown"),
        (b'URI="#_a', b'URI="#_other'),
    ],
)
def test_malformed_signatures_are_refusals(idp, old, new):
    xml = etree.tostring(idp.sign(idp.response(now=NOW, roles=[ROLE])))
    assert old in xml
    provider = saml.identity_provider(idp.metadata())
    with pytest.raises(AwsError) as err:
        saml.verify(saml.decode(encode(xml.replace(old, new))), provider)
    assert err.value.code == "InvalidIdentityToken"
