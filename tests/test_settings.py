"""Configuration: the embedded default, production variables, and keys held by reference."""

import stat

import pytest

from deployments.settings import load_settings
from resources.keys import PrivacyKeys, SecretReferenceError, resolve_secret
from resources.vault import VaultKeyError, read_vault_field

KEY_VARIABLES = (
    "HYBRID_PSEUDONYM_KEY",
    "HYBRID_GATE_KEY",
    "HYBRID_AT_REST_KEY",
    "HYBRID_VAULT_ADDR",
    "HYBRID_CLOUD_STORE",
)
A_KEY = "cHNldWRvbnltLWtleS0zMi1ieXRlcy1sb25nLi4uLi4="


class RecordingVault:
    """Stands in for the Vault HTTP API, which cannot run here; records what was asked."""

    def __init__(self, fields: dict, authenticated: bool = True) -> None:
        self.fields, self.authenticated, self.requests = fields, authenticated, []
        self.secrets = self.kv = self.v2 = self

    def is_authenticated(self) -> bool:
        return self.authenticated

    def read_secret_version(self, **request):
        self.requests.append(request)
        return {"data": {"data": self.fields}}


@pytest.fixture
def clean_environment(monkeypatch):
    for variable in KEY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_embedded_default_generates_private_key_files_once(tmp_path, clean_environment):
    first = load_settings(tmp_path)
    second = load_settings(tmp_path)

    assert first == second
    assert first.pseudonym_key_ref == f"file:{tmp_path.resolve()}/onprem/keys/pseudonym.key"
    assert first.cloud_root == tmp_path.resolve() / "cloud"
    assert first.cloud_store == "dir"
    for key_file in (tmp_path / "onprem" / "keys").iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_resources_hold_references_never_keys(tmp_path, clean_environment):
    from deployments import edge

    defs = edge.build_definitions(load_settings(tmp_path))
    shown = repr(defs.resources["keys"]) + repr(defs.resources["onprem"])

    for key_file in (tmp_path / "onprem" / "keys").iterdir():
        assert key_file.read_text().strip() not in shown
    pseudonymizer = defs.resources["keys"].pseudonymizer()
    assert pseudonymizer.token("PERSON", "Ada") == pseudonymizer.token("PERSON", "ada")


def test_production_variables_switch_store_training_and_key_sources(tmp_path, clean_environment):
    clean_environment.setenv("HYBRID_CLOUD_STORE", "s3")
    clean_environment.setenv("HYBRID_S3_BUCKET", "corp-anonymized")
    clean_environment.setenv("HYBRID_S3_ENDPOINT_URL", "https://s3.example.internal")
    clean_environment.setenv("HYBRID_TRAINING_MODE", "kubernetes")
    clean_environment.setenv("HYBRID_TRAINING_NODE_SELECTOR", '{"hybrid.io/pool": "gpu"}')
    clean_environment.setenv("HYBRID_PSEUDONYM_KEY", A_KEY)

    settings = load_settings(tmp_path)

    assert (settings.cloud_store, settings.s3_bucket) == ("s3", "corp-anonymized")
    assert settings.s3_endpoint_url == "https://s3.example.internal"
    assert settings.training_mode == "kubernetes"
    assert settings.training_node_selector == {"hybrid.io/pool": "gpu"}
    assert settings.pseudonym_key_ref == "env:HYBRID_PSEUDONYM_KEY"
    assert resolve_secret(settings.pseudonym_key_ref, "key") == A_KEY
    assert not (tmp_path / "onprem" / "keys" / "pseudonym.key").exists()


def test_keys_are_read_from_vault_at_run_time(tmp_path, clean_environment):
    vault = RecordingVault({"pseudonym_key": A_KEY, "gate_key": A_KEY})
    clean_environment.setenv("HYBRID_VAULT_ADDR", "https://vault.example.internal")
    clean_environment.setenv("HYBRID_VAULT_PATH", "ml/edge")
    clean_environment.setattr("resources.vault.vault_client", lambda address, token: vault)

    settings = load_settings(tmp_path)
    assert vault.requests == []

    keys = PrivacyKeys(
        pseudonym_key_ref=settings.pseudonym_key_ref, gate_key_ref=settings.gate_key_ref
    )
    keys.pseudonymizer()

    assert settings.pseudonym_key_ref == "vault:secret/ml/edge#pseudonym_key"
    assert vault.requests == [
        {"path": "ml/edge", "mount_point": "secret", "raise_on_deleted_version": True}
    ]
    assert not (tmp_path / "onprem" / "keys").exists()


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (A_KEY, "must be a reference"),
        ("env:HYBRID_NOT_SET_ANYWHERE", "is not set"),
        ("file:/nonexistent/key", "cannot read key file"),
    ],
)
def test_bad_references_are_clear_errors_without_values(reference, message):
    with pytest.raises(SecretReferenceError, match=message) as refusal:
        resolve_secret(reference, "the pseudonym key")

    assert A_KEY not in str(refusal.value)


@pytest.mark.parametrize(
    ("vault", "message"),
    [
        (RecordingVault({"gate_key": A_KEY}), "has no field 'pseudonym_key'"),
        (RecordingVault({}, authenticated=False), "refused the token"),
    ],
)
def test_vault_problems_are_clear_errors(vault, message):
    with pytest.raises(VaultKeyError, match=message):
        read_vault_field("secret", "ml/edge", "pseudonym_key", client=vault)
