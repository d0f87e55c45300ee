"""Reads on-prem keys from HashiCorp Vault (KV version 2) with hvac, at run time.

The address comes from HYBRID_VAULT_ADDR and the token from VAULT_TOKEN, in the step's own
environment on the on-prem worker.
"""

import os
from typing import Any


class VaultKeyError(RuntimeError):
    """The Vault secret is unreachable, refused or lacks the field."""


def vault_client(address: str, token: str | None) -> Any:
    import hvac

    return hvac.Client(url=address, token=token, timeout=10)


def read_vault_field(mount_point: str, path: str, field: str, client: Any = None) -> str:
    address = os.environ.get("HYBRID_VAULT_ADDR", "")
    if client is None:
        if not address:
            raise VaultKeyError("a key reference points at Vault but HYBRID_VAULT_ADDR is unset")
        client = vault_client(address, os.environ.get("VAULT_TOKEN"))
    if not client.is_authenticated():
        raise VaultKeyError("Vault refused the token; check VAULT_TOKEN or the auth method")

    response = client.secrets.kv.v2.read_secret_version(
        path=path, mount_point=mount_point, raise_on_deleted_version=True
    )
    value = response["data"]["data"].get(field)
    if not value:
        raise VaultKeyError(f"Vault secret {mount_point}/{path} has no field {field!r}")
    return value
