from llmops_common.settings import CommonSettings
from llmops_registry.settings import RegistrySettings


def test_service_prefix_wins_over_shared_prefix(monkeypatch):
    monkeypatch.setenv("LLMOPS_NATS_URL", "nats://shared:4222")
    monkeypatch.setenv("LLMOPS_REGISTRY_NATS_URL", "nats://own:4222")
    monkeypatch.setenv("LLMOPS_POSTGRES_DSN", "postgresql://x@db/llmops")
    settings = RegistrySettings()
    assert settings.nats_url == "nats://own:4222"
    assert settings.postgres_dsn == "postgresql://x@db/llmops"
    assert CommonSettings().nats_url == "nats://shared:4222"


def test_defaults_and_schema(monkeypatch):
    for var in ("LLMOPS_REGISTRY_GRPC_PORT", "LLMOPS_GRPC_PORT"):
        monkeypatch.delenv(var, raising=False)
    settings = RegistrySettings()
    assert settings.grpc_port == 50055
    assert settings.postgres_schema == "registry"
    assert "LLMOPS_REGISTRY_GRPC_PORT" in RegistrySettings.env_names()
    assert "LLMOPS_NATS_URL" in RegistrySettings.env_names()


def test_unix_socket_dsn_is_accepted(monkeypatch):
    monkeypatch.setenv("LLMOPS_POSTGRES_DSN", "host=/var/run/postgresql dbname=llmops user=postgres")
    assert RegistrySettings().postgres_dsn.startswith("host=/var/run/postgresql")
