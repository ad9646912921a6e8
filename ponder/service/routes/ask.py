"""``POST /v1/ask``: a question answered from a collection, as JSON or server-sent events."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, StreamingResponse

from ponder.service import rag, schemas
from ponder.service.auth import AUTH, principal_of
from ponder.service.container import Service, parse_budget
from ponder.service.errors import as_api_error
from ponder.service.errors import body as error_body
from ponder.service.prompt_limits import check_question, check_top_k
from ponder.service.streaming import STREAM_HEADERS, EmittingModel, run_with_events, sse, word_pieces
from ponder.usage import Usage


def router(service: Service) -> APIRouter:
    """The ask route of ``service``."""
    api = APIRouter(dependencies=AUTH, tags=["ask"])
    config = service.config

    def ask_blocking(body: schemas.AskRequest, emit: Callable[[dict], None] | None) -> dict:
        col = service.store.get(body.collection)
        method = body.method or config.default_method
        top_k = body.top_k or config.default_top_k  # None: the method's own default
        if top_k is not None:
            check_top_k(top_k, config.limits)
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

    @api.post("/v1/ask", response_model=schemas.AskResponse,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "JSON, or with `stream: true` server-sent events: "
                                              "`progress` (retrieval and model steps), `token` "
                                              "(answer text pieces), `done` (the full response), `error`."},
                         **schemas.errors(400, 401, 403, 404, 413, 422, 429, 503)})
    async def ask(body: schemas.AskRequest, request: Request):
        """Answer a question from a collection with citations and usage."""
        principal_of(request).require(body.collection)
        service.store.get(body.collection)
        check_question(body.question, config.limits)
        parse_budget(body.budget)
        if not body.stream:
            # returned as a Response: FastAPI skips re-validating what ask_blocking built
            return JSONResponse(await anyio.to_thread.run_sync(ask_blocking, body, None,
                                                               limiter=service.ask_limiter))

        async def events():
            async for ev in run_with_events(lambda emit: ask_blocking(body, emit), service.ask_limiter):
                if ev["type"] == "result":
                    for piece in word_pieces(ev["value"]["answer"]):
                        yield sse("token", {"text": piece})
                    yield sse("done", ev["value"])
                elif ev["type"] == "exception":
                    err = as_api_error(ev["error"])
                    yield sse("error", error_body(err.status, err.code, err.message, err.param, err.hint))
                else:
                    yield sse("progress", ev)

        return StreamingResponse(events(), media_type="text/event-stream", headers=STREAM_HEADERS)

    return api
