"""``ponder bench service``: the RAG service under concurrent load.

Starts a real ``ponder serve`` process on a free loopback port with its own temporary data dir,
ingests a small synthetic corpus, then runs ``clients`` concurrent clients posting ``/v1/ask``
for ``seconds`` seconds and reports requests, errors, latency percentiles and throughput.

Then it probes failed authentication: ``failed_auth_p50_ratio`` is the median latency of a
wrong secret for a real key id over that of an unknown id (100 of each, interleaved, every key
distinct; target <= 1.5: timing must not tell which ids exist), and ``failed_auth_429_share``
the share of 429s among 200 rapid wrong-secret requests from one client to a second server
with the default limits (target >= 0.5). The servers' configs are written as JSON.

The load generator is bounded: it only ever connects to 127.0.0.1 (the server it started),
stops issuing requests at the deadline or after ``max_requests``, and waits for in-flight
requests at most ``timeout`` seconds.

Options (``--set KEY=VALUE``): ``model`` (``scripted`` default, or a registry name such as
``smollm2-135m``), ``seconds`` (20), ``clients`` (32), ``method`` (single), ``index`` (sparse),
``embedder`` (for dense/hybrid), ``max_tokens`` (16: the cap per model call), ``latency``
(scripted model's seconds per batched call, 0), ``max_batch`` (8), ``docs`` (200),
``torch_threads`` (for local models; 1 on a busy shared machine), ``timeout`` (per request, 300).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ponder.errors import ConfigError, EnvError

HOST = "127.0.0.1"  # the only address this load generator ever targets
AUTH_PROBES = 100  # wrong-secret and unknown-id requests each, for failed_auth_p50_ratio
RAPID_FAILURES = 200  # wrong-secret requests for failed_auth_429_share
TOPICS = ["river", "mountain", "desert", "forest", "ocean", "glacier", "volcano", "island", "canyon", "lake"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def corpus(n: int) -> list[dict]:
    """Deterministic small documents, each naming a place, a topic and a code."""
    return [
        {"id": f"d{i}", "title": f"{TOPICS[i % len(TOPICS)].title()} {i}",
         "text": f"The {TOPICS[i % len(TOPICS)]} number {i} lies in region {i % 17}. "
                 f"Its survey code is {TOPICS[i % len(TOPICS)].upper()}-{i}. "
                 f"Visitors counted there last year: {i * 37 % 1000}."}
        for i in range(n)
    ]


def questions(n: int) -> list[str]:
    return [f"What is the survey code of {TOPICS[i % len(TOPICS)]} number {i}?" for i in range(n)]


class _Server:
    def __init__(self, root: Path, cfg: dict):
        self.root, self.cfg = root, cfg
        self.url = f"http://{HOST}:{cfg['port']}"
        (root / "service.json").write_text(json.dumps(cfg, indent=2))
        self.log = open(root / "server.log", "wb")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "ponder.cli.main", "serve", "--config", str(root / "service.json")],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvError(f"the service exited ({self.proc.returncode}): {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise EnvError(f"the service did not start within {timeout:g} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def _percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (linear interpolation; 0 for no values)."""
    return float(np.quantile(values, q)) if values else 0.0


