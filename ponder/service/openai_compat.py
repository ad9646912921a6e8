"""The OpenAI-compatible endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Model names:

- ``ponder-rag/<collection>``: the last user message is the question; it is answered from the
  collection with the service's default method (or ``ponder.method`` in the request's
  ``metadata``), and the reply carries the citations in an extra ``ponder`` field.
- any served model name (``GET /v1/models``): the conversation goes to that model directly.

``stream: true`` answers with ``chat.completion.chunk`` events and ``data: [DONE]``, as the
official clients expect; ``stream_options.include_usage`` adds the final usage chunk.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from ponder.errors import PonderError
from ponder.graphs.qa_methods import METHODS
from ponder.service import rag, schemas
from ponder.service.auth import AUTH, principal_of
from ponder.service.container import Service
from ponder.service.errors import ApiError, as_api_error
from ponder.service.errors import body as error_body
from ponder.service.prompt_limits import check_conversation, check_question
from ponder.service.streaming import EmittingModel, run_with_events, sse, word_pieces
from ponder.usage import Budget, Usage

RAG_PREFIX = "ponder-rag/"


def _closed_schema(schema: dict) -> None:
    # Other fields are accepted and ignored, as OpenAI-compatible servers do, but the published
    # schema lists only the fields that matter (open objects make schema fuzzers generate
    # arbitrary nested JSON for no gain).
    schema.pop("additionalProperties", None)


OPEN = ConfigDict(extra="allow", json_schema_extra=_closed_schema)


class ContentPart(BaseModel):
    model_config = OPEN
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = OPEN
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content or [] if p.type == "text")


class StreamOptions(BaseModel):
    model_config = OPEN
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The subset of OpenAI's chat-completions request the service uses (other fields are accepted
    and ignored, as OpenAI-compatible servers do)."""

    model_config = OPEN
    model: str = Field(min_length=1, description="A served model name, or ponder-rag/<collection>.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    n: int = Field(1, ge=1, le=8)
    stop: str | list[str] | None = None
    seed: int | None = None
    metadata: dict[str, str] | None = Field(None, description="`ponder.method`, `ponder.top_k`, `ponder.budget` for RAG models.")


class ChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: ChoiceMessage
    finish_reason: str
    logprobs: None = None


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    ponder: dict[str, Any] | None = Field(None, description="For ponder-rag models: citations and full usage.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelListing(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None, index: int = 0) -> bytes:
    data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}]}
    return sse(None, data)


def _question(body: ChatRequest) -> str:
    """What a ``ponder-rag/`` model answers: the last user message."""
    return next((m.text() for m in reversed(body.messages) if m.role == "user"), "")


