"""The bundled SmolLM2 behind the real service: RAG over a real (hybrid, MiniLM) index, and the
OpenAI-compatible endpoint answering directly."""

from __future__ import annotations

import openai
import pytest

from tests.service.helpers import Server

DOCS = [
    {"id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France."},
    {"id": "nile", "title": "Nile", "text": "The Nile is a major north-flowing river in northeastern Africa."},
    {"id": "kiwi", "title": "Kiwi", "text": "The kiwi is a flightless bird endemic to New Zealand."},
]


@pytest.mark.slow
def test_smollm2_answers_over_a_hybrid_index(tmp_path):
    srv = Server(tmp_path, rag_model="smollm2-135m", index="hybrid", torch_threads=1,
                 models={"smollm2-135m": {"kind": "registry", "max_batch": 4}},
                 limits={"max_tokens": 24, "rate_per_minute": 0}).start(timeout=180)
    try:
        with srv.client(srv.admin_key, timeout=300) as c:
            assert c.post("/v1/collections", json={"name": "facts"}).json()["index"] == "hybrid"
            job = c.post("/v1/collections/facts/documents", json={"documents": DOCS}).json()
            assert srv.wait_job(c, job["id"], timeout=300)["state"] == "succeeded"
            r = c.post("/v1/ask", json={"collection": "facts", "question": "What is the capital of France?",
                                        "top_k": 2, "budget": "calls=2"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["citations"][0]["document"] == "paris"
            assert body["usage"]["calls"] == 1 and 0 < body["usage"]["completion_tokens"] <= 24
            assert "paris" in body["raw"].lower()
            # span: the real model scores the candidate spans; the answer is the grounded span whose
            # sentence speaks of the question ("capital", "France"), the passages cited
            r = c.post("/v1/ask", json={"collection": "facts", "question": "What is the capital of France?",
                                        "top_k": 3, "method": "span", "budget": "calls=3"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["answer"] == "Paris" and body["citations"][0]["document"] == "paris"
            assert body["usage"]["calls"] == 1  # one scoring call (no reply by default)
            # auto: the span ladder; the evidence alone or one scoring call settles it
            r = c.post("/v1/ask", json={"collection": "facts", "question": "What is the capital of France?",
                                        "top_k": 3, "method": "auto", "budget": "calls=3"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["answer"] == "Paris" and body["usage"]["calls"] <= 1
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=srv.key_a, max_retries=0, timeout=300)
        out = client.chat.completions.create(model="smollm2-135m", max_tokens=8,
                                             messages=[{"role": "user", "content": "Say hello."}])
        assert out.choices[0].message.content.strip()
        assert 0 < out.usage.completion_tokens <= 8 and out.choices[0].finish_reason in ("stop", "length")
        health = srv.client().get("/healthz").json()
        assert health["models"]["smollm2-135m"] is True
    finally:
        srv.stop()
