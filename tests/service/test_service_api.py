"""The HTTP API against a real server process: collections, ingestion, asking, errors."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tests.service.helpers import SCRIPTED, Server, make_docs


def ingest(srv: Server, client: httpx.Client, name: str, docs: list[dict]) -> dict:
    r = client.post(f"/v1/collections/{name}/documents", json={"documents": docs})
    assert r.status_code == 202, r.text
    return srv.wait_job(client, r.json()["id"])


def test_health_and_metrics_need_no_key(server):
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and "scripted" in body["models"]
    m = httpx.get(server.url + "/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    assert 'ponder_requests_total{method="GET",route="/healthz",status="200"}' in m.text
    assert "# TYPE ponder_request_seconds histogram" in m.text


def test_missing_and_invalid_key_are_401(server):
    with server.client() as c:
        r = c.get("/v1/collections")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "missing_api_key"
        assert r.headers["www-authenticate"] == "Bearer"
    with server.client("pk_deadbeef_nope") as c:
        r = c.get("/v1/collections")
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    # X-API-Key works as well as Bearer
    r = httpx.get(server.url + "/v1/collections", headers={"X-API-Key": server.admin_key})
    assert r.status_code == 200


def test_collections_lifecycle_and_scoping(server):
    with server.client(server.admin_key) as admin, server.client(server.key_a) as a, server.client(server.key_b) as b:
        assert admin.post("/v1/collections", json={"name": "alpha", "description": "team a"}).status_code == 201
        assert admin.post("/v1/collections", json={"name": "beta"}).status_code == 201
        dup = admin.post("/v1/collections", json={"name": "alpha"})
        assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict"
        # a key sees and may create only its own collections
        assert [c["name"] for c in a.get("/v1/collections").json()["collections"]] == ["alpha"]
        assert [c["name"] for c in b.get("/v1/collections").json()["collections"]] == ["beta"]
        r = a.post("/v1/collections", json={"name": "gamma"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_collection"
        assert a.get("/v1/collections/beta").status_code == 403
        assert a.post("/v1/collections", json={"name": "shared"}).status_code == 201
        info = a.get("/v1/collections/alpha").json()
        assert info == {**info, "name": "alpha", "index": "sparse", "documents": 0, "generation": 0}
        assert a.delete("/v1/collections/shared").json() == {"deleted": ["shared"]}
        assert a.get("/v1/collections/shared").status_code == 404
        assert admin.get("/v1/collections/nope").json()["error"]["code"] == "not_found"


def test_invalid_bodies_are_422_naming_the_field(server):
    with server.client(server.admin_key) as c:
        c.post("/v1/collections", json={"name": "val"})
        r = c.post("/v1/ask", json={"collection": "val"})
        assert r.status_code == 422 and r.json()["error"]["param"] == "question"
        r = c.post("/v1/ask", json={"collection": "val", "question": "q", "method": "psychic"})
        assert r.status_code == 422 and r.json()["error"]["param"].startswith("method")
        r = c.post("/v1/ask", json={"collection": "val", "question": "q", "budget": "calls=lots"})
        assert r.status_code == 422 and r.json()["error"]["param"] == "budget"
        r = c.post("/v1/collections", json={"name": "../etc"})
        assert r.status_code == 422 and r.json()["error"]["param"] == "name"
        r = c.post("/v1/collections/val/documents", json={"documents": [{"title": "no body"}]})
        assert r.status_code == 422 and r.json()["error"]["param"].startswith("documents.0")
        r = c.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        r = c.get("/v1/collections/val/documents", params={"limit": 0})
        assert r.status_code == 422 and r.json()["error"]["param"] == "query.limit"


def test_oversized_body_is_413(tmp_path):
    srv = Server(tmp_path, limits={"max_body_bytes": 4096}).start()
    try:
        with srv.client(srv.admin_key) as c:
            c.post("/v1/collections", json={"name": "big"})
            r = c.post("/v1/collections/big/documents", json={"documents": [{"text": "x" * 10_000}]})
            assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

            def chunked():  # no Content-Length: counted while reading
                for _ in range(10):
                    yield b" " * 1000

            r = c.post("/v1/ask", content=chunked(), headers={"content-type": "application/json"})
            assert r.status_code == 413
            assert c.get("/v1/collections/big").json()["documents"] == 0
    finally:
        srv.stop()


def test_ingest_list_get_delete_documents(server):
    with server.client(server.key_a) as c:
        docs = [
            {"id": "plain", "title": "Plain", "text": "The secret code is ALPHA-7. Keep it safe."},
            {"id": "md", "title": "Notes", "format": "markdown", "text": "# Heading\n\nSome *markdown* about otters."},
            {"id": "page", "format": "html", "text": "<html><body><h1>Page</h1><p>Hedgehogs sleep.</p>"
                                                     "<script>var x=1;</script></body></html>"},
            {"id": "blank", "text": "   "},
        ]
        job = ingest(server, c, "alpha", docs)
        assert job["state"] == "succeeded", job
        assert sorted(job["committed"]) == ["md", "page", "plain"]
        assert [s["name"] for s in job["skipped"]] and "blank" in json.dumps(job["skipped"])
        listing = c.get("/v1/collections/alpha/documents").json()
        assert listing["total"] == 3 and {d["doc_id"] for d in listing["documents"]} == {"plain", "md", "page"}
        page = c.get("/v1/collections/alpha/documents/page").json()
        assert "Hedgehogs sleep." in page["text"] and "<p>" not in page["text"]
        assert c.delete("/v1/collections/alpha/documents/md").json() == {"deleted": ["md"]}
        assert c.get("/v1/collections/alpha/documents/md").status_code == 404
        assert c.delete("/v1/collections/alpha/documents/md").status_code == 404
        assert c.get("/v1/collections/alpha").json()["documents"] == 2
        assert c.get("/v1/jobs/does-not-exist").status_code == 404
    with server.client(server.key_b) as b:  # another team's job is not visible
        assert b.get(f"/v1/jobs/{job['id']}").status_code == 403


def test_upload_files(server):
    with server.client(server.key_b) as c:
        jsonl = "\n".join(json.dumps(d) for d in make_docs(3, prefix="line")) + "\n{broken\n"
        files = [
            ("files", ("readme.md", b"# Beta\n\nThe secret code is BETA-99.", "text/markdown")),
            ("files", ("page.html", b"<p>Lemurs climb trees.</p>", "text/html")),
            ("files", ("lines.jsonl", jsonl.encode(), "application/jsonl")),
            ("files", ("empty.txt", b"", "text/plain")),
            ("files", ("blob.bin", bytes(range(256)) * 4, "application/octet-stream")),
        ]
        r = c.post("/v1/collections/beta/files", files=files)
        assert r.status_code == 202, r.text
        job = server.wait_job(c, r.json()["id"])
        assert job["state"] == "succeeded", job
        assert job["documents_committed"] == 5  # readme, page, three JSONL lines
        assert {"line-0", "line-1", "line-2"} <= set(job["committed"])
        skipped = {s["name"].split(":")[0] for s in job["skipped"]}
        assert {"empty.txt", "blob.bin", "lines.jsonl"} <= skipped  # the broken JSONL line names its file
        r = c.post("/v1/ask", json={"collection": "beta", "question": "What is the secret code?"})
        assert r.status_code == 200, r.text
        assert "BETA-99" in r.json()["answer"]


def test_ask_returns_answer_citations_usage(server):
    with server.client(server.admin_key) as c:
        c.post("/v1/collections", json={"name": "qa"})
        docs = make_docs(6) + [{"id": "vault", "title": "Vault", "text": "Filler words here. The secret code is VAULT-314. More filler."}]
        assert ingest(server, c, "qa", docs)["state"] == "succeeded"
        r = c.post("/v1/ask", json={"collection": "qa", "question": "What is the secret code in the vault?",
                                    "budget": {"calls": 8}, "top_k": 3})
        assert r.status_code == 200, r.text
        body = r.json()
        assert "VAULT-314" in body["answer"] and "VAULT-314" in body["raw"]
        cited = [x for x in body["citations"] if x["document"] == "vault"]
        assert cited, body["citations"]
        doc = c.get("/v1/collections/qa/documents/vault").json()
        span = cited[0]
        assert doc["text"][span["start"]:span["end"]] == span["text"]
        assert body["usage"]["calls"] >= 1 and body["usage"]["retrievals"] >= 1
        # a budget too small for one model call is refused before the spend
        r = c.post("/v1/ask", json={"collection": "qa", "question": "code?", "budget": "calls=0"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "budget_exceeded"


def test_ask_streams_progress_tokens_done(server):
    with server.client(server.admin_key) as c:
        c.post("/v1/collections", json={"name": "stream"})
        ingest(server, c, "stream", [{"id": "s", "text": "The secret code is STREAM-1."}])
        events = []
        with c.stream("POST", "/v1/ask", json={"collection": "stream", "question": "secret code?", "stream": True}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
        kinds = [k for k, _ in events]
        assert kinds[-1] == "done" and "token" in kinds and "progress" in kinds
        assert kinds.index("progress") < kinds.index("token")
        progress = [d["type"] for k, d in events if k == "progress"]
        assert "retrieval" in progress and "generation" in progress
        done = events[-1][1]
        assert "".join(d["text"] for k, d in events if k == "token") == done["answer"]
        assert "STREAM-1" in done["answer"]
        assert done["citations"][0]["document"] == "s"
        # a failure after the stream started arrives as an error event
        with c.stream("POST", "/v1/ask", json={"collection": "stream", "question": "q", "stream": True,
                                               "budget": "calls=0"}) as r:
            lines = [line for line in r.iter_lines() if line]
        assert lines[-2] == "event: error"
        assert json.loads(lines[-1][6:])["error"]["code"] == "budget_exceeded"


def test_forbidden_collection_on_every_route(server):
    with server.client(server.key_b) as b:
        for method, path, body in [
            ("GET", "/v1/collections/alpha", None),
            ("DELETE", "/v1/collections/alpha", None),
            ("GET", "/v1/collections/alpha/documents", None),
            ("POST", "/v1/collections/alpha/documents", {"documents": [{"text": "x"}]}),
            ("POST", "/v1/ask", {"collection": "alpha", "question": "q"}),
            ("GET", "/v1/jobs?collection=alpha", None),
        ]:
            r = b.request(method, path, json=body)
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["error"]["type"] == "permission_error"


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the stdlib's name
        _Recorder.hits.append(self.path)
        body = b"<html><body><p>The secret code is FETCHED-5.</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def page_server():
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_urls_are_not_fetched_unless_allowed(server, page_server, tmp_path):
    with server.client(server.admin_key) as c:
        c.post("/v1/collections", json={"name": "urls"})
        r = c.post("/v1/collections/urls/documents", json={"documents": [{"url": page_server + "/doc.html"}]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "url_fetch_disabled"
        assert r.json()["error"]["param"] == "documents.0.url"
        # a URL inside a document's text is text, never a link to follow
        job = ingest(server, c, "urls", [{"format": "html", "text": f'<a href="{page_server}/x">see</a> <img src="{page_server}/i.png">'}])
        assert job["state"] == "succeeded"
    assert _Recorder.hits == []
    # loopback is refused unless allow-listed (see test_service_fetch.py); this one port is
    allowed = Server(tmp_path, allow_url_fetch=True, url_fetch_allow=[page_server.removeprefix("http://")]).start()
    try:
        with allowed.client(allowed.admin_key) as c:
            c.post("/v1/collections", json={"name": "web"})
            job = ingest(allowed, c, "web", [{"url": page_server + "/doc.html", "id": "fetched"}])
            assert job["committed"] == ["fetched"], job
            assert _Recorder.hits == ["/doc.html"]
            assert "FETCHED-5" in c.post("/v1/ask", json={"collection": "web", "question": "secret code?"}).json()["answer"]
    finally:
        allowed.stop()


def test_rate_limit_is_429_per_key(tmp_path):
    srv = Server(tmp_path, limits={"rate_per_minute": 60, "rate_burst": 5}).start()
    try:
        with srv.client(srv.key_a) as a, srv.client(srv.key_b) as b:
            codes = [a.get("/v1/collections").status_code for _ in range(8)]
            assert codes[:5] == [200] * 5 and codes[-1] == 429
            r = a.get("/v1/collections")
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]["code"] == "rate_limited"
            assert b.get("/v1/collections").status_code == 200  # another key has its own bucket
        assert "ponder_rate_limited_total" in httpx.get(srv.url + "/metrics").text
    finally:
        srv.stop()


def test_keys_cli_creates_hashed_key_a_running_server_accepts(server):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "ponder.cli.main", "serve", "keys", "create", "--config", str(server.config_path),
         "--name", "cli", "--collections", "alpha", "--json"],
        capture_output=True, text=True, check=True,
    )
    created = json.loads(out.stdout)
    key = created["key"]
    assert key not in (server.data_dir / "keys.json").read_text()
    with server.client(key) as c:
        assert [x["name"] for x in c.get("/v1/collections").json()["collections"]] == ["alpha"]
        assert c.get("/v1/collections/beta").status_code == 403
    subprocess.run([sys.executable, "-m", "ponder.cli.main", "serve", "keys", "revoke", created["id"],
                    "--config", str(server.config_path)], check=True, capture_output=True)
    with server.client(key) as c:
        assert c.get("/v1/collections").status_code == 401


def test_metrics_count_requests_tokens_and_queue(server):
    with server.client(server.admin_key) as c:
        c.post("/v1/collections", json={"name": "metered"})
        ingest(server, c, "metered", [{"text": "The secret code is METER-1."}])
        assert c.post("/v1/ask", json={"collection": "metered", "question": "code?"}).status_code == 200
    text = httpx.get(server.url + "/metrics").text
    assert 'ponder_requests_total{method="POST",route="/v1/ask",status="200"}' in text
    assert 'ponder_tokens_total{kind="completion",model="scripted"}' in text
    assert 'ponder_queue_depth{model="scripted"} 0' in text
    assert re.search(r"^ponder_documents_committed_total [1-9]", text, re.M)
    assert "metered" not in text  # no collection names on the public page


def test_openapi_documents_errors(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    ask = spec["paths"]["/v1/ask"]["post"]
    assert {"401", "403", "413", "422", "429"} <= set(ask["responses"])
    assert ask["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "/v1/chat/completions" in spec["paths"] and "/v1/collections/{name}/files" in spec["paths"]


@pytest.mark.parametrize("method", ["none", "single", "iterative", "adaptive-note", "adaptive-note-gain"])
def test_every_method_answers_and_charges_usage(server, method):
    with server.client(server.admin_key) as c:
        if c.get("/v1/collections/methods").status_code == 404:
            c.post("/v1/collections", json={"name": "methods"})
            ingest(server, c, "methods", make_docs(4) + [{"id": "m", "text": "The secret code is METHOD-3."}])
        r = c.post("/v1/ask", json={"collection": "methods", "question": "What is the secret code?",
                                    "method": method, "budget": {"calls": 12}})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["method"] == method and body["usage"]["calls"] >= 1
        assert body["usage"]["calls"] <= 12
        if method == "none":
            assert body["citations"] == [] and body["usage"]["retrievals"] == 0
        else:
            assert body["usage"]["retrievals"] >= 1 and body["citations"]


def test_a_failing_model_is_a_json_500_and_the_server_keeps_serving(tmp_path):
    srv = Server(tmp_path, models={"scripted": dict(SCRIPTED),
                                   "broken": {"kind": "factory", "factory": "tests.service.helpers:broken_model"}}).start()
    try:
        with srv.client(srv.admin_key) as c:
            r = c.post("/v1/chat/completions", json={"model": "broken", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 500
            assert r.json()["error"] == {**r.json()["error"], "type": "server_error", "code": "internal_error"}
            with c.stream("POST", "/v1/chat/completions", json={"model": "broken", "stream": True,
                                                                 "messages": [{"role": "user", "content": "hi"}]}) as s:
                lines = [line for line in s.iter_lines() if line]
            assert json.loads(lines[-2][6:])["error"]["code"] == "internal_error" and lines[-1] == "data: [DONE]"
            r = c.post("/v1/chat/completions", json={"model": "scripted", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200
    finally:
        srv.stop()