def router(service: Service) -> APIRouter:
    """The OpenAI-compatible routes of ``service``."""
    api = APIRouter(dependencies=AUTH, tags=["openai"])
    config = service.config

    def cards(request: Request) -> list[dict]:
        p = principal_of(request)
        created = int(service.started)
        out = [{"id": n, "object": "model", "created": created, "owned_by": "ponder"} for n in config.model_names()]
        out += [{"id": RAG_PREFIX + c, "object": "model", "created": created, "owned_by": "ponder"}
                for c in service.store.names() if p.allows(c)]
        return out

    @api.get("/v1/models", response_model=ModelListing, responses=schemas.errors(401, 429, 503))
    def list_models(request: Request):
        """Served models and one ``ponder-rag/<collection>`` per collection this key may use."""
        return {"object": "list", "data": cards(request)}

    @api.get("/v1/models/{model_id:path}", response_model=ModelCard, responses=schemas.errors(401, 403, 404, 429, 503))
    def get_model(model_id: str, request: Request):
        """One model card."""
        if model_id.startswith(RAG_PREFIX):
            principal_of(request).require(model_id[len(RAG_PREFIX):])
        for card in cards(request):
            if card["id"] == model_id:
                return card
        raise ApiError(404, "model_not_found", f"model {model_id!r} is not served here", param="model")

    def run_chat(body: ChatRequest, emit=None) -> dict:
        max_tokens = min(body.max_completion_tokens or body.max_tokens or config.limits.max_tokens,
                         config.limits.max_tokens)
        if body.model.startswith(RAG_PREFIX):
            name = body.model[len(RAG_PREFIX):]
            col = service.store.get(name)
            question = _question(body)
            if not question.strip():
                raise ApiError(422, "invalid_body", "messages: no user message with text to answer", param="messages")
            meta = body.metadata or {}
            method = meta.get("ponder.method") or config.default_method
            if method not in METHODS:
                raise ApiError(422, "invalid_body", f"metadata.ponder.method: {method!r} is not one of {', '.join(METHODS)}",
                               param="metadata")
            try:
                given = meta.get("ponder.top_k") or config.default_top_k
                top_k = None if given is None else int(given)  # None: the method's own default
                requested = Budget.parse(meta.get("ponder.budget"))
            except (ValueError, PonderError) as e:
                raise ApiError(422, "invalid_body", f"metadata: {e}", param="metadata") from e
            if top_k is not None:
                top_k = max(1, min(top_k, config.limits.max_top_k))
            usage = Usage(service.budget_for(requested), name="chat")
            model = service.models.get(config.rag_model)
            if emit is not None:
                model = EmittingModel(model, emit)
            result = rag.answer(question, col, model=model, method=method, usage=usage, budget=requested,
                                top_k=top_k, emit=emit)
            used = getattr(result, "usage", None)
            used = used.to_dict() if hasattr(used, "to_dict") else (used or usage.to_dict())
            texts = [(result.answer, "stop")]
            extra = {"collection": name, "method": method, "citations": rag.citations(col, getattr(result, "evidence", None)),
                     "usage": used}
            return {"texts": texts, "prompt": int(used.get("prompt_tokens", 0)),
                    "completion": int(used.get("completion_tokens", 0)), "ponder": extra}
        model = service.models.get(body.model)
        messages = []
        for m in body.messages:
            role = {"developer": "system", "tool": "user"}.get(m.role, m.role)
            messages.append({"role": role, "content": m.text()})
        stop = [body.stop] if isinstance(body.stop, str) else body.stop
        usage = Usage(Budget(tokens=service.max_budget.tokens) if service.max_budget and service.max_budget.tokens else None)
        temperature = body.temperature if body.temperature is not None else (0.8 if body.n > 1 else 0.0)
        outs = model.generate(messages, n=body.n, temperature=temperature, max_tokens=max_tokens, stop=stop,
                              seed=body.seed, usage=usage)
        return {"texts": [(c.text, c.finish_reason) for c in outs], "prompt": int(usage.prompt_tokens),
                "completion": int(usage.completion_tokens), "ponder": None}

    def check(body: ChatRequest, request: Request) -> None:
        if len(body.messages) > config.limits.max_messages:
            raise ApiError(422, "invalid_body", f"messages: at most {config.limits.max_messages}", param="messages")
        if body.model.startswith(RAG_PREFIX):
            name = body.model[len(RAG_PREFIX):]
            principal_of(request).require(name)
            service.store.get(name)
            if body.n != 1:
                raise ApiError(422, "invalid_body", "n: ponder-rag models give one answer (n = 1)", param="n")
            check_question(_question(body), config.limits, param="messages")
        elif body.model not in config.model_names():
            raise ApiError(404, "model_not_found", f"model {body.model!r} is not served here", param="model",
                           hint="GET /v1/models lists them")
        else:
            check_conversation([m.text() for m in body.messages], config.limits)

    @api.post("/v1/chat/completions", response_model=ChatCompletion,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "A chat completion, or with `stream: true` chat.completion.chunk events."},
                         **schemas.errors(400, 401, 403, 404, 413, 422, 429, 503)})
    async def chat_completions(body: ChatRequest, request: Request):
        """OpenAI-compatible chat completions (the official clients work unchanged)."""
        check(body, request)
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        if not body.stream:
            out = await anyio.to_thread.run_sync(run_chat, body, limiter=service.ask_limiter)
            return {
                "id": cid, "object": "chat.completion", "created": created, "model": body.model,
                "choices": [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": f, "logprobs": None}
                            for i, (t, f) in enumerate(out["texts"])],
                "usage": {"prompt_tokens": out["prompt"], "completion_tokens": out["completion"],
                          "total_tokens": out["prompt"] + out["completion"]},
                "ponder": out["ponder"],
            }

        async def events():
            for i in range(body.n):
                yield _chunk(cid, created, body.model, {"role": "assistant", "content": ""}, index=i)
            async for ev in run_with_events(lambda emit: run_chat(body, emit), service.ask_limiter):
                if ev["type"] == "exception":
                    err = as_api_error(ev["error"])
                    yield sse(None, error_body(err.status, err.code, err.message, err.param, err.hint))
                    break
                if ev["type"] != "result":
                    continue  # progress events have no place in the OpenAI stream format
                out = ev["value"]
                for i, (text, finish) in enumerate(out["texts"]):
                    for piece in word_pieces(text):
                        yield _chunk(cid, created, body.model, {"content": piece}, index=i)
                    yield _chunk(cid, created, body.model, {}, finish, index=i)
                if body.stream_options and body.stream_options.include_usage:
                    data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model,
                            "choices": [], "usage": {"prompt_tokens": out["prompt"], "completion_tokens": out["completion"],
                                                     "total_tokens": out["prompt"] + out["completion"]}}
                    yield sse(None, data)
            yield sse(None, "[DONE]")

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return api
