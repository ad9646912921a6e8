"""Collections, their documents and ingest jobs (``/v1/collections...``, ``/v1/jobs...``)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, File, Query, Request, UploadFile

from ponder.service import schemas
from ponder.service.auth import AUTH, principal_of
from ponder.service.container import Service
from ponder.service.errors import ApiError


def router(service: Service) -> APIRouter:
    """The collection, document and job routes of ``service``."""
    api = APIRouter(dependencies=AUTH)
    config = service.config

    # ---- collections -----------------------------------------------------------------------
    @api.post("/v1/collections", status_code=201, response_model=schemas.CollectionInfo, tags=["collections"],
              responses=schemas.errors(400, 401, 403, 409, 413, 422, 429, 503))
    async def create_collection(body: schemas.CollectionCreate, request: Request):
        """Create an empty collection."""
        principal_of(request).require(body.name)
        col = await anyio.to_thread.run_sync(lambda: service.store.create(body.name, body.index, body.description))
        return col.info()

    @api.get("/v1/collections", response_model=schemas.CollectionList, tags=["collections"],
             responses=schemas.errors(401, 429, 503))
    def list_collections(request: Request):
        """The collections this key may use."""
        p = principal_of(request)
        return {"collections": [service.store.collections[n].info() for n in service.store.names() if p.allows(n)]}

    @api.get("/v1/collections/{name}", response_model=schemas.CollectionInfo, tags=["collections"],
             responses=schemas.errors(401, 403, 404, 429, 503))
    def get_collection(name: str, request: Request):
        """One collection's settings and size (503 ``collection_unavailable`` when its files are
        damaged: the message says what is wrong, the hint how to get the name back)."""
        principal_of(request).require(name)
        return service.store.get(name).info()

    @api.delete("/v1/collections/{name}", response_model=schemas.Deleted, tags=["collections"],
                responses=schemas.errors(401, 403, 404, 429, 503))
    async def delete_collection(name: str, request: Request):
        """Delete a collection, its documents and index (jobs still running for it fail). A
        damaged collection is set aside under ``damaged/`` in the data directory instead."""
        principal_of(request).require(name)
        await anyio.to_thread.run_sync(service.store.delete, name)
        return {"deleted": [name]}

    # ---- documents -------------------------------------------------------------------------
    def check_urls(docs: list[schemas.DocumentIn]) -> None:
        for i, d in enumerate(docs):
            if d.url is not None and not config.allow_url_fetch:
                raise ApiError(403, "url_fetch_disabled", "this service does not fetch URLs",
                               param=f"documents.{i}.url", hint="send the text itself, or set allow_url_fetch = true")

    @api.post("/v1/collections/{name}/documents", status_code=202, response_model=schemas.JobInfo,
              tags=["documents"], responses=schemas.errors(400, 401, 403, 404, 413, 422, 429, 503))
    async def add_documents(name: str, body: schemas.IngestRequest, request: Request):
        """Ingest documents given as JSON (text, Markdown or HTML; or URLs when allowed), as a
        background job. Poll ``GET /v1/jobs/{id}``: ``committed`` lists the durable documents."""
        principal_of(request).require(name)
        service.store.get(name)
        check_urls(body.documents)
        items = []
        for d in body.documents:
            if d.url is not None:
                items.append({"kind": "url", "url": d.url, "id": d.id, "title": d.title, "meta": d.meta})
            else:
                items.append({"kind": "text", "text": d.text, "format": d.format, "id": d.id, "title": d.title,
                              "name": d.title or d.id or "document", "source": d.source, "meta": d.meta})
        job = await anyio.to_thread.run_sync(service.jobs.submit, name, items)
        return job.to_dict()

    @api.post("/v1/collections/{name}/files", status_code=202, response_model=schemas.JobInfo,
              tags=["documents"], responses=schemas.errors(400, 401, 403, 404, 413, 422, 429, 503))
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

    @api.get("/v1/collections/{name}/documents", response_model=schemas.DocumentList, tags=["documents"],
             responses=schemas.errors(401, 403, 404, 422, 429, 503))
    def list_documents(name: str, request: Request, offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        """Committed documents, in commit order."""
        principal_of(request).require(name)
        docs = service.store.get(name).documents
        page = list(docs.items())[offset:offset + limit]
        rows = [{k: v for k, v in {**meta, "doc_id": did}.items() if k != "file"} for did, meta in page]
        return {"documents": rows, "total": len(docs), "offset": offset, "limit": limit}

    # ``{doc_id:path}``: ids may contain '/' (a path-like id from a JSONL file is common)
    @api.get("/v1/collections/{name}/documents/{doc_id:path}", response_model=schemas.DocumentOut,
             tags=["documents"], responses=schemas.errors(401, 403, 404, 429, 503))
    def get_document(name: str, doc_id: str, request: Request):
        """One document with its text (503 ``document_unavailable`` when its stored text is
        missing or damaged; deleting the document clears it)."""
        principal_of(request).require(name)
        return service.store.get(name).document(doc_id)

    @api.delete("/v1/collections/{name}/documents/{doc_id:path}", response_model=schemas.Deleted,
                tags=["documents"], responses=schemas.errors(401, 403, 404, 429, 503))
    async def delete_document(name: str, doc_id: str, request: Request):
        """Remove a document and its chunks (one atomic commit)."""
        principal_of(request).require(name)
        col = service.store.get(name)
        if doc_id not in col.documents:
            raise ApiError(404, "not_found", f"no document {doc_id!r} in collection {name!r}")
        gone = await anyio.to_thread.run_sync(col.delete_documents, [doc_id])
        return {"deleted": gone}

    # ---- jobs ------------------------------------------------------------------------------
    @api.get("/v1/jobs/{job_id}", response_model=schemas.JobInfo, tags=["documents"],
             responses=schemas.errors(401, 403, 404, 429, 503))
    def get_job(job_id: str, request: Request):
        """An ingest job's status."""
        job = service.jobs.get(job_id)
        principal_of(request).require(job.collection)
        return job.to_dict()

    @api.get("/v1/jobs", response_model=schemas.JobList, tags=["documents"],
             responses=schemas.errors(401, 403, 422, 429, 503))
    def list_jobs(request: Request, collection: Annotated[str | None, Query(max_length=64)] = None):
        """Ingest jobs (of one collection, or all this key may see)."""
        p = principal_of(request)
        if collection is not None:
            p.require(collection)
        jobs = [j.to_dict() for j in service.jobs.list(collection) if p.allows(j.collection)]
        return {"jobs": jobs}

    return api