class _Conn:
    """A minimal HTTP/1.1 keep-alive client for the load (httpx costs more CPU per request than
    the server does, which on a small machine would measure the client)."""

    def __init__(self, port: int, key: str):
        self.port, self.key = port, key
        self.reader = self.writer = None

    async def post(self, path: str, payload: dict, timeout: float) -> int:
        return await self.request("POST", path, payload, timeout)

    async def request(self, method: str, path: str, payload: dict | None, timeout: float, key: str | None = None) -> int:
        """Send one request (``key`` instead of the connection's own) and return its status."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        data = json.dumps(payload).encode() if payload is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAuthorization: Bearer {key or self.key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        self.writer.write(head + data)
        try:
            return await asyncio.wait_for(self._response(), timeout)
        except BaseException:
            self.close()
            raise

    async def _response(self) -> int:
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(port: int, key: str, *, clients: int, seconds: float, max_requests: int, timeout: float,
                body: dict, qs: list[str], progress=None) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal issued
        conn = _Conn(port, key)
        i = w
        while time.perf_counter() < deadline and issued < max_requests:
            issued += 1
            q = qs[i % len(qs)]
            i += clients
            t0 = time.perf_counter()
            try:
                status = await conn.post("/v1/ask", {**body, "question": q}, timeout)
                kind = None if status == 200 else f"http_{status}"
            except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as e:
                kind = type(e).__name__
            if kind is None:
                latencies.append(time.perf_counter() - t0)
            else:
                errors[kind] = errors.get(kind, 0) + 1
            if progress:
                progress()
        conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    return {"latencies": latencies, "errors": errors, "elapsed": time.perf_counter() - start}


def _wrong(key: str) -> str:
    """``key`` with a different, random secret (its id stays real)."""
    import secrets

    return key.split("_", 2)[0] + "_" + key.split("_", 2)[1] + "_" + secrets.token_urlsafe(32)


def _unknown() -> str:
    """A well-formed key whose id no record has."""
    import secrets

    return f"pk_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


async def _failed_auth_latencies(port: int, key: str, n: int, timeout: float) -> tuple[list[float], list[float]]:
    """Latencies of ``n`` wrong-secret requests for ``key``'s real id and ``n`` for unknown ids,
    interleaved on one connection (every key distinct, so no failure is answered from memory)."""
    conn, real, unknown = _Conn(port, key), [], []
    try:
        for i in range(2 * n):
            probe = _wrong(key) if i % 2 == 0 else _unknown()
            t0 = time.perf_counter()
            status = await conn.request("GET", "/v1/collections", None, timeout, key=probe)
            if status != 401:
                raise EnvError(f"bench service: a wrong key got {status}, not 401")
            (real if i % 2 == 0 else unknown).append(time.perf_counter() - t0)
    finally:
        conn.close()
    return real, unknown


async def _failed_auth_statuses(port: int, key: str, n: int, timeout: float) -> list[int]:
    """Statuses of ``n`` rapid wrong-secret requests (distinct secrets for ``key``'s id) from one client."""
    conn = _Conn(port, key)
    try:
        return [await conn.request("GET", "/v1/collections", None, timeout, key=_wrong(key)) for _ in range(n)]
    finally:
        conn.close()


def _default_limits_429_share(root: Path, key: str, n: int, timeout: float) -> float:
    """Share of 429s among ``n`` rapid wrong-secret requests to a server with the default limits."""
    cfg = {"host": HOST, "port": _free_port(), "data_dir": str(root / "data"), "rag_model": "scripted",
           "log_level": "warning", "index": "sparse", "models": {"scripted": {"kind": "scripted"}}}
    server = _Server(root, cfg)
    try:
        server.wait(timeout=180)
        statuses = asyncio.run(_failed_auth_statuses(cfg["port"], key, n, timeout))
    finally:
        server.stop()
    if set(statuses) - {401, 429}:
        raise EnvError(f"bench service: wrong keys got statuses {sorted(set(statuses))}")
    return statuses.count(429) / len(statuses)


def _scrape(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _hist_quantile(before: str, after: str, route: str, q: float) -> float | None:
    """A quantile of the server's own ``ponder_request_seconds`` histogram for ``route``,
    over the load only (bucket counts after minus before, linear within a bucket)."""
    def buckets(text):
        out = {}
        for line in text.splitlines():
            if line.startswith("ponder_request_seconds_bucket{") and f'route="{route}"' in line:
                le = re.search(r'le="([^"]+)"', line).group(1)
                out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
        return out

    b, a = buckets(before), buckets(after)
    bounds = sorted(a)
    counts = [a[x] - b.get(x, 0) for x in bounds]
    if not counts or counts[-1] <= 0:
        return None
    target, prev_bound, prev_count = q * counts[-1], 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= target:
            if bound == float("inf"):
                return prev_bound
            frac = (target - prev_count) / (count - prev_count) if count > prev_count else 1.0
            return prev_bound + (bound - prev_bound) * frac
        prev_bound, prev_count = bound, count
    return None


def run(*, quick: bool = False, model: str = "scripted", seconds: str | float | None = None, clients: str | int = 32,
        method: str = "single", index: str = "sparse", embedder: str | None = None, max_tokens: str | int = 16,
        latency: str | float = 0.0, max_batch: str | int = 8, docs: str | int = 200, max_requests: str | int = 200_000,
        timeout: str | float = 300.0, torch_threads: str | int | None = None, keep: str | bool = False,
        **unknown) -> dict:
    """Run the load and return its metrics (see the module docstring)."""
    if unknown:
        raise ConfigError(f"bench service: unknown option(s) {', '.join(sorted(unknown))}",
                          hint="model, seconds, clients, method, index, embedder, max_tokens, latency, max_batch, docs, "
                               "torch_threads, timeout")
    try:
        seconds = float(seconds if seconds is not None else (3 if quick else 20))
        clients, max_tokens, max_batch = int(clients), int(max_tokens), int(max_batch)
        docs, max_requests, timeout, latency = int(docs), int(max_requests), float(timeout), float(latency)
    except ValueError as e:
        raise ConfigError(f"bench service: {e}") from e
    if not (1 <= clients <= 256 and 0 < seconds <= 600 and max_requests >= 1):
        raise ConfigError("bench service: clients must be 1..256 and seconds 0..600")
    if not re.fullmatch(r"[\w.:/-]+", model):
        raise ConfigError(f"bench service: bad model name {model!r}")

    from rich.console import Console
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from ponder.service.keys import KeyStore

    root = Path(tempfile.mkdtemp(prefix="ponder-bench-service-"))
    scripted = model == "scripted"
    models = {"scripted": {"kind": "scripted", "latency": latency, "max_batch": max_batch,
                           "rules": [[r"survey code is ([A-Z]+-\d+)", r"\1"]], "default": "unknown"}} if scripted else \
             {model: {"kind": "registry", "max_batch": max_batch}}
    cfg = {"host": HOST, "port": _free_port(), "data_dir": str(root / "data"), "rag_model": model, "index": index,
           "log_level": "warning", "default_method": method, "preload": True,
           # no rate limits: the load measures the service, not its limits (the failed-auth 429
           # share is measured on a second server with the defaults)
           "limits": {"rate_per_minute": 0, "auth_failures_per_minute": 0, "max_tokens": max_tokens,
                      "commit_every": 256}, "models": models}
    if embedder:
        cfg["embedder"] = embedder
    if torch_threads:
        cfg["torch_threads"] = int(torch_threads)
    key, _ = KeyStore(root / "data" / "keys.json").create("bench", ["*"])
    server = _Server(root, cfg)
    try:
        import httpx

        server.wait(timeout=180)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout) as c:
            c.post("/v1/collections", json={"name": "bench"}).raise_for_status()
            job = c.post("/v1/collections/bench/documents", json={"documents": corpus(docs)}).json()
            deadline = time.monotonic() + 300
            while c.get(f"/v1/jobs/{job['id']}").json()["state"] not in ("succeeded", "failed"):
                if time.monotonic() > deadline:
                    raise EnvError("bench corpus ingest did not finish in 300 s")
                time.sleep(0.1)
            # one warm-up question (loads lazily built pieces: tokenizer caches, first batch)
            c.post("/v1/ask", json={"collection": "bench", "question": questions(1)[0]}).raise_for_status()
            before = c.get("/metrics").text

        with Progress(TextColumn("[bold]bench service[/] {task.description}"), TimeElapsedColumn(),
                      transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task("0 requests", total=None)
            count = {"n": 0}

            def tick():
                count["n"] += 1
                if count["n"] % 20 == 0:
                    bar.update(task, description=f"{count['n']} requests")

            out = asyncio.run(_load(cfg["port"], key, clients=clients, seconds=seconds, max_requests=max_requests,
                                    timeout=timeout, body={"collection": "bench"}, qs=questions(docs), progress=tick))
        after = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {key}"}).text
        # failed authentication: a wrong secret for a real key id must cost what an unknown id does
        real, unknown = asyncio.run(_failed_auth_latencies(cfg["port"], key, AUTH_PROBES, timeout))
    finally:
        server.stop()
    try:
        limited = root / "default-limits"
        limited_key, _ = KeyStore(limited / "data" / "keys.json").create("bench", ["*"])
        share_429 = _default_limits_429_share(limited, limited_key, RAPID_FAILURES, timeout)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)

    lat = out["latencies"]
    errors = sum(out["errors"].values())
    batches = _scrape(after, "ponder_model_batch_size_count") - _scrape(before, "ponder_model_batch_size_count")
    conversations = _scrape(after, "ponder_model_batch_size_sum") - _scrape(before, "ponder_model_batch_size_sum")
    return {
        "model": model,
        "method": method,
        "index": index,
        "clients": clients,
        "seconds": round(out["elapsed"], 2),
        "requests": len(lat) + errors,
        "errors": errors,
        "error_kinds": out["errors"],
        "p50_ms": round(_percentile(lat, 0.5) * 1000, 1),
        "p95_ms": round(_percentile(lat, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(lat, 0.99) * 1000, 1),
        "rps": round(len(lat) / out["elapsed"], 2) if out["elapsed"] else 0.0,
        "mean_batch": round(conversations / batches, 2) if batches else 0.0,
        # the server's own view (its latency histogram): what the client adds is queueing in
        # the load generator and the OS scheduler
        "server_p50_ms": round((_hist_quantile(before, after, "/v1/ask", 0.5) or 0) * 1000, 1),
        "server_p95_ms": round((_hist_quantile(before, after, "/v1/ask", 0.95) or 0) * 1000, 1),
        "max_tokens": max_tokens,
        # p50 of a wrong secret for a real key id over p50 of an unknown id (timing must not
        # tell which ids exist), and the share of 429s among RAPID_FAILURES wrong-secret requests
        # from one client with the default limits
        "failed_auth_p50_ratio": round(_percentile(real, 0.5) / _percentile(unknown, 0.5), 3),
        "failed_auth_p50_ms": round(_percentile(real, 0.5) * 1000, 3),
        "unknown_id_p50_ms": round(_percentile(unknown, 0.5) * 1000, 3),
        "failed_auth_429_share": round(share_429, 3),
        "targets": {"errors": 0, "p95_ms": 250, "failed_auth_p50_ratio": 1.5, "failed_auth_429_share": 0.5}
        if scripted else {"failed_auth_p50_ratio": 1.5, "failed_auth_429_share": 0.5},
    }
