"""Cryptographic operations: envelope encryption with symmetric keys, RSA encryption, signing,
MACs, key agreement, data keys and data key pairs, random bytes."""

from __future__ import annotations

import hmac
import os
from typing import Any

from mamori.errors import AwsError
from mamori.services.kms import ciphertext, crypto, errors
from mamori.services.kms.base import Extra, KmsBase, effective
from mamori.services.kms.keys import has_material, key_arn
from mamori.services.kms.specs import DATA_KEY_PAIR_SPECS, REQUIRED_MESSAGE_TYPES, SPECS

DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}

# Data keys and data key pairs are encrypted with SYMMETRIC_DEFAULT, the algorithm
# kms:EncryptionAlgorithm names for these operations.
DATA_KEY_ALGORITHM = {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


def _no_recipient(params) -> None:
    if params.get("Recipient"):
        raise errors.unsupported("mamori does not support Nitro Enclaves attestation (Recipient).")


def _data_key_length(params) -> int:
    spec, number = params.get("KeySpec"), params.get("NumberOfBytes")
    if (spec is None) == (number is None):
        raise errors.validation("Please specify either number of bytes or key spec.")
    return DATA_KEY_SPECS[spec] if spec else number


class CryptoOps(KmsBase):
    # Building blocks, shared with the internal API (mamori.services.kms.api)

    def _usable_key(
        self,
        ctx,
        conn,
        ref: str,
        action: str,
        *,
        usage: str,
        operation: str,
        encryption_context: dict | None = None,
        via_service: str | None = None,
        extra: Extra | None = None,
    ) -> dict[str, Any]:
        key, alias = self._resolve(ctx, conn, ref)
        self._authorize(
            ctx,
            key,
            action,
            alias=alias,
            encryption_context=encryption_context,
            via_service=via_service,
            extra=extra,
        )
        self._require_state(key)
        self._require_usage(key, usage, operation)
        return key

    def _material(self, conn, key: dict[str, Any], material_id: str | None = None):
        material_id = material_id or key["Current"]
        loaded = self.materials.load(conn, key["KeyId"], material_id, key["KeySpec"])
        if loaded is None:
            raise errors.invalid_state(f"{key['Arn']} has no key material.")
        return loaded

    def _encrypt_symmetric(
        self, conn, key: dict[str, Any], plaintext: bytes, context: dict | None
    ) -> bytes:
        loaded = self._material(conn, key)
        head = ciphertext.header(
            key["Arn"].split(":")[3], key["AWSAccountId"], key["KeyId"], key["Current"]
        )
        nonce, body = crypto.seal(loaded, plaintext, head + ciphertext.canonical_context(context))
        return ciphertext.encode(head, nonce, body)

    def _decrypt_symmetric(
        self,
        ctx,
        conn,
        blob: bytes,
        context: dict | None,
        action: str,
        *,
        key: dict[str, Any] | None = None,
        via_service: str | None = None,
        extra: Extra | None = None,
        alias: str | None = None,
    ) -> tuple[dict[str, Any], bytes, str]:
        """(key, plaintext, material id) of a mamori ciphertext blob; ``key`` is the key the
        caller named (IncorrectKeyException if the blob is another's)."""
        try:
            envelope = ciphertext.decode(blob)
        except ciphertext.MalformedCiphertext:
            raise errors.invalid_ciphertext() from None
        if key is not None:
            if envelope.key_id != key["KeyId"] or envelope.account != key["AWSAccountId"]:
                raise errors.incorrect_key()
        else:
            key = effective(
                self._get_key(conn, envelope.account, envelope.region, envelope.key_id), ctx.now
            )
            if key is None:
                raise errors.key_not_found(
                    key_arn(envelope.region, envelope.account, envelope.key_id)
                )
        self._authorize(
            ctx,
            key,
            action,
            alias=alias,
            encryption_context=context or {},
            via_service=via_service,
            extra=extra,
        )
        self._require_state(key)
        if key["KeySpec"] != "SYMMETRIC_DEFAULT":
            raise errors.incorrect_key()
        if not has_material(key, envelope.material_id):
            raise errors.invalid_ciphertext()
        loaded = self.materials.load(conn, key["KeyId"], envelope.material_id, key["KeySpec"])
        if loaded is None:
            raise errors.invalid_ciphertext()
        try:
            plaintext = crypto.unseal(
                loaded,
                envelope.nonce,
                envelope.ciphertext,
                envelope.header + ciphertext.canonical_context(context),
            )
        except crypto.CryptoFailure:
            raise errors.invalid_ciphertext() from None
        return key, plaintext, envelope.material_id

    @staticmethod
    def _check_algorithm(key: dict[str, Any], algorithm: str) -> None:
        spec = SPECS[key["KeySpec"]]
        if algorithm in spec.unavailable:
            raise errors.unsupported(
                f"mamori does not support {algorithm} yet: it needs {spec.unavailable[algorithm]}."
            )
        if algorithm not in spec.usages.get(key["KeyUsage"], ()):
            raise errors.invalid_key_usage(
                f"Algorithm {algorithm} is incompatible with key spec {key['KeySpec']}."
            )

    def _encrypt_with(
        self, conn, key: dict[str, Any], plaintext: bytes, context: dict | None, algorithm: str
    ) -> bytes:
        self._check_algorithm(key, algorithm)
        if algorithm == "SYMMETRIC_DEFAULT":
            return self._encrypt_symmetric(conn, key, plaintext, context)
        if context:
            raise errors.validation("EncryptionContext is not supported with asymmetric keys.")
        loaded = self._material(conn, key)
        if len(plaintext) > crypto.rsa_max_plaintext(loaded, algorithm):
            raise errors.validation(
                f"Plaintext length {len(plaintext)} exceeds the maximum for {key['KeySpec']} "
                f"with {algorithm} ({crypto.rsa_max_plaintext(loaded, algorithm)} bytes)."
            )
        return crypto.rsa_encrypt(loaded.private.public_key(), plaintext, algorithm)

    def _decrypt_any(
        self,
        ctx,
        conn,
        blob: bytes,
        context: dict | None,
        ref: str | None,
        algorithm: str,
        action: str,
        *,
        via_service: str | None = None,
        extra: Extra | None = None,
    ) -> tuple[dict[str, Any], bytes, str | None]:
        key = alias = None
        if ref:
            key, alias = self._resolve(ctx, conn, ref)
        if key is not None and key["KeySpec"] != "SYMMETRIC_DEFAULT":
            self._authorize(
                ctx,
                key,
                action,
                alias=alias,
                encryption_context=context or {},
                via_service=via_service,
                extra=extra,
            )
            self._require_state(key)
            self._require_usage(key, "ENCRYPT_DECRYPT", "Decrypt")
            self._check_algorithm(key, algorithm)
            try:
                plaintext = crypto.rsa_decrypt(self._material(conn, key).private, blob, algorithm)
            except crypto.CryptoFailure:
                raise errors.invalid_ciphertext() from None
            return key, plaintext, None
        if algorithm != "SYMMETRIC_DEFAULT":
            if key is not None:
                self._check_algorithm(key, algorithm)
            raise errors.invalid_ciphertext()
        return self._decrypt_symmetric(
            ctx,
            conn,
            blob,
            context,
            action,
            key=key,
            via_service=via_service,
            extra=extra,
            alias=alias,
        )

    def _data_key(
        self,
        ctx,
        ref: str,
        context: dict | None,
        length: int,
        action: str,
        *,
        via_service: str | None = None,
    ) -> tuple[dict[str, Any], bytes, bytes]:
        with self._read(ctx) as conn:
            key = self._usable_key(
                ctx,
                conn,
                ref,
                action,
                usage="ENCRYPT_DECRYPT",
                operation=action.split(":")[1],
                encryption_context=context or {},
                via_service=via_service,
                extra=DATA_KEY_ALGORITHM,
            )
            if key["KeySpec"] != "SYMMETRIC_DEFAULT":
                raise errors.invalid_key_usage(
                    f"{key['Arn']} key spec is {key['KeySpec']} which is not valid for "
                    f"{action.split(':')[1]}."
                )
            plaintext = os.urandom(length)
            return key, plaintext, self._encrypt_symmetric(conn, key, plaintext, context)

    # Operations

    def encrypt(self, ctx, params):
        algorithm = params.get("EncryptionAlgorithm") or "SYMMETRIC_DEFAULT"
        context = params.get("EncryptionContext")
        with self._read() as conn:
            key = self._usable_key(
                ctx,
                conn,
                params["KeyId"],
                "kms:Encrypt",
                usage="ENCRYPT_DECRYPT",
                operation="Encrypt",
                encryption_context=context or {},
                extra={"kms:EncryptionAlgorithm": algorithm},
            )
            if params.get("DryRun"):
                self._check_algorithm(key, algorithm)
                raise errors.dry_run()
            blob = self._encrypt_with(conn, key, params["Plaintext"], context, algorithm)
        return {"CiphertextBlob": blob, "KeyId": key["Arn"], "EncryptionAlgorithm": algorithm}

    def decrypt(self, ctx, params):
        _no_recipient(params)
        blob = params.get("CiphertextBlob")
        if not blob:
            raise errors.validation("CiphertextBlob is required.")
        algorithm = params.get("EncryptionAlgorithm") or "SYMMETRIC_DEFAULT"
        with self._read() as conn:
            key, plaintext, material_id = self._decrypt_any(
                ctx,
                conn,
                blob,
                params.get("EncryptionContext"),
                params.get("KeyId"),
                algorithm,
                "kms:Decrypt",
                extra={"kms:EncryptionAlgorithm": algorithm},
            )
        if params.get("DryRun"):
            raise errors.dry_run()
        result = {"KeyId": key["Arn"], "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
        if material_id:
            result["KeyMaterialId"] = material_id
        return result

    def re_encrypt(self, ctx, params):
        source_algorithm = params.get("SourceEncryptionAlgorithm") or "SYMMETRIC_DEFAULT"
        dest_algorithm = params.get("DestinationEncryptionAlgorithm") or "SYMMETRIC_DEFAULT"
        dest_context = params.get("DestinationEncryptionContext")
        with self._read() as conn:
            destination, _ = self._resolve(ctx, conn, params["DestinationKeyId"])

            def from_conditions(source_key: dict[str, Any]) -> dict[str, Any]:
                return {
                    "kms:EncryptionAlgorithm": source_algorithm,
                    "kms:ReEncryptOnSameKey": source_key["Arn"] == destination["Arn"],
                }

            source, plaintext, source_material = self._decrypt_any(
                ctx,
                conn,
                params["CiphertextBlob"],
                params.get("SourceEncryptionContext"),
                params.get("SourceKeyId"),
                source_algorithm,
                "kms:ReEncryptFrom",
                extra=from_conditions,
            )
            dest = self._usable_key(
                ctx,
                conn,
                params["DestinationKeyId"],
                "kms:ReEncryptTo",
                usage="ENCRYPT_DECRYPT",
                operation="ReEncrypt",
                encryption_context=dest_context or {},
                extra={
                    "kms:EncryptionAlgorithm": dest_algorithm,
                    "kms:ReEncryptOnSameKey": source["Arn"] == destination["Arn"],
                },
            )
            if params.get("DryRun"):
                raise errors.dry_run()
            blob = self._encrypt_with(conn, dest, plaintext, dest_context, dest_algorithm)
        result = {
            "CiphertextBlob": blob,
            "SourceKeyId": source["Arn"],
            "KeyId": dest["Arn"],
            "SourceEncryptionAlgorithm": source_algorithm,
            "DestinationEncryptionAlgorithm": dest_algorithm,
        }
        if source_material:
            result["SourceKeyMaterialId"] = source_material
        if dest_algorithm == "SYMMETRIC_DEFAULT":
            result["DestinationKeyMaterialId"] = dest["Current"]
        return result

    def generate_data_key(self, ctx, params):
        _no_recipient(params)
        length = _data_key_length(params)
        key, plaintext, blob = self._data_key(
            ctx, params["KeyId"], params.get("EncryptionContext"), length, "kms:GenerateDataKey"
        )
        if params.get("DryRun"):
            raise errors.dry_run()
        return {
            "CiphertextBlob": blob,
            "Plaintext": plaintext,
            "KeyId": key["Arn"],
            "KeyMaterialId": key["Current"],
        }

    def generate_data_key_without_plaintext(self, ctx, params):
        length = _data_key_length(params)
        key, _, blob = self._data_key(
            ctx,
            params["KeyId"],
            params.get("EncryptionContext"),
            length,
            "kms:GenerateDataKeyWithoutPlaintext",
        )
        if params.get("DryRun"):
            raise errors.dry_run()
        return {"CiphertextBlob": blob, "KeyId": key["Arn"], "KeyMaterialId": key["Current"]}

    def _data_key_pair(self, ctx, params, action: str) -> dict[str, Any]:
        _no_recipient(params)
        pair_spec = params["KeyPairSpec"]
        if pair_spec not in DATA_KEY_PAIR_SPECS:
            raise errors.unsupported(f"mamori does not support KeyPairSpec {pair_spec} yet.")
        context = params.get("EncryptionContext")
        with self._read() as conn:
            key = self._usable_key(
                ctx,
                conn,
                params["KeyId"],
                action,
                usage="ENCRYPT_DECRYPT",
                operation=action.split(":")[1],
                encryption_context=context or {},
                extra={"kms:DataKeyPairSpec": pair_spec, **DATA_KEY_ALGORITHM},
            )
            if key["KeySpec"] != "SYMMETRIC_DEFAULT":
                raise errors.invalid_key_usage(
                    f"{key['Arn']} key spec is {key['KeySpec']} which is not valid for "
                    f"{action.split(':')[1]}."
                )
            if params.get("DryRun"):
                raise errors.dry_run()
            private = crypto.generate_private_key(SPECS[pair_spec])
            private_der = crypto.private_key_der(private)
            blob = self._encrypt_symmetric(conn, key, private_der, context)
        return {
            "PrivateKeyCiphertextBlob": blob,
            "PrivateKeyPlaintext": private_der,
            "PublicKey": crypto.public_key_der(private.public_key()),
            "KeyId": key["Arn"],
            "KeyPairSpec": pair_spec,
            "KeyMaterialId": key["Current"],
        }

    def generate_data_key_pair(self, ctx, params):
        return self._data_key_pair(ctx, params, "kms:GenerateDataKeyPair")

    def generate_data_key_pair_without_plaintext(self, ctx, params):
        result = self._data_key_pair(ctx, params, "kms:GenerateDataKeyPairWithoutPlaintext")
        del result["PrivateKeyPlaintext"]
        return result

    def generate_random(self, ctx, params):
        _no_recipient(params)
        if params.get("CustomKeyStoreId"):
            raise AwsError(
                "CustomKeyStoreNotFoundException", "mamori does not support custom key stores."
            )
        number = params.get("NumberOfBytes")
        if number is None:
            raise errors.validation("NumberOfBytes is required.")
        self._allow(ctx, "kms:GenerateRandom", "*")
        return {"Plaintext": os.urandom(number)}

    # Asymmetric keys

    def get_public_key(self, ctx, params):
        with self._read() as conn:
            key, alias = self._resolve(ctx, conn, params["KeyId"])
            self._authorize(ctx, key, "kms:GetPublicKey", alias=alias)
            self._require_state(key)
            spec = SPECS[key["KeySpec"]]
            if not spec.asymmetric:
                raise errors.unsupported(
                    f"{key['Arn']} key spec is {key['KeySpec']} which is not valid for "
                    "GetPublicKey."
                )
            public = self._material(conn, key).public_der
        field = {
            "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
            "SIGN_VERIFY": "SigningAlgorithms",
            "KEY_AGREEMENT": "KeyAgreementAlgorithms",
        }[key["KeyUsage"]]
        return {
            "KeyId": key["Arn"],
            "PublicKey": public,
            "CustomerMasterKeySpec": key["KeySpec"],
            "KeySpec": key["KeySpec"],
            "KeyUsage": key["KeyUsage"],
            field: list(spec.usages[key["KeyUsage"]]),
        }

    def _signing(self, ctx, params, action: str):
        algorithm = params["SigningAlgorithm"]
        message_type = params.get("MessageType") or "RAW"
        if message_type == "EXTERNAL_MU":
            raise errors.unsupported("MessageType EXTERNAL_MU is for ML-DSA keys.")
        required = REQUIRED_MESSAGE_TYPES.get(algorithm, message_type)
        if message_type != required:
            raise errors.validation(f"{algorithm} requires MessageType {required}.")
        with self._read() as conn:
            key = self._usable_key(
                ctx,
                conn,
                params["KeyId"],
                action,
                usage="SIGN_VERIFY",
                operation=action.split(":")[1],
                extra={"kms:SigningAlgorithm": algorithm, "kms:MessageType": message_type},
            )
            self._check_algorithm(key, algorithm)
            loaded = self._material(conn, key)
        prehashed = message_type == "DIGEST"
        message = params["Message"]
        if prehashed:
            size = crypto.digest_of(algorithm).digest_size
            if len(message) != size:
                raise errors.validation(f"Digest is invalid length for algorithm {algorithm}.")
        if params.get("DryRun"):
            raise errors.dry_run()
        return key, loaded, algorithm, message, prehashed

    def sign(self, ctx, params):
        key, loaded, algorithm, message, prehashed = self._signing(ctx, params, "kms:Sign")
        return {
            "KeyId": key["Arn"],
            "Signature": crypto.sign(loaded, message, algorithm, prehashed),
            "SigningAlgorithm": algorithm,
        }

    def verify(self, ctx, params):
        key, loaded, algorithm, message, prehashed = self._signing(ctx, params, "kms:Verify")
        try:
            crypto.verify(loaded, params["Signature"], message, algorithm, prehashed)
        except crypto.CryptoFailure:
            raise AwsError("KMSInvalidSignatureException", "") from None
        return {"KeyId": key["Arn"], "SignatureValid": True, "SigningAlgorithm": algorithm}

    def _mac_key(self, ctx, params, action: str):
        algorithm = params["MacAlgorithm"]
        with self._read() as conn:
            key = self._usable_key(
                ctx,
                conn,
                params["KeyId"],
                action,
                usage="GENERATE_VERIFY_MAC",
                operation=action.split(":")[1],
                extra={"kms:MacAlgorithm": algorithm},
            )
            self._check_algorithm(key, algorithm)
            loaded = self._material(conn, key)
        if params.get("DryRun"):
            raise errors.dry_run()
        return key, loaded, algorithm

    def generate_mac(self, ctx, params):
        key, loaded, algorithm = self._mac_key(ctx, params, "kms:GenerateMac")
        return {
            "Mac": crypto.mac(loaded, params["Message"], algorithm),
            "MacAlgorithm": algorithm,
            "KeyId": key["Arn"],
        }

    def verify_mac(self, ctx, params):
        key, loaded, algorithm = self._mac_key(ctx, params, "kms:VerifyMac")
        if not hmac.compare_digest(crypto.mac(loaded, params["Message"], algorithm), params["Mac"]):
            raise AwsError("KMSInvalidMacException", "")
        return {"KeyId": key["Arn"], "MacValid": True, "MacAlgorithm": algorithm}

    def derive_shared_secret(self, ctx, params):
        _no_recipient(params)
        algorithm = params["KeyAgreementAlgorithm"]
        with self._read() as conn:
            key = self._usable_key(
                ctx,
                conn,
                params["KeyId"],
                "kms:DeriveSharedSecret",
                usage="KEY_AGREEMENT",
                operation="DeriveSharedSecret",
                extra={"kms:KeyAgreementAlgorithm": algorithm},
            )
            self._check_algorithm(key, algorithm)
            loaded = self._material(conn, key)
        if params.get("DryRun"):
            raise errors.dry_run()
        try:
            secret = crypto.derive_shared_secret(loaded, params["PublicKey"])
        except crypto.CryptoFailure:
            raise errors.validation(
                f"The public key is not a valid {key['KeySpec']} public key."
            ) from None
        return {
            "KeyId": key["Arn"],
            "SharedSecret": secret,
            "KeyAgreementAlgorithm": algorithm,
            "KeyOrigin": key["Origin"],
        }
