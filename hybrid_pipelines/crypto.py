"""Encryption at rest for on-prem files (Fernet: AES-128-CBC with HMAC-SHA256)."""

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class WrongKeyError(RuntimeError):
    """Encrypted data could not be opened with the configured key."""


def generate_key() -> bytes:
    return Fernet.generate_key()


def load_or_create_key(path: Path) -> bytes:
    """The key stored at `path`, created with owner-only permissions on first use."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key


class AtRestCipher:
    """Encrypts and decrypts whole files; a wrong key is a clear error, never garbage."""

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode() if isinstance(key, str) else key
        try:
            if len(base64.urlsafe_b64decode(raw)) != 32:
                raise ValueError
            self._fernet = Fernet(raw)
        except (ValueError, TypeError):
            raise ValueError(
                "the at-rest key must be a Fernet key (32 bytes, url-safe base64); "
                "generate one with `hybrid-pipelines keygen`"
            ) from None

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, data: bytes, *, name: str) -> bytes:
        try:
            return self._fernet.decrypt(data)
        except InvalidToken:
            raise WrongKeyError(
                f"cannot decrypt {name}: the at-rest key does not match the one it was written "
                "with (check HYBRID_AT_REST_KEY or the key file under HOME/onprem/keys)"
            ) from None
