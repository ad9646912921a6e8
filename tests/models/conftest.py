"""Real backends for the contract suite: SmolLM2 through transformers, llama.cpp in-process, and
the official openai client against llama-cpp-python's own OpenAI-compatible server on loopback."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from ponder.models.registry import load_model, resolve, resolve_weights
from tests.conftest import free_port


@pytest.fixture(scope="session")
def smollm_gguf():
    return resolve_weights(resolve("smollm2-135m").source)


@pytest.fixture(scope="session")
def llama_server(smollm_gguf, tmp_path_factory):
    """``python -m llama_cpp.server`` serving SmolLM2 on a free loopback port."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is part of ponder[all]; make test installs it")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm_gguf), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2", "--logits_all", "true",
             "--n_threads", "1"],
            stdout=fh, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("llama_cpp.server did not start in 60 s")
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def _backend(kind: str, request):
    if kind == "scripted":
        from ponder.models.scripted import ScriptedChatModel

        words = "one two three four five six seven eight nine ten eleven twelve"
        return ScriptedChatModel(default=words)
    if kind == "transformers":
        return load_model("smollm2-135m")
    if kind == "llamacpp":
        pytest.importorskip("llama_cpp", reason="ponder[llamacpp] is installed by make test")
        return load_model("llamacpp:smollm2-135m")
    if kind == "openai":
        base = request.getfixturevalue("llama_server")
        return load_model(f"openai:smollm2@{base}")
    raise ValueError(kind)


BACKENDS = [
    "scripted",
    pytest.param("transformers", marks=pytest.mark.slow),
    pytest.param("llamacpp", marks=[pytest.mark.slow, pytest.mark.llamacpp]),
    pytest.param("openai", marks=[pytest.mark.slow, pytest.mark.llamacpp]),
]


@pytest.fixture(params=BACKENDS)
def model(request):
    return _backend(request.param, request)
