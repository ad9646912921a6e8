"""Helpers: a real ``ponder serve`` process on a free loopback port, for the service tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ponder.service.keys import KeyStore

ROOT = Path(__file__).resolve().parents[2]

#: the scripted model behind most tests: it "reads" the secret code out of retrieved context
SCRIPTED = {
    "kind": "scripted",
    "rules": [[r"secret code is ([A-Z]+-\d+)", r"The code is \1."]],
    "default": "I don't know.",
    "latency": 0.0,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One ``ponder serve`` subprocess with its own data dir, config and keys."""

    def __init__(self, root: Path, **overrides):
        self.root = root
        self.data_dir = root / "data"
        self.port = free_port()
        # no rate limits unless a test sets them (many tests make requests in quick succession),
        # or the service's own defaults with default_limits=True
        unlimited = {} if overrides.pop("default_limits", False) else {"rate_per_minute": 0, "auth_failures_per_minute": 0}
        limits = {**unlimited, "commit_every": 8, **overrides.pop("limits", {})}
        self.cfg = {
            "host": "127.0.0.1", "port": self.port, "data_dir": str(self.data_dir),
            "rag_model": "scripted", "index": "sparse", "log_level": "warning",
            "models": {"scripted": dict(SCRIPTED)}, "limits": limits, **overrides,
        }
        self.config_path = root / "service.json"
        self.config_path.write_text(json.dumps(self.cfg))
        store = KeyStore(self.data_dir / "keys.json")
        self.admin_key, _ = store.create("admin", ["*"])
        self.key_a, _ = store.create("team-a", ["alpha", "shared"])
        self.key_b, _ = store.create("team-b", ["beta"])
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "server.log"

    def start(self, timeout: float = 60.0) -> Server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
        self._logfh = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ponder.cli.main", "serve", "--config", str(self.config_path)],
            cwd=ROOT, env=env, stdout=self._logfh, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "_logfh", None):
            self._logfh.close()

    def client(self, key: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 30.0), **kw)

    def wait_job(self, client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = client.get(f"/v1/jobs/{job_id}")
            assert r.status_code == 200, r.text
            job = r.json()
            if job["state"] in ("succeeded", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} not finished in {timeout} s: {job}")


def make_docs(n: int, *, prefix: str = "doc") -> list[dict]:
    """``n`` distinct small documents; document i says its code is CODE-i."""
    topics = ["rivers", "mountains", "deserts", "forests", "oceans", "glaciers", "volcanoes", "islands"]
    return [
        {"id": f"{prefix}-{i}", "title": f"{prefix} {i}",
         "text": f"Document {i} is about {topics[i % len(topics)]} number {i}. "
                 f"Its catalogue entry {prefix}{i} lists {i * 7} items and the archive tag T{i}."}
        for i in range(n)
    ]


def broken_model(**_options):
    """A model factory (``kind = "factory"``) whose every call fails, to test error handling."""
    from ponder.models.scripted import ScriptedChatModel

    def fail(messages):
        raise RuntimeError("the backend crashed")

    return ScriptedChatModel(default=fail, name="broken")
