"""Background ingestion jobs with status, staged on disk so a restart resumes them.

Submitting a job writes its inputs under ``<data_dir>/jobs/<id>/`` (fsynced) before the HTTP
answer, so an accepted job is never lost. A worker parses the inputs into documents, chunks
them and commits them to the collection ``commit_every`` documents at a time; after each commit
the job's status lists the document ids that are now durable. A job that was queued or running
when the process died is resumed at start-up, skipping what it had already committed.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ponder.errors import PonderError
from ponder.files import fsync_tree, write_atomic
from ponder.service import rag
from ponder.service.store import NotFound, Store

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")


class _Stopped(Exception):
    """The service is shutting down: the job stops between commits and resumes at next start."""


class Job:
    """One ingest job's status (what ``GET /v1/jobs/{id}`` returns)."""

    def __init__(self, job_id: str, collection: str, items: int, created: float | None = None):
        self.id = job_id
        self.collection = collection
        self.state = "queued"
        self.items = items
        self.documents_total: int | None = None
        self.committed: list[str] = []
        self.chunks_committed = 0
        self.skipped: list[dict] = []
        self.error: str | None = None
        self.created = created or time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.resumed = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "collection": self.collection, "state": self.state, "items": self.items,
            "documents_total": self.documents_total, "documents_committed": len(self.committed),
            "committed": list(self.committed), "chunks_committed": self.chunks_committed,
            "skipped": list(self.skipped), "error": self.error, "created": self.created,
            "started": self.started, "finished": self.finished, "resumed": self.resumed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Job:
        job = cls(d["id"], d["collection"], d.get("items", 0), d.get("created"))
        job.state = d.get("state", "queued")
        job.documents_total = d.get("documents_total")
        job.committed = list(d.get("committed", []))
        job.chunks_committed = d.get("chunks_committed", 0)
        job.skipped = list(d.get("skipped", []))
        job.error = d.get("error")
        job.started, job.finished = d.get("started"), d.get("finished")
        job.resumed = d.get("resumed", 0)
        return job


