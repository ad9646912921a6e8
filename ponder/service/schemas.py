"""Request and response bodies of the HTTP API (they generate the OpenAPI description)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ponder.graphs.qa_methods import METHODS

Method = Literal[METHODS]
IndexKind = Literal["hybrid", "dense", "sparse"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ErrorDetail(BaseModel):
    message: str = Field(description="What was wrong, and where.")
    type: str = Field(description="Error family, e.g. invalid_request_error, authentication_error.")
    code: str = Field(description="Machine-readable code, e.g. missing_api_key, forbidden_collection.")
    param: str | None = Field(None, description="The request field at fault, when there is one.")
    hint: str | None = Field(None, description="What to do about it.")


class ErrorResponse(BaseModel):
    """Every error the service returns (OpenAI-compatible shape)."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad request (e.g. a body that is not valid JSON)"},
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    403: {"model": ErrorResponse, "description": "The key may not use this collection, or the action is disabled"},
    404: {"model": ErrorResponse, "description": "No such collection, document, job or model"},
    409: {"model": ErrorResponse, "description": "Conflict (the collection exists)"},
    413: {"model": ErrorResponse, "description": "Request body over the configured limit"},
    422: {"model": ErrorResponse, "description": "Invalid body or parameters; `param` names the field"},
    429: {"model": ErrorResponse, "description": "Too many requests for this key (see Retry-After)"},
    500: {"model": ErrorResponse, "description": "Internal error"},
    503: {"model": ErrorResponse, "description": "A model, collection, document or the keys file is unavailable"},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: ERRORS[c] for c in codes}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- collections ---------------------------------------------------------------------------------
class CollectionCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN, description="1-64 of letters, digits, '_', '-', '.'")
    index: IndexKind | None = Field(None, description="Index kind (default: the service's `index` setting).")
    description: str = Field("", max_length=2000)


class CollectionInfo(BaseModel):
    name: str
    index: str
    description: str
    created: float
    updated: float
    generation: int = Field(description="Commit counter (0: empty).")
    documents: int
    chunks: int


class CollectionList(BaseModel):
    collections: list[CollectionInfo]


class Deleted(BaseModel):
    deleted: list[str]


# ---- documents and jobs --------------------------------------------------------------------------
class DocumentIn(Strict):
    id: str | None = Field(None, min_length=1, max_length=256, description="Document id (default: derived from content).")
    title: str | None = Field(None, max_length=1000)
    text: str | None = Field(None, description="The document text (or give `url`).")
    url: str | None = Field(None, max_length=2048, description="Fetched only when the service allows URL fetching.")
    format: Literal["text", "markdown", "html"] = "text"
    source: str | None = Field(None, max_length=2048)
    meta: dict[str, str | int | float | bool | None] | None = Field(None, description="Flat key-value metadata.")

    @model_validator(mode="after")
    def _one_body(self):
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of 'text' or 'url'")
        return self


class IngestRequest(Strict):
    documents: list[DocumentIn] = Field(min_length=1, max_length=10000)


class SkippedItem(BaseModel):
    name: str
    reason: str


class JobInfo(BaseModel):
    id: str
    collection: str
    state: Literal["queued", "running", "succeeded", "failed"]
    items: int = Field(description="Inputs submitted (a JSONL file is one input).")
    documents_total: int | None = Field(description="Documents parsed from the inputs (null until parsed).")
    documents_committed: int
    committed: list[str] = Field(description="Ids of documents durably committed so far.")
    chunks_committed: int
    skipped: list[SkippedItem]
    error: str | None
    created: float
    started: float | None
    finished: float | None
    resumed: int = Field(description="Times the job was resumed after a restart.")


class JobList(BaseModel):
    jobs: list[JobInfo]


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    chunks: int
    chars: int
    committed: float
    job: str | None


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    total: int
    offset: int
    limit: int


class DocumentOut(DocumentSummary):
    text: str
    meta: dict[str, Any]


# ---- asking -------------------------------------------------------------------------------------
class BudgetIn(Strict):
    calls: int | None = Field(None, ge=0)
    tokens: int | None = Field(None, ge=0)
    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
    retrievals: int | None = Field(None, ge=0)
    seconds: float | None = Field(None, ge=0)


class AskRequest(Strict):
    question: str = Field(min_length=1, description="The question.")
    collection: str = Field(pattern=NAME_PATTERN)
    method: Method | None = Field(None, description="Retrieval method (default: the service's `default_method`).")
    budget: BudgetIn | str | None = Field(
        None, description='Limits for this question: an object, or "calls=8,tokens=4000". Capped by the server.')
    top_k: int | None = Field(None, ge=1, description="Passages per retrieval.")
    stream: bool = Field(False, description="Answer as server-sent events (progress, token, done).")


class Citation(BaseModel):
    document: str = Field(description="Document id.")
    title: str
    source: str
    chunk: str = Field(description="Chunk id.")
    start: int = Field(description="Start of the chunk's span in the document text.")
    end: int
    text: str
    score: float


class AskResponse(BaseModel):
    answer: str = Field(description="The short answer.")
    raw: str = Field(description="The model's full reply the answer was taken from.")
    stop: str = Field(description="Why a multi-step method stopped ('' when it did not loop).")
    collection: str
    method: str
    citations: list[Citation]
    notes: list[str] = Field(default_factory=list, description="The method's notes (Adaptive-Note), if any.")
    steps: int
    usage: dict[str, float]
    seconds: float


class Health(BaseModel):
    """What ``/healthz`` shows anyone: counts and model names, no collection names or paths."""

    status: str
    version: str
    collections: int = Field(description="Collections loaded.")
    collections_unavailable: int = Field(description="Collections whose files are damaged (not loaded).")
    models: dict[str, bool] = Field(description="Served model -> loaded yet.")
    jobs_active: int
