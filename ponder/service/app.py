"""The ASGI app: ``create_app(config)`` returns a FastAPI application.

Request path: :class:`Gate` (pure ASGI middleware) measures every request, refuses bodies over
``limits.max_body_bytes`` (413), authenticates ``/v1/`` requests by API key (401) and applies the
per-key rate limit (429); the routes then check the key's collections (403), validate bodies
(422, naming the field) and do the work. Blocking work (retrieval, model calls, disk commits)
runs in worker threads so the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import FastAPI, File, Query, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse

from ponder import __version__
from ponder.errors import PonderError
from ponder.service import rag, schemas
from ponder.service.config import ServiceConfig, load_config
from ponder.service.errors import ApiError, from_ponder, response, validation
from ponder.service.errors import body as error_body
from ponder.service.jobs import Jobs
from ponder.service.keys import KeyStore
from ponder.service.metrics import Metrics
from ponder.service.queue import ModelPool
from ponder.service.store import Embedders, Store
from ponder.usage import Budget, Usage

log = logging.getLogger("ponder.service")

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>` (what OpenAI clients send)")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Or the key in `X-API-Key`")


@dataclass
class Principal:
    """Who is calling: a key's id, name and allowed collections."""

    key_id: str
    name: str
    collections: list[str] = field(default_factory=list)

    def allows(self, collection: str) -> bool:
        return "*" in self.collections or collection in self.collections

    def require(self, collection: str) -> None:
        if not self.allows(collection):
            raise ApiError(403, "forbidden_collection", f"this API key may not use collection {collection!r}",
                           param="collection", hint="ask for a key that lists this collection")


ANONYMOUS = Principal("anonymous", "anonymous", ["*"])


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``per_minute``."""

    def __init__(self, per_minute: float, burst: int):
        self.rate = per_minute / 60.0
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 if allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


class Service:
    """Everything a request may need, built once per app."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.started = time.time()
        if config.torch_threads:
            import torch

            torch.set_num_threads(config.torch_threads)
        self.metrics = Metrics()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.keys = KeyStore(config.keys_path)
        self.embedders = Embedders(config.embedder)
        self.store = Store(config.data_dir, self.embedders, default_kind=config.index)
        self.models = ModelPool(config, self.metrics)
        self.limiter = RateLimiter(config.limits.rate_per_minute, config.limits.rate_burst)
        self.jobs = Jobs(
            config.data_dir, self.store, commit_every=config.limits.commit_every,
            max_workers=config.limits.max_workers,
            chunk_opts={"size": config.chunk_size, "overlap": config.chunk_overlap},
            fetch=self.fetch if config.allow_url_fetch else None,
            max_document_bytes=config.limits.max_document_bytes,
            on_commit=lambda col, n: self.metrics.inc("ponder_documents_committed_total", n, collection=col),
        )
        self.max_budget = Budget.parse(config.limits.max_budget)
        self.ask_limiter = None  # an anyio.CapacityLimiter, made in the app's event loop

    def fetch(self, url: str) -> tuple[str, bytes]:
        """Fetch a document URL (only called when ``allow_url_fetch`` is on)."""
        import httpx

        if not url.lower().startswith(("http://", "https://")):
            raise PonderError(f"only http(s) URLs can be fetched, not {url!r}")
        limit = self.config.limits.max_document_bytes
        try:
            with httpx.stream("GET", url, timeout=self.config.url_fetch_timeout, follow_redirects=True) as r:
                r.raise_for_status()
                data = b""
                for part in r.iter_bytes():
                    data += part
                    if len(data) > limit:
                        raise PonderError(f"{url} is over the {limit}-byte document limit")
                ctype = r.headers.get("content-type", "")
        except httpx.HTTPError as e:
            raise PonderError(f"fetching {url} failed: {e}") from e
        name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "index"
        if "html" in ctype and not name.lower().endswith((".html", ".htm")):
            name += ".html"
        elif "markdown" in ctype and not name.lower().endswith(".md"):
            name += ".md"
        elif "." not in name:
            name += ".txt"
        return name, data

    def budget_for(self, requested: Budget | None) -> Budget | None:
        """The request's budget, never above the server's ``limits.max_budget``."""
        if requested is None:
            return self.max_budget
        if self.max_budget is None:
            return requested
        cap, want = self.max_budget.limits(), requested.limits()
        merged = {k: min(v, cap[k]) if k in cap else v for k, v in want.items()}
        merged.update({k: v for k, v in cap.items() if k not in merged})
        return Budget(**merged)

    def principal_cached(self, key: str) -> Principal | None | bool:
        rec = self.keys.cached(key)
        return Principal(rec.id, rec.name, rec.collections) if rec else rec

    def principal_for(self, key: str | None) -> Principal | None:
        rec = self.keys.verify(key)
        return Principal(rec.id, rec.name, rec.collections) if rec else None

    def close(self) -> None:
        self.jobs.close()
        self.models.close()


