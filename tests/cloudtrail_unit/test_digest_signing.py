"""The digest signing string and key format the AWS CLI verifies."""

from __future__ import annotations

import base64
import hashlib

import rsa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa as crsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mamori.services.cloudtrail.digest import signing_string


def test_signing_string_first_and_chained():
    first = signing_string("2024-01-02T03:04:05Z", "b", "k.json.gz", "ab" * 32, None)
    assert first == f"2024-01-02T03:04:05Z\nb/k.json.gz\n{'ab' * 32}\nnull"
    assert signing_string("t", "b", "k", "h", "sig").endswith("\nsig")


def test_signature_verifies_with_pkcs1_der_key_as_the_cli_loads_it():
    private = crsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.PKCS1)
    text = signing_string("t", "b", "k", hashlib.sha256(b"{}").hexdigest(), None).encode()
    signature = private.sign(text, padding.PKCS1v15(), hashes.SHA256())
    key = rsa.PublicKey.load_pkcs1(base64.b64decode(base64.b64encode(der)), format="DER")
    assert rsa.verify(text, signature, key) == "SHA-256"
