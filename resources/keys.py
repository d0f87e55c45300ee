"""Keys that never leave on-prem: pseudonym HMAC key, egress-gate key, at-rest key."""

import base64
import binascii

import dagster as dg

from hybrid_pipelines.anonymize import Pseudonymizer
from hybrid_pipelines.stores import EgressGateSigner


def decode_key(value: str, name: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{name} is not url-safe base64; generate it with `hybrid-pipelines keygen`"
        ) from None


class PrivacyKeys(dg.ConfigurableResource):
    """The on-prem secrets of the pipeline, from configuration (env vars or a secrets manager)."""

    pseudonym_key: str
    gate_key: str

    def pseudonymizer(self) -> Pseudonymizer:
        return Pseudonymizer(decode_key(self.pseudonym_key, "the pseudonym key"))

    def gate_signer(self) -> EgressGateSigner:
        return EgressGateSigner(decode_key(self.gate_key, "the egress gate key"))

    def pseudonym_key_fingerprint(self) -> str:
        """A short, non-reversible id of the key, so runs show which key produced tokens."""
        import hashlib

        return hashlib.sha256(b"fingerprint:" + decode_key(self.pseudonym_key, "key")).hexdigest()[
            :12
        ]