# ---- middleware --------------------------------------------------------------------------------
def _key_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    for k, v in headers:
        if k == b"authorization":
            scheme, _, token = v.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif k == b"x-api-key" and v:
            return v.decode("latin-1").strip()
    return None


class Gate:
    """Metrics, body-size limit, API-key authentication and rate limiting, as ASGI middleware."""

    OPEN = ("/healthz", "/docs", "/redoc", "/openapi.json")

    def __init__(self, app, service: Service):
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapped(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        try:
            await self._handle(scope, receive, send_wrapped)
        except Exception as exc:  # noqa: BLE001 - answered here so the connection stays sound
            # letting it reach uvicorn would close the connection (clients see a reset)
            log.error("unhandled error on %s %s", scope["method"], scope["path"], exc_info=exc)
            if "sent" not in status:
                await response(ApiError(500, "internal_error", f"internal error: {type(exc).__name__}"))(
                    scope, receive, send_wrapped)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            svc = self.service
            svc.metrics.inc("ponder_requests_total", method=scope["method"], route=path, status=str(status["code"]))
            svc.metrics.observe("ponder_request_seconds", time.perf_counter() - start, route=path)

    async def _handle(self, scope, receive, send):
        svc = self.service
        cfg = svc.config
        path = scope["path"]
        state = scope.setdefault("state", {})
        guarded = path.startswith("/v1/") or path == "/v1" or (path == "/metrics" and not cfg.public_metrics)
        if guarded:
            if cfg.require_keys:
                key = _key_from_headers(scope["headers"])
                if key is None:
                    return await response(ApiError(401, "missing_api_key", "no API key given",
                                                   hint="send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                                                   headers={"WWW-Authenticate": "Bearer"}))(scope, receive, send)
                principal = svc.principal_cached(key)
                if principal is False:  # first sight of this key: scrypt, off the event loop
                    principal = await anyio.to_thread.run_sync(svc.principal_for, key)
                if principal is None:
                    return await response(ApiError(401, "invalid_api_key", "the API key is not valid (or was revoked)",
                                                   headers={"WWW-Authenticate": "Bearer"}))(scope, receive, send)
            else:
                principal = ANONYMOUS
            wait = svc.limiter.take(principal.key_id)
            if wait > 0:
                svc.metrics.inc("ponder_rate_limited_total")
                retry = max(1, int(wait + 0.999))
                return await response(ApiError(429, "rate_limited", f"too many requests for this key; retry in {retry} s",
                                               headers={"Retry-After": str(retry)}))(scope, receive, send)
            state["principal"] = principal
        # the body, bounded: refuse by Content-Length at once, or count while reading
        limit = cfg.limits.max_body_bytes
        for k, v in scope["headers"]:
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = 0
                if declared > limit:
                    return await self._too_large(scope, receive, send, limit)
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                part = message.get("body", b"")
                size += len(part)
                if size > limit:
                    return await self._too_large(scope, receive, send, limit)
                chunks.append(part)
                more = message.get("more_body", False)
            data = b"".join(chunks)
            replayed = False

            async def replay():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": data, "more_body": False}
                return await receive()

            return await self.app(scope, replay, send)
        return await self.app(scope, receive, send)

    async def _too_large(self, scope, receive, send, limit):
        err = ApiError(413, "body_too_large", f"the request body is over the {limit}-byte limit",
                       hint="send fewer or smaller documents per request (limits.max_body_bytes)")
        return await response(err)(scope, receive, send)


# ---- helpers used by the routes ----------------------------------------------------------------
def service_of(request: Request) -> Service:
    return request.app.state.service


def principal_of(request: Request) -> Principal:
    return request.scope.get("state", {}).get("principal") or ANONYMOUS


Auth = [Security(_bearer), Security(_header)]  # documents the schemes; the Gate does the checking


def parse_budget(value) -> Budget | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return Budget.parse(value)
        except PonderError as e:
            raise ApiError(422, "invalid_body", f"budget: {e.message}", param="budget", hint=e.hint) from e
    return Budget(**{k: v for k, v in value.model_dump().items() if v is not None})


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def run_with_events(fn: Callable[[Callable[[dict], None]], Any], limiter=None) -> AsyncIterator[dict]:
    """Run blocking ``fn(emit)`` in a thread; yield what it emits, then ``{"type": "result"}``."""
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()

    def emit(ev: dict) -> None:
        loop.call_soon_threadsafe(q.put_nowait, ev)

    task = asyncio.ensure_future(anyio.to_thread.run_sync(fn, emit, limiter=limiter))
    while True:
        getter = asyncio.ensure_future(q.get())
        done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            yield getter.result()
            continue
        getter.cancel()
        while not q.empty():
            yield q.get_nowait()
        exc = task.exception()
        yield {"type": "exception", "error": exc} if exc else {"type": "result", "value": task.result()}
        return


def word_pieces(text: str) -> list[str]:
    """Split an answer into streamable pieces that join back to the exact text."""
    pieces, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            pieces.append(cur)
            cur = ""
    if cur:
        pieces.append(cur)
    return pieces


class EmittingModel:
    """Wraps a model so each call reports a progress event (used when streaming)."""

    def __init__(self, model, emit: Callable[[dict], None]):
        self._model, self._emit = model, emit

    def __getattr__(self, name):
        return getattr(self._model, name)

    def generate(self, messages, **kw):
        return self.generate_batch([messages], **kw)[0]

    def generate_batch(self, batch, **kw):
        self._emit({"type": "generation", "model": self._model.name, "conversations": len(batch)})
        out = self._model.generate_batch(batch, **kw)
        self._emit({"type": "generated", "model": self._model.name,
                    "text": out[0][0].text[:500] if out and out[0] else ""})
        return out


# ---- the app -----------------------------------------------------------------------------------
def create_app(config: ServiceConfig | None = None, **overrides) -> FastAPI:
    """Build the service. ``config`` defaults to :func:`load_config` (file + environment)."""
    config = config or load_config(**overrides)
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        anyio.to_thread.current_default_thread_limiter().total_tokens = 64
        # questions beyond this many wait on the event loop (cheap) rather than as threads
        # fighting for the GIL; the model queue batches whatever is in flight
        service.ask_limiter = anyio.CapacityLimiter(config.limits.max_concurrent_asks)
        if config.preload:
            for name in config.model_names():
                await anyio.to_thread.run_sync(service.models.get, name)
        yield
        service.close()

    app = FastAPI(
        title="ponder RAG service",
        version=__version__,
        description=(
            "Question answering over your documents with ponder's retrieval methods, plus an "
            "OpenAI-compatible chat endpoint. Every `/v1/` call needs an API key "
            "(`Authorization: Bearer <key>` or `X-API-Key`). Errors are JSON: "
            '`{"error": {"message", "type", "code", "param", "hint"}}`.'
        ),
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(Gate, service=service)

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return response(exc)

    @app.exception_handler(PonderError)
    async def _ponder_error(request, exc: PonderError):
        return response(from_ponder(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        return response(validation(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return response(ApiError(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)))

    @app.exception_handler(Exception)
    async def _crash(request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return response(ApiError(500, "internal_error", f"internal error: {type(exc).__name__}"))

    # ---- health and metrics ----------------------------------------------------------------
    @app.get("/healthz", response_model=schemas.Health, tags=["service"])
    def healthz():
        """Liveness and what is loaded. Needs no key."""
        return schemas.Health(
            status="ok", version=__version__, collections=len(service.store.collections),
            models={n: n in service.models.queues for n in config.model_names()},
            jobs_active=service.jobs.active(), load_errors=service.store.load_errors,
        )

    @app.get("/metrics", response_class=PlainTextResponse, tags=["service"],
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
                        **schemas.errors(401, 429)})
    def metrics():
        """Prometheus metrics: requests, latencies, tokens, queue depth, ingestion."""
        service.metrics.set_gauge("ponder_ingest_jobs_active", service.jobs.active())
        service.metrics.set_gauge("ponder_collections", len(service.store.collections))
        for name, q in service.models.queues.items():
            service.metrics.set_gauge("ponder_queue_depth", q.depth, model=name)
        return PlainTextResponse(service.metrics.render(), media_type="text/plain; version=0.0.4")

    # ---- collections -----------------------------------------------------------------------
    @app.post("/v1/collections", status_code=201, response_model=schemas.CollectionInfo, tags=["collections"],
              dependencies=Auth, responses=schemas.errors(400, 401, 403, 409, 413, 422, 429))
    async def create_collection(body: schemas.CollectionCreate, request: Request):
        """Create an empty collection."""
        principal_of(request).require(body.name)
        col = await anyio.to_thread.run_sync(lambda: service.store.create(body.name, body.index, body.description))
        return col.info()

    @app.get("/v1/collections", response_model=schemas.CollectionList, tags=["collections"],
             dependencies=Auth, responses=schemas.errors(401, 429))
    def list_collections(request: Request):
        """The collections this key may use."""
        p = principal_of(request)
        return {"collections": [service.store.collections[n].info() for n in service.store.names() if p.allows(n)]}

    @app.get("/v1/collections/{name}", response_model=schemas.CollectionInfo, tags=["collections"],
             dependencies=Auth, responses=schemas.errors(401, 403, 404, 429))
    def get_collection(name: str, request: Request):
        """One collection's settings and size."""
        principal_of(request).require(name)
        return service.store.get(name).info()

    @app.delete("/v1/collections/{name}", response_model=schemas.Deleted, tags=["collections"],
                dependencies=Auth, responses=schemas.errors(401, 403, 404, 429))
    async def delete_collection(name: str, request: Request):
        """Delete a collection, its documents and index (jobs still running for it fail)."""
        principal_of(request).require(name)
        await anyio.to_thread.run_sync(service.store.delete, name)
        return {"deleted": [name]}

    # ---- documents -------------------------------------------------------------------------
    def _check_urls(docs: list[schemas.DocumentIn]) -> None:
        for i, d in enumerate(docs):
            if d.url is not None and not config.allow_url_fetch:
                raise ApiError(403, "url_fetch_disabled", "this service does not fetch URLs",
                               param=f"documents.{i}.url", hint="send the text itself, or set allow_url_fetch = true")

    @app.post("/v1/collections/{name}/documents", status_code=202, response_model=schemas.JobInfo,
              tags=["documents"], dependencies=Auth, responses=schemas.errors(400, 401, 403, 404, 413, 422, 429))
    async def add_documents(name: str, body: schemas.IngestRequest, request: Request):
        """Ingest documents given as JSON (text, Markdown or HTML; or URLs when allowed), as a
        background job. Poll ``GET /v1/jobs/{id}``: ``committed`` lists the durable documents."""
        principal_of(request).require(name)
        service.store.get(name)
        _check_urls(body.documents)
        items = []
        for d in body.documents:
            if d.url is not None:
                items.append({"kind": "url", "url": d.url, "id": d.id, "title": d.title, "meta": d.meta})
            else:
                items.append({"kind": "text", "text": d.text, "format": d.format, "id": d.id, "title": d.title,
                              "name": d.title or d.id or "document", "source": d.source, "meta": d.meta})
        job = await anyio.to_thread.run_sync(service.jobs.submit, name, items)
        return job.to_dict()

    @app.post("/v1/collections/{name}/files", status_code=202, response_model=schemas.JobInfo,
              tags=["documents"], dependencies=Auth, responses=schemas.errors(400, 401, 403, 404, 413, 422, 429))
    async def upload_files(name: str, request: Request,
                           files: Annotated[list[UploadFile], File(description="Text, Markdown, HTML or JSONL files")]):
        """Ingest uploaded files (multipart ``files``) as a background job. Files of other
        types, empty or binary files are skipped with a reason in the job status."""
        principal_of(request).require(name)
        service.store.get(name)
        items, blobs = [], {}
        for i, f in enumerate(files):
            fname = (f.filename or f"upload-{i}").replace("/", "_").replace("\\", "_")[-200:] or f"upload-{i}"
            blobs[f"{i:05d}"] = await f.read()
            items.append({"kind": "file", "name": fname, "path": f"{i:05d}"})
        job = await anyio.to_thread.run_sync(service.jobs.submit, name, items, blobs)
        return job.to_dict()

    @app.get("/v1/collections/{name}/documents", response_model=schemas.DocumentList, tags=["documents"],
             dependencies=Auth, responses=schemas.errors(401, 403, 404, 422, 429))
    def list_documents(name: str, request: Request, offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        """Committed documents, in commit order."""
        principal_of(request).require(name)
        col = service.store.get(name)
        docs = col.documents
        page = list(docs.items())[offset:offset + limit]
        rows = [{k: v for k, v in {**meta, "doc_id": did}.items() if k != "file"} for did, meta in page]
        return {"documents": rows, "total": len(docs), "offset": offset, "limit": limit}

    @app.get("/v1/collections/{name}/documents/{doc_id}", response_model=schemas.DocumentOut, tags=["documents"],
             dependencies=Auth, responses=schemas.errors(401, 403, 404, 429))
    def get_document(name: str, doc_id: str, request: Request):
        """One document with its text."""
        principal_of(request).require(name)
        return service.store.get(name).document(doc_id)

    @app.delete("/v1/collections/{name}/documents/{doc_id}", response_model=schemas.Deleted, tags=["documents"],
                dependencies=Auth, responses=schemas.errors(401, 403, 404, 429))
    async def delete_document(name: str, doc_id: str, request: Request):
        """Remove a document and its chunks (one atomic commit)."""
        principal_of(request).require(name)
        col = service.store.get(name)
        if doc_id not in col.documents:
            raise ApiError(404, "not_found", f"no document {doc_id!r} in collection {name!r}")
        gone = await anyio.to_thread.run_sync(col.delete_documents, [doc_id])
        return {"deleted": gone}

    # ---- jobs ------------------------------------------------------------------------------
    @app.get("/v1/jobs/{job_id}", response_model=schemas.JobInfo, tags=["documents"],
             dependencies=Auth, responses=schemas.errors(401, 403, 404, 429))
    def get_job(job_id: str, request: Request):
        """An ingest job's status."""
        job = service.jobs.get(job_id)
        principal_of(request).require(job.collection)
        return job.to_dict()

    @app.get("/v1/jobs", response_model=schemas.JobList, tags=["documents"],
             dependencies=Auth, responses=schemas.errors(401, 403, 422, 429))
    def list_jobs(request: Request, collection: Annotated[str | None, Query(max_length=64)] = None):
        """Ingest jobs (of one collection, or all this key may see)."""
        p = principal_of(request)
        if collection is not None:
            p.require(collection)
        jobs = [j.to_dict() for j in service.jobs.list(collection) if p.allows(j.collection)]
        return {"jobs": jobs}

    # ---- asking ----------------------------------------------------------------------------
    def _ask_blocking(body: schemas.AskRequest, emit: Callable[[dict], None] | None) -> dict:
        col = service.store.get(body.collection)
        method = body.method or config.default_method
        top_k = body.top_k or config.default_top_k
        if top_k > config.limits.max_top_k:
            raise ApiError(422, "invalid_body", f"top_k: at most {config.limits.max_top_k}", param="top_k")
        requested = parse_budget(body.budget)
        usage = Usage(service.budget_for(requested), name="ask")
        model = service.models.get(config.rag_model)
        if emit is not None:
            model = EmittingModel(model, emit)
            emit({"type": "started", "collection": col.name, "method": method, "model": config.rag_model})
        start = time.perf_counter()
        result = rag.answer(body.question, col, model=model, method=method, usage=usage, budget=requested,
                            top_k=top_k, emit=emit)
        used = getattr(result, "usage", None)
        used = used.to_dict() if hasattr(used, "to_dict") else (used or usage.to_dict())
        notes = getattr(result, "notes", None) or []
        steps = getattr(result, "steps", None)
        return {
            "answer": result.answer,
            "raw": getattr(result, "raw", "") or result.answer,
            "stop": getattr(result, "stop", "") or "",
            "collection": col.name,
            "method": method,
            "citations": rag.citations(col, getattr(result, "evidence", None)),
            "notes": [str(n) for n in (notes if isinstance(notes, list) else [notes])],
            "steps": len(steps) if isinstance(steps, list) else int(steps or 0),
            "usage": used,
            "seconds": round(time.perf_counter() - start, 4),
        }

    @app.post("/v1/ask", response_model=schemas.AskResponse, tags=["ask"], dependencies=Auth,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "JSON, or with `stream: true` server-sent events: "
                                              "`progress` (retrieval and model steps), `token` "
                                              "(answer text pieces), `done` (the full response), `error`."},
                         **schemas.errors(400, 401, 403, 404, 413, 422, 429, 503)})
    async def ask(body: schemas.AskRequest, request: Request):
        """Answer a question from a collection with citations and usage."""
        principal_of(request).require(body.collection)
        service.store.get(body.collection)
        if len(body.question) > config.limits.max_question_chars:
            raise ApiError(422, "invalid_body", f"question: longer than {config.limits.max_question_chars} characters",
                           param="question")
        parse_budget(body.budget)
        if not body.stream:
            # returned as a Response: FastAPI skips re-validating what _ask_blocking built
            return JSONResponse(await anyio.to_thread.run_sync(_ask_blocking, body, None,
                                                               limiter=service.ask_limiter))

        async def events():
            async for ev in run_with_events(lambda emit: _ask_blocking(body, emit), service.ask_limiter):
                if ev["type"] == "result":
                    for piece in word_pieces(ev["value"]["answer"]):
                        yield sse("token", {"text": piece})
                    yield sse("done", ev["value"])
                elif ev["type"] == "exception":
                    e = ev["error"]
                    err = e if isinstance(e, ApiError) else (from_ponder(e) if isinstance(e, PonderError) else
                                                             ApiError(500, "internal_error", f"internal error: {type(e).__name__}"))
                    if not isinstance(e, ApiError | PonderError):
                        log.error("ask stream failed", exc_info=e)
                    yield sse("error", error_body(err.status, err.code, err.message, err.param, err.hint))
                else:
                    yield sse("progress", ev)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    from ponder.service.openai_compat import register as register_openai

    register_openai(app, service, Auth)
    from ponder.service.page import register as register_page

    register_page(app)
    return app

