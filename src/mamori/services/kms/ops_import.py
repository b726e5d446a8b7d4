"""Bring your own key: wrapping keys for import, importing material with an expiry, deleting it.

GetParametersForImport creates an RSA wrapping key pair whose private half is stored sealed,
under a random import token id, for 24 hours. ImportKeyMaterial unwraps with it:

* ``RSAES_OAEP_SHA_1`` / ``RSAES_OAEP_SHA_256``: the material is RSA-OAEP encrypted directly.
* ``RSA_AES_KEY_WRAP_SHA_1`` / ``_SHA_256``: an ephemeral AES key, RSA-OAEP encrypted (as many
  bytes as the modulus), followed by the material wrapped under it with AES key wrap with
  padding (RFC 5649) — how asymmetric and HMAC material fits.

An imported material's id is derived from the key id and the material, so importing the same
material again (after deletion or expiry) gives the same id, and old ciphertexts decrypt again,
as in AWS; any other material is refused with IncorrectKeyMaterialException.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import keywrap, serialization

from mamori.errors import AwsError
from mamori.services.kms import crypto, errors
from mamori.services.kms.base import KmsBase
from mamori.services.kms.keys import iso
from mamori.services.kms.keystore import import_table, set_due
from mamori.services.kms.specs import SPECS

IMPORT_TOKEN_LIFETIME = timedelta(hours=24)
MAX_VALID_TO = timedelta(days=365)
_WRAPPING = {
    "RSAES_OAEP_SHA_1": ("RSAES_OAEP_SHA_1", False),
    "RSAES_OAEP_SHA_256": ("RSAES_OAEP_SHA_256", False),
    "RSA_AES_KEY_WRAP_SHA_1": ("RSAES_OAEP_SHA_1", True),
    "RSA_AES_KEY_WRAP_SHA_256": ("RSAES_OAEP_SHA_256", True),
}
_TOKEN_PREFIX = b"mamori-import-token:"


def _token_context(token_id: str) -> bytes:
    return f"kms:import-wrapping-key:{token_id}".encode()


def imported_material_id(key_id: str, material: bytes) -> str:
    return hashlib.sha256(
        b"mamori-kms-imported-material\0" + key_id.encode() + material
    ).hexdigest()


class ImportOps(KmsBase):
    @staticmethod
    def _require_external(key: dict[str, Any]) -> None:
        if key["Origin"] != "EXTERNAL":
            raise errors.unsupported(
                f"{key['Arn']} origin is {key['Origin']} which is not valid for this operation."
            )

    def get_parameters_for_import(self, ctx, params):
        algorithm, spec = params["WrappingAlgorithm"], params["WrappingKeySpec"]
        conn = ctx.transaction()
        key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(
            ctx,
            key,
            "kms:GetParametersForImport",
            extra={"kms:WrappingAlgorithm": algorithm, "kms:WrappingKeySpec": spec},
        )
        self._require_external(key)
        if key["KeyState"] == "PendingDeletion":
            raise errors.invalid_state(f"{key['Arn']} is pending deletion.")
        if algorithm not in _WRAPPING:
            raise errors.validation(
                f"mamori does not support WrappingAlgorithm {algorithm} (AWS retired "
                "RSAES_PKCS1_V1_5; SM2PKE is for the China Regions)."
            )
        if spec not in ("RSA_2048", "RSA_3072", "RSA_4096"):
            raise errors.validation(f"mamori does not support WrappingKeySpec {spec}.")
        if (
            not _WRAPPING[algorithm][1]
            and not SPECS[key["KeySpec"]].symmetric
            and not SPECS[key["KeySpec"]].hmac_bytes
        ):
            raise errors.validation(
                f"WrappingAlgorithm {algorithm} cannot wrap {key['KeySpec']} key material; use "
                "RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256."
            )
        wrapping = crypto.generate_private_key(SPECS[spec])
        token_id = secrets.token_hex(32)
        valid_to = ctx.now + IMPORT_TOKEN_LIFETIME
        conn.execute(
            import_table.insert().values(
                token_id=token_id,
                key_id=key["KeyId"],
                algorithm=algorithm,
                sealed=self.runtime.store.sealer.seal(
                    crypto.private_key_der(wrapping), _token_context(token_id)
                ),
                expires_at=valid_to,
            )
        )
        # Expired wrapping keys are of no use to anyone: drop them.
        conn.execute(import_table.delete().where(import_table.c.expires_at <= ctx.now))
        return {
            "KeyId": key["Arn"],
            "ImportToken": _TOKEN_PREFIX + bytes.fromhex(token_id),
            "PublicKey": crypto.public_key_der(wrapping.public_key()),
            "ParametersValidTo": valid_to,
        }

    def _unwrap(self, conn, ctx, key: dict[str, Any], token: bytes, wrapped: bytes) -> bytes:
        invalid = AwsError("InvalidImportTokenException", "Import token is invalid")
        if not token.startswith(_TOKEN_PREFIX) or len(token) != len(_TOKEN_PREFIX) + 32:
            raise invalid
        token_id = token[len(_TOKEN_PREFIX) :].hex()
        c = import_table.c
        row = conn.execute(
            sa.select(c.key_id, c.algorithm, c.sealed, c.expires_at).where(c.token_id == token_id)
        ).first()
        if row is None or row.key_id != key["KeyId"]:
            raise invalid
        if row.expires_at <= ctx.now:
            raise AwsError("ExpiredImportTokenException", "Import token has expired")
        private = serialization.load_der_private_key(
            self.runtime.store.sealer.unseal(row.sealed, _token_context(token_id)), password=None
        )
        oaep, with_aes = _WRAPPING[row.algorithm]
        try:
            if not with_aes:
                return crypto.rsa_decrypt(private, wrapped, oaep)
            size = private.key_size // 8
            aes_key = crypto.rsa_decrypt(private, wrapped[:size], oaep)
            return keywrap.aes_key_unwrap_with_padding(aes_key, wrapped[size:])
        except (crypto.CryptoFailure, keywrap.InvalidUnwrap, ValueError):
            raise errors.invalid_ciphertext(
                "The EncryptedKeyMaterial could not be decrypted with the import parameters."
            ) from None

    def import_key_material(self, ctx, params):
        conn = ctx.transaction()
        key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:ImportKeyMaterial")
        self._require_external(key)
        if key["KeyState"] == "PendingDeletion":
            raise errors.invalid_state(f"{key['Arn']} is pending deletion.")
        if params.get("ImportType") == "NEW_KEY_MATERIAL" and key["Materials"]:
            raise errors.unsupported("mamori does not support rotating imported key material yet.")
        valid_to = params.get("ValidTo")
        # The model documents KEY_MATERIAL_EXPIRES as the default, which then needs a ValidTo.
        model = params.get("ExpirationModel") or "KEY_MATERIAL_EXPIRES"
        if model == "KEY_MATERIAL_EXPIRES" and valid_to is None:
            raise errors.validation(
                "A ValidTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
            )
        if model == "KEY_MATERIAL_DOES_NOT_EXPIRE" and valid_to is not None:
            raise errors.validation(
                "A ValidTo date must not be set if the ExpirationModel is "
                "KEY_MATERIAL_DOES_NOT_EXPIRE"
            )
        if valid_to is not None and not ctx.now < valid_to <= ctx.now + MAX_VALID_TO:
            raise errors.validation("ValidTo must be in the future and at most 365 days away.")
        material = self._unwrap(
            conn, ctx, key, params["ImportToken"], params["EncryptedKeyMaterial"]
        )
        spec = SPECS[key["KeySpec"]]
        incorrect = AwsError(
            "IncorrectKeyMaterialException",
            "The key material in the request is, expired, invalid, or is not the same key "
            "material that was previously imported into this customer master key (CMK).",
        )
        if spec.symmetric and len(material) != 32:
            raise incorrect
        if spec.hmac_bytes and len(material) != spec.hmac_bytes:
            raise incorrect
        if spec.asymmetric:
            loaded = crypto.check_private_key(spec, material)
            if loaded is None:
                raise incorrect
            material = crypto.private_key_der(loaded)
        material_id = imported_material_id(key["KeyId"], material)
        if key["Materials"] and all(m["Id"] != material_id for m in key["Materials"]):
            raise incorrect
        if params.get("KeyMaterialId") and params["KeyMaterialId"] != material_id:
            raise incorrect
        self.materials.add(
            conn,
            key_id=key["KeyId"],
            material_id=material_id,
            account=key["AWSAccountId"],
            region=key["Arn"].split(":")[3],
            material=material,
            now=ctx.now,
        )
        entry = {
            "Id": material_id,
            "Created": iso(ctx.now),
            "ExpirationModel": model,
            "ValidTo": iso(valid_to) if valid_to else None,
        }
        if params.get("KeyMaterialDescription"):
            entry["Description"] = params["KeyMaterialDescription"]
        key["Materials"] = [m for m in key["Materials"] if m["Id"] != material_id] + [entry]
        key["Current"] = material_id
        if key["KeyState"] == "PendingImport":
            key["KeyState"] = "Enabled"
        set_due(conn, key, "expire", valid_to)
        self._save_key(ctx, key)
        return {"KeyId": key["Arn"], "KeyMaterialId": material_id}

    def delete_imported_key_material(self, ctx, params):
        conn = ctx.transaction()
        key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:DeleteImportedKeyMaterial")
        self._require_external(key)
        material_id = key.get("Current")
        self.delete_imported_material(conn, key)
        self._save_key(ctx, key)
        result = {"KeyId": key["Arn"]}
        if material_id:
            result["KeyMaterialId"] = material_id
        return result

    def delete_imported_material(self, conn, key: dict[str, Any]) -> None:
        """Destroy the key's imported material; the key waits for an import again (a key
        pending deletion stays so: CancelKeyDeletion then leaves it PendingImport)."""
        self.materials.destroy(conn, key["KeyId"])
        for material in key["Materials"]:
            material["Deleted"] = True
        if key["KeyState"] in ("Enabled", "Disabled"):
            key["KeyState"] = "PendingImport"
        set_due(conn, key, "expire", None)
