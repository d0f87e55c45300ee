"""Reads the three on-prem keys from HashiCorp Vault (KV version 2) with hvac."""

from typing import Any

KEY_FIELDS = {
    "HYBRID_PSEUDONYM_KEY": "pseudonym_key",
    "HYBRID_GATE_KEY": "gate_key",
    "HYBRID_AT_REST_KEY": "at_rest_key",
}


class VaultKeyError(RuntimeError):
    """The Vault secret is missing or lacks one of the keys."""


def keys_from_vault(client: Any, path: str, mount_point: str = "secret") -> dict[str, str]:
    """The keys as environment-variable names to values, from one KV v2 secret whose fields
    are `pseudonym_key`, `gate_key` and `at_rest_key`."""
    if not client.is_authenticated():
        raise VaultKeyError("Vault refused the token; check VAULT_TOKEN or the auth method")
    response = client.secrets.kv.v2.read_secret_version(
        path=path, mount_point=mount_point, raise_on_deleted_version=True
    )
    fields = response["data"]["data"]
    missing = [field for field in KEY_FIELDS.values() if not fields.get(field)]
    if missing:
        raise VaultKeyError(f"Vault secret {mount_point}/{path} lacks fields {missing}")
    return {variable: fields[field] for variable, field in KEY_FIELDS.items()}


def vault_client(address: str, token: str | None):
    import hvac

    return hvac.Client(url=address, token=token, timeout=10)
