"""kill -9 during ingestion, then restart: nothing reported committed is lost."""

from __future__ import annotations

import time

import pytest

from tests.service.helpers import Server, make_docs


@pytest.mark.slow
def test_kill_during_ingest_loses_nothing_committed(tmp_path):
    srv = Server(tmp_path, limits={"commit_every": 10, "max_workers": 1}).start()
    try:
        with srv.client(srv.admin_key) as c:
            c.post("/v1/collections", json={"name": "durable"})
            c.post("/v1/collections", json={"name": "bystander"})
            r = c.post("/v1/collections/bystander/documents",
                       json={"documents": [{"id": "b", "text": "The secret code is STILL-1."}]})
            srv.wait_job(c, r.json()["id"])
            total = 800
            r = c.post("/v1/collections/durable/documents", json={"documents": make_docs(total)})
            assert r.status_code == 202
            job_id = r.json()["id"]
            deadline = time.monotonic() + 120
            seen = {"documents_committed": 0}
            while time.monotonic() < deadline:
                seen = c.get(f"/v1/jobs/{job_id}").json()
                if seen["documents_committed"] >= 40:
                    break
                time.sleep(0.02)
        assert seen["state"] == "running" and 40 <= seen["documents_committed"] < total, seen
        srv.kill9()
        reported = set(seen["committed"])

        srv.start()
        with srv.client(srv.admin_key) as c:
            health = c.get("/healthz").json()
            assert health["collections_unavailable"] == 0
            listed = set()
            offset = 0
            while True:
                page = c.get("/v1/collections/durable/documents", params={"offset": offset, "limit": 1000}).json()
                listed |= {d["doc_id"] for d in page["documents"]}
                offset += 1000
                if offset >= page["total"]:
                    break
            assert reported <= listed, f"lost {len(reported - listed)} committed documents"
            # the collection is searchable and the untouched one is intact
            doc = sorted(reported)[0]
            assert c.get(f"/v1/collections/durable/documents/{doc}").status_code == 200
            assert "STILL-1" in c.post("/v1/ask", json={"collection": "bystander", "question": "code?"}).json()["answer"]
            r = c.post("/v1/ask", json={"collection": "durable", "question": "archive tag T3 catalogue doc3"})
            assert r.status_code == 200 and r.json()["citations"]
            # the interrupted job resumes and finishes what was left
            job = srv.wait_job(c, job_id, timeout=300)
            assert job["state"] == "succeeded" and job["resumed"] == 1, job
            assert job["documents_committed"] == total
            assert c.get("/v1/collections/durable").json()["documents"] == total
    finally:
        srv.stop()


@pytest.mark.slow
def test_sigterm_stops_ingest_between_commits_and_restart_resumes(tmp_path):
    import signal

    srv = Server(tmp_path, limits={"commit_every": 10, "max_workers": 1}).start()
    try:
        with srv.client(srv.admin_key) as c:
            c.post("/v1/collections", json={"name": "graceful"})
            job_id = c.post("/v1/collections/graceful/documents", json={"documents": make_docs(800)}).json()["id"]
            deadline = time.monotonic() + 120
            while c.get(f"/v1/jobs/{job_id}").json()["documents_committed"] < 20 and time.monotonic() < deadline:
                time.sleep(0.02)
        srv.proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal (exit -15); it does not wait
        # for the rest of the job
        assert srv.proc.wait(30) in (0, -signal.SIGTERM)
        srv.proc = None
        srv.start()
        with srv.client(srv.admin_key) as c:
            job = srv.wait_job(c, job_id, timeout=300)
            assert job["state"] == "succeeded" and job["resumed"] == 1
            assert c.get("/v1/collections/graceful").json()["documents"] == 800
    finally:
        srv.stop()
