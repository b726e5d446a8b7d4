"""AWS Key Management Service: real keys, envelope encryption, key policies, grants, rotation,
deletion and imported key material. See :mod:`mamori.services.kms.provider`."""
