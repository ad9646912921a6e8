"""``ponder bench service``: the RAG service under concurrent load.

Starts a real ``ponder serve`` process on a free loopback port with its own temporary data dir,
ingests a small synthetic corpus, then runs ``clients`` concurrent clients posting ``/v1/ask``
for ``seconds`` seconds and reports requests, errors, latency percentiles and throughput.

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

from ponder.errors import ConfigError, EnvError

HOST = "127.0.0.1"  # the only address this load generator ever targets
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


def _toml(cfg: dict) -> str:
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return json.dumps(str(v))

    lines = [f"{k} = {val(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    for k, v in cfg.items():
        if isinstance(v, dict) and k != "models":
            lines.append(f"[{k}]")
            lines += [f"{kk} = {val(vv)}" for kk, vv in v.items()]
    for name, m in cfg.get("models", {}).items():
        lines.append(f'[models."{name}"]')
        lines += [f"{kk} = {val(vv)}" for kk, vv in m.items()]
    return "\n".join(lines) + "\n"


class _Server:
    def __init__(self, root: Path, cfg: dict):
        self.root, self.cfg = root, cfg
        self.url = f"http://{HOST}:{cfg['port']}"
        (root / "service.toml").write_text(_toml(cfg))
        self.log = open(root / "server.log", "wb")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "ponder.cli.main", "serve", "--config", str(root / "service.toml")],
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
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


class _Conn:
    """A minimal HTTP/1.1 keep-alive client for the load (httpx costs more CPU per request than
    the server does, which on a small machine would measure the client)."""

    def __init__(self, port: int, key: str):
        self.port, self.key = port, key
        self.reader = self.writer = None

    async def post(self, path: str, payload: dict, timeout: float) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        data = json.dumps(payload).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAuthorization: Bearer {self.key}\r\n"
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
           "limits": {"rate_per_minute": 0, "max_tokens": max_tokens, "commit_every": 256}, "models": models}
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
    finally:
        server.stop()
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
        "targets": {"errors": 0, "p95_ms": 250} if scripted else None,
    }