class Jobs:
    """The job registry and its worker pool."""

    def __init__(self, data_dir: Path, store: Store, *, commit_every: int = 32, max_workers: int = 2,
                 chunk_opts: dict | None = None, fetch: Callable[[str], tuple[str, bytes]] | None = None,
                 max_document_bytes: int = 2 * 1024 * 1024, on_commit: Callable[[str, int], None] | None = None):
        self.root = Path(data_dir) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.commit_every = commit_every
        self.chunk_opts = chunk_opts or {}
        self.fetch = fetch
        self.max_document_bytes = max_document_bytes
        self.on_commit = on_commit
        self._lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ingest")
        self._closing = False
        self._load()

    # ---- persistence -----------------------------------------------------------------------
    def _dir(self, job_id: str) -> Path:
        return self.root / job_id

    def _save(self, job: Job) -> None:
        write_atomic(self._dir(job.id) / "job.json", json.dumps(job.to_dict()))

    def _load(self) -> None:
        for p in sorted(self.root.iterdir()):
            status = p / "job.json"
            if not p.is_dir() or not status.exists():
                shutil.rmtree(p, ignore_errors=True)  # staged but never acknowledged
                continue
            try:
                job = Job.from_dict(json.loads(status.read_text()))
            except (json.JSONDecodeError, KeyError) as e:
                log.error("job %s unreadable: %s", p.name, e)
                continue
            self.jobs[job.id] = job
            if job.state in ACTIVE:
                job.state = "queued"
                job.resumed += 1
                self._save(job)
                self._pool.submit(self._run, job)

    # ---- API -------------------------------------------------------------------------------
    def submit(self, collection: str, items: list[dict], files: dict[str, bytes] | None = None) -> Job:
        """Stage ``items`` (and uploaded ``files`` they refer to) and queue the job."""
        self.store.get(collection)  # 404 before anything is written
        job = Job(uuid.uuid4().hex[:16], collection, len(items))
        d = self._dir(job.id)
        tmp = self.root / f".{job.id}.staging"
        (tmp / "files").mkdir(parents=True)
        for name, data in (files or {}).items():
            (tmp / "files" / name).write_bytes(data)
        (tmp / "input.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items))

        fsync_tree(tmp)
        write_atomic(tmp / "job.json", json.dumps(job.to_dict()))
        tmp.rename(d)
        with self._lock:
            self.jobs[job.id] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}")
        return job

    def list(self, collection: str | None = None) -> list[Job]:
        return [j for j in self.jobs.values() if collection is None or j.collection == collection]

    def active(self) -> int:
        return sum(1 for j in self.jobs.values() if j.state in ACTIVE)

    def close(self) -> None:
        self._closing = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- the worker ------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        if self._closing:
            return
        job.state, job.started = "running", job.started or time.time()
        self._save(job)
        try:
            self._ingest(job)
            job.state = "succeeded"
        except _Stopped:
            job.state = "queued"  # resumed at the next start
            self._save(job)
            return
        except PonderError as e:
            job.state, job.error = "failed", str(e)
        except Exception as e:  # noqa: BLE001 - a job records its failure instead of dying silently
            log.exception("job %s failed", job.id)
            job.state, job.error = "failed", f"{type(e).__name__}: {e}"
        job.finished = time.time()
        self._save(job)

    def _ingest(self, job: Job) -> None:
        d = self._dir(job.id)
        items = [json.loads(line) for line in (d / "input.jsonl").read_text().splitlines() if line.strip()]
        docs, skipped = [], []
        for item in items:
            got, bad = rag.item_documents(item, d / "files", fetch=self.fetch,
                                          max_bytes=self.max_document_bytes)
            docs.extend(got)
            skipped.extend(bad)
        # the last copy of a document id wins (a re-upload within one job)
        unique: dict[str, Any] = {}
        for doc in docs:
            unique.pop(doc.doc_id, None)
            unique[doc.doc_id] = doc
        docs = list(unique.values())
        job.skipped = skipped
        job.documents_total = len(docs)
        done = set(job.committed)
        todo = [doc for doc in docs if doc.doc_id not in done]
        self._save(job)
        col = self.store.get(job.collection)
        work, work_gen = None, None
        pos = 0
        while pos < len(todo):
            if self._closing:
                raise _Stopped
            # commits rewrite the whole index, so batches grow with the collection (a quarter of
            # it at least): the total cost stays linear while small collections commit often
            size = max(self.commit_every, len(col.documents) // 4)
            batch = todo[pos:pos + size]
            pos += len(batch)
            chunks = rag.chunk(batch, **self.chunk_opts)
            per_doc: dict[str, int] = {}
            for c in chunks:
                per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
            for doc in batch:
                if per_doc.get(doc.doc_id, 0) == 0:
                    job.skipped.append({"name": doc.title or doc.doc_id, "reason": "no text to index"})
            batch = [doc for doc in batch if per_doc.get(doc.doc_id, 0)]
            if not batch:
                continue
            with col.write_lock:
                if col.deleted:
                    raise NotFound(f"collection {job.collection!r} was deleted during the job")
                if work is None or work_gen != col.generation:
                    work = col.working_copy()  # another writer committed since: start from that
                replaced = [doc.doc_id for doc in batch if doc.doc_id in col.documents]
                try:
                    rag.add_chunks(col, work, replaced, chunks)
                    col.commit(work, batch, per_doc, job=job.id)
                except BaseException:
                    work = None  # its state is unknown now
                    raise
                work_gen = col.generation
            job.committed.extend(doc.doc_id for doc in batch)
            job.chunks_committed += sum(per_doc[doc.doc_id] for doc in batch)
            self._save(job)  # only now is the batch reported committed
            if self.on_commit:
                self.on_commit(job.collection, len(batch))
