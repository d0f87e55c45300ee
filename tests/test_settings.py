"""Configuration: the embedded default, production variables and keys from Vault."""

import stat

import pytest

from deployments.settings import load_settings
from deployments.vault import VaultKeyError, keys_from_vault


class RecordingVault:
    """Stands in for the Vault HTTP API, which cannot run here; records what was asked."""

    def __init__(self, fields: dict, authenticated: bool = True) -> None:
        self.fields, self.authenticated, self.requests = fields, authenticated, []
        self.secrets = self
        self.kv = self
        self.v2 = self

    def is_authenticated(self) -> bool:
        return self.authenticated

    def read_secret_version(self, **request):
        self.requests.append(request)
        return {"data": {"data": self.fields}}


def test_embedded_default_generates_private_keys_once(tmp_path, monkeypatch):
    for variable in (
        "HYBRID_PSEUDONYM_KEY",
        "HYBRID_GATE_KEY",
        "HYBRID_AT_REST_KEY",
        "HYBRID_VAULT_ADDR",
        "HYBRID_CLOUD_STORE",
    ):
        monkeypatch.delenv(variable, raising=False)

    first = load_settings(tmp_path)
    second = load_settings(tmp_path)

    assert first.pseudonym_key == second.pseudonym_key
    assert first.at_rest_key == second.at_rest_key
    assert first.cloud_root == tmp_path.resolve() / "cloud"
    assert first.cloud_store == "dir"
    for key_file in (tmp_path / "onprem" / "keys").iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_production_variables_switch_store_ray_and_training(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_CLOUD_STORE", "s3")
    monkeypatch.setenv("HYBRID_S3_BUCKET", "corp-anonymized")
    monkeypatch.setenv("HYBRID_S3_ENDPOINT_URL", "https://s3.example.internal")
    monkeypatch.setenv("HYBRID_TRAINING_MODE", "kubernetes")
    monkeypatch.setenv("HYBRID_TRAINING_NODE_SELECTOR", '{"hybrid.io/pool": "gpu"}')
    monkeypatch.setenv("HYBRID_PSEUDONYM_KEY", "cHNldWRvbnltLWtleS0zMi1ieXRlcy1sb25nLi4uLi4=")

    settings = load_settings(tmp_path)

    assert (settings.cloud_store, settings.s3_bucket) == ("s3", "corp-anonymized")
    assert settings.s3_endpoint_url == "https://s3.example.internal"
    assert settings.training_mode == "kubernetes"
    assert settings.training_node_selector == {"hybrid.io/pool": "gpu"}
    assert settings.pseudonym_key.startswith("cHNldWRvbnlt")
    assert not (tmp_path / "onprem" / "keys" / "pseudonym.key").exists()


def test_keys_come_from_vault_when_configured(tmp_path, monkeypatch):
    vault = RecordingVault(
        {"pseudonym_key": "p" * 44, "gate_key": "g" * 44, "at_rest_key": "a" * 44}
    )
    monkeypatch.setenv("HYBRID_VAULT_ADDR", "https://vault.example.internal")
    monkeypatch.setenv("HYBRID_VAULT_PATH", "ml/edge")
    monkeypatch.setattr("deployments.vault.vault_client", lambda address, token: vault)

    settings = load_settings(tmp_path)

    assert vault.requests == [
        {"path": "ml/edge", "mount_point": "secret", "raise_on_deleted_version": True}
    ]
    assert (settings.pseudonym_key, settings.gate_key, settings.at_rest_key) == (
        "p" * 44,
        "g" * 44,
        "a" * 44,
    )
    assert not (tmp_path / "onprem" / "keys").exists()


@pytest.mark.parametrize(
    ("vault", "message"),
    [
        (RecordingVault({"pseudonym_key": "p", "gate_key": "g"}), "lacks fields"),
        (RecordingVault({}, authenticated=False), "refused the token"),
    ],
)
def test_vault_problems_are_clear_errors(vault, message):
    with pytest.raises(VaultKeyError, match=message):
        keys_from_vault(vault, "ml/edge")
