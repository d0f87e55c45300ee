"""Keys that never leave on-prem, and how a resource finds them at run time.

A resource holds a *reference* to each key (`env:NAME`, `file:PATH` or
`vault:MOUNT/PATH#FIELD`), never the key: Dagster shows resource configuration in the UI and
ships it to the control plane, which may run in the cloud. The reference is resolved inside
the step, on the on-prem worker.
"""

import base64
import binascii
import hashlib
import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from hybrid_pipelines.anonymize import Pseudonymizer
from hybrid_pipelines.stores import EgressGateSigner

REFERENCE_SCHEMES = ("env", "file", "vault")


class SecretReferenceError(ValueError):
    """A key reference that is malformed or points at nothing."""


def resolve_secret(reference: str, name: str) -> str:
    """The secret a reference points at; errors name the reference, never a value."""
    scheme, _, target = reference.partition(":")
    if scheme not in REFERENCE_SCHEMES or not target:
        raise SecretReferenceError(
            f"{name} must be a reference (env:NAME, file:PATH or vault:MOUNT/PATH#FIELD), "
            "not the key itself"
        )

    if scheme == "env":
        value = os.environ.get(target, "")
        if not value:
            raise SecretReferenceError(f"{name}: environment variable {target} is not set")
        return value

    if scheme == "file":
        try:
            return Path(target).read_text().strip()
        except OSError as error:
            raise SecretReferenceError(
                f"{name}: cannot read key file {target} ({error.strerror})"
            ) from None

    from resources.vault import read_vault_field

    location, _, field = target.partition("#")
    mount, _, path = location.partition("/")
    return read_vault_field(mount, path, field or name)


def decode_key(value: str, name: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError):
        raise SecretReferenceError(
            f"{name} is not url-safe base64; generate it with `hybrid-pipelines keygen`"
        ) from None


class PrivacyKeys(dg.ConfigurableResource):
    """The on-prem secrets of the pipeline, by reference."""

    pseudonym_key_ref: str = Field(description="Reference to the pseudonym HMAC key.")
    gate_key_ref: str = Field(description="Reference to the egress-gate key.")

    def _key(self, reference: str, name: str) -> bytes:
        return decode_key(resolve_secret(reference, name), name)

    def pseudonymizer(self) -> Pseudonymizer:
        return Pseudonymizer(self._key(self.pseudonym_key_ref, "the pseudonym key"))

    def gate_signer(self) -> EgressGateSigner:
        return EgressGateSigner(self._key(self.gate_key_ref, "the egress gate key"))

    def pseudonym_key_fingerprint(self) -> str:
        """A short, non-reversible id of the key, so runs show which key produced tokens."""
        return key_fingerprint(self._key(self.pseudonym_key_ref, "the pseudonym key"))


def key_fingerprint(key: bytes) -> str:
    """16 hex digits of a salted SHA-256 of the key. Sixteen, because the metadata guard
    reads shorter hex strings as text, and one in twenty 12-digit prints holds a run of
    eight decimal digits: a phone number to the guard."""
    return hashlib.sha256(b"fingerprint:" + key).hexdigest()[:16]
