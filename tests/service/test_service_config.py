"""Service configuration (file + environment) and the key store."""

from __future__ import annotations

import json

import pytest

from ponder.errors import ConfigError
from ponder.service.config import load_config
from ponder.service.keys import KeyStore


def test_defaults_are_safe(tmp_path):
    cfg = load_config(environ={}, data_dir=str(tmp_path))
    assert cfg.host == "127.0.0.1" and cfg.require_keys and not cfg.allow_url_fetch
    assert cfg.keys_path == tmp_path / "keys.json"


def test_file_then_environment_then_overrides(tmp_path):
    path = tmp_path / "svc.toml"
    path.write_text('port = 9000\nrag_model = "scripted"\n[models.scripted]\nkind = "scripted"\n[limits]\nrate_burst = 5\n')
    env = {"PONDER_SERVICE_PORT": "9001", "PONDER_SERVICE_LIMITS__RATE_PER_MINUTE": "0",
           "PONDER_SERVICE_ALLOW_URL_FETCH": "true"}
    cfg = load_config(path, environ=env, host="0.0.0.0")
    assert (cfg.port, cfg.host, cfg.allow_url_fetch) == (9001, "0.0.0.0", True)
    assert cfg.limits.rate_per_minute == 0 and cfg.limits.rate_burst == 5
    assert cfg.models["scripted"].kind == "scripted"
    yaml_path = tmp_path / "svc.yaml"
    yaml_path.write_text("service:\n  port: 9100\n")
    assert load_config(yaml_path, environ={}).port == 9100


def test_bad_config_names_file_and_field(tmp_path):
    path = tmp_path / "svc.toml"
    path.write_text("[limits]\nrate_burst = 0\n")
    with pytest.raises(ConfigError, match=r"svc.toml.*limits.rate_burst"):
        load_config(path, environ={})
    path.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_config(path, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", environ={})


def test_keys_are_stored_hashed_scoped_and_revocable(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    key, rec = store.create("team", ["alpha", "beta"])
    raw = (tmp_path / "keys.json").read_text()
    assert key.split("_", 2)[2] not in raw and rec.hash in raw
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    again = KeyStore(tmp_path / "keys.json").verify(key)  # a fresh process verifies from the file
    assert again.id == rec.id and again.allows("alpha") and not again.allows("gamma")
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify("not-a-key") is None and store.verify(None) is None
    assert store.verify(key) is not None
    KeyStore(tmp_path / "keys.json").revoke(rec.id)  # another process revokes it
    assert store.verify(key) is None
    assert json.loads((tmp_path / "keys.json").read_text())["keys"][0]["revoked"] is True
    with pytest.raises(ConfigError):
        store.create("nobody", [])
