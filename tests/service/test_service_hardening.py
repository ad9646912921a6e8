"""What a stranger or a careless client cannot do to a running server (issue 16, the service):
guess keys cheaply, send a model more text than /v1/ask allows, read collection names or paths
without a key, get stuck on damaged data, or be told 422 for a body that is not JSON."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from tests.service.helpers import SCRIPTED, Server


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("hard"), models={"scripted": dict(SCRIPTED), "direct": dict(SCRIPTED)},
                    limits={"max_question_chars": 4000}).start()
    with server.client(server.admin_key) as c:
        assert c.post("/v1/collections", json={"name": "alpha"}).status_code == 201
        r = c.post("/v1/collections/alpha/documents", json={"documents": [
            {"id": "plain", "text": "The secret code is HARD-1."},
            {"id": "team/notes/a.md", "format": "markdown", "text": "# Notes\n\nThe secret code is SLASH-2."}]})
        assert server.wait_job(c, r.json()["id"])["state"] == "succeeded"
    yield server
    server.stop()


def test_wrong_secrets_from_one_client_get_429_with_default_limits(tmp_path):
    srv = Server(tmp_path, default_limits=True).start()
    try:
        wrong = srv.admin_key[:-1] + ("A" if srv.admin_key[-1] != "A" else "B")
        with srv.client(wrong) as c:
            codes = [c.get("/v1/collections").status_code for _ in range(40)]
        assert codes[0] == 401 and set(codes) == {401, 429}
        assert codes.count(429) >= 20, codes  # the burst (10) answers 401, then the client is held
        r = httpx.get(srv.url + "/v1/collections", headers={"Authorization": f"Bearer {srv.admin_key}"})
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        assert "ponder_auth_failures_total" in httpx.get(srv.url + "/metrics").text
    finally:
        srv.stop()


def test_one_question_limit_for_every_route_that_reaches_a_model(srv):
    long = "why " * 1001  # 4004 characters
    with srv.client(srv.admin_key) as c:
        r = c.post("/v1/ask", json={"collection": "alpha", "question": long})
        assert r.status_code == 422 and r.json()["error"]["param"] == "question"
        r = c.post("/v1/chat/completions", json={"model": "ponder-rag/alpha", "messages": [{"role": "user", "content": long}]})
        assert r.status_code == 422 and r.json()["error"]["param"] == "messages", r.text
        r = c.post("/v1/chat/completions", json={"model": "direct", "messages": [{"role": "user", "content": long}]})
        assert r.status_code == 422 and r.json()["error"]["param"] == "messages", r.text
        # many short messages add up: the conversation is the prompt
        many = [{"role": "user", "content": "x" * 1000} for _ in range(5)]
        r = c.post("/v1/chat/completions", json={"model": "direct", "messages": many, "stream": True})
        assert r.status_code == 422 and "characters in all" in r.json()["error"]["message"]
        ok = c.post("/v1/chat/completions", json={"model": "direct", "messages": [{"role": "user", "content": "hi"}]})
        assert ok.status_code == 200


def test_document_ids_with_slashes_are_addressable(srv):
    with srv.client(srv.admin_key) as c:
        ids = [d["doc_id"] for d in c.get("/v1/collections/alpha/documents").json()["documents"]]
        assert "team/notes/a.md" in ids
        r = c.get("/v1/collections/alpha/documents/team/notes/a.md")
        assert r.status_code == 200 and "SLASH-2" in r.json()["text"] and r.json()["doc_id"] == "team/notes/a.md"
        assert c.get("/v1/collections/alpha/documents/team%2Fnotes%2Fa.md").status_code == 200
        assert c.delete("/v1/collections/alpha/documents/team/notes/a.md").json() == {"deleted": ["team/notes/a.md"]}
        assert c.get("/v1/collections/alpha/documents/team/notes/a.md").status_code == 404


def test_open_pages_show_no_collection_names_or_paths(srv):
    for page in ("/healthz", "/metrics"):
        text = httpx.get(srv.url + page).text
        assert "alpha" not in text and str(srv.root) not in text, page
    health = httpx.get(srv.url + "/healthz").json()
    assert health["collections"] >= 1 and health["collections_unavailable"] == 0


def test_malformed_json_is_400_as_documented(srv):
    with srv.client(srv.admin_key) as c:
        r = c.post("/v1/ask", content=b'{"collection": "alpha", "question": ', headers={"content-type": "application/json"})
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "invalid_json" and err["param"] is None
    assert "not valid JSON" in err["message"]


def test_a_missing_document_body_is_503_and_deleting_it_clears_it(srv):
    with srv.client(srv.admin_key) as c:
        r = c.post("/v1/collections/alpha/documents", json={"documents": [{"id": "lost", "text": "Soon gone."}]})
        assert srv.wait_job(c, r.json()["id"])["state"] == "succeeded"
        manifest = json.loads((srv.data_dir / "collections" / "alpha" / "collection.json").read_text())
        (srv.data_dir / "collections" / "alpha" / "docs" / manifest["documents"]["lost"]["file"]).unlink()
        r = c.get("/v1/collections/alpha/documents/lost")
        err = r.json()["error"]
        assert r.status_code == 503 and err["code"] == "document_unavailable" and "DELETE" in err["hint"]
        assert str(srv.root) not in r.text
        assert c.delete("/v1/collections/alpha/documents/lost").json() == {"deleted": ["lost"]}
        assert c.get("/v1/collections/alpha/documents/lost").status_code == 404


def test_a_damaged_keys_file_is_503_until_repaired(srv):
    path = srv.data_dir / "keys.json"
    good = path.read_text()
    try:
        path.write_text(good[:40])
        with srv.client(srv.admin_key) as c:
            r = c.get("/v1/collections")
            err = r.json()["error"]
            assert r.status_code == 503 and err["code"] == "keys_unavailable" and "ponder serve keys create" in err["hint"]
            assert str(path) not in r.text
            assert httpx.get(srv.url + "/healthz").status_code == 200
            path.write_text(good)
            assert c.get("/v1/collections").status_code == 200
    finally:
        path.write_text(good)


def test_a_damaged_collection_can_be_deleted_and_recreated_through_the_api(tmp_path):
    srv = Server(tmp_path).start()
    try:
        with srv.client(srv.admin_key) as c:
            assert c.post("/v1/collections", json={"name": "broken"}).status_code == 201
            r = c.post("/v1/collections/broken/documents", json={"documents": [{"text": "The code is B-1."}]})
            assert srv.wait_job(c, r.json()["id"])["state"] == "succeeded"
        srv.stop()
        root = srv.data_dir / "collections" / "broken"
        index = next(p for p in root.iterdir() if p.name.startswith("index-"))
        shutil.rmtree(index)  # the manifest names an index that is gone
        srv.start()
        assert httpx.get(srv.url + "/healthz").json()["collections_unavailable"] == 1
        assert "broken" not in httpx.get(srv.url + "/healthz").text
        with srv.client(srv.admin_key) as c:
            r = c.get("/v1/collections/broken")
            err = r.json()["error"]
            assert r.status_code == 503 and err["code"] == "collection_unavailable"
            assert "DELETE /v1/collections/broken" in err["hint"] and "ponder qa" not in r.text
            assert str(srv.root) not in r.text
            r = c.post("/v1/collections", json={"name": "broken"})
            assert r.status_code == 409 and "DELETE" in r.json()["error"]["hint"]
            assert c.delete("/v1/collections/broken").json() == {"deleted": ["broken"]}
            assert [p.name.split("-")[0] for p in (srv.data_dir / "damaged").iterdir()] == ["broken"]  # kept aside
            assert c.post("/v1/collections", json={"name": "broken"}).status_code == 201
            assert c.get("/v1/collections/broken").json()["documents"] == 0
    finally:
        srv.stop()
