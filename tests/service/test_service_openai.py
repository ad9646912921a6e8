"""The official ``openai`` client, unchanged, against the service."""

from __future__ import annotations

import openai
import pytest

from tests.service.helpers import make_docs


@pytest.fixture(scope="module")
def rag(server):
    with server.client(server.admin_key) as c:
        c.post("/v1/collections", json={"name": "alpha"})
        docs = make_docs(5) + [{"id": "code", "title": "Code", "text": "Between the lines, the secret code is OPENAI-8."}]
        r = c.post("/v1/collections/alpha/documents", json={"documents": docs})
        assert server.wait_job(c, r.json()["id"])["state"] == "succeeded"
    return server


def client(server, key):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=30)


def test_models_list(rag):
    ids = {m.id for m in client(rag, rag.key_a).models.list()}
    assert {"scripted", "ponder-rag/alpha"} <= ids
    assert "ponder-rag/beta" not in ids  # key a may not use beta
    assert client(rag, rag.key_a).models.retrieve("ponder-rag/alpha").id == "ponder-rag/alpha"


def test_rag_completion_with_citations(rag):
    out = client(rag, rag.key_a).chat.completions.create(
        model="ponder-rag/alpha",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is the secret code?"}],
    )
    assert "OPENAI-8" in out.choices[0].message.content
    assert out.choices[0].finish_reason == "stop"
    assert out.usage.completion_tokens > 0
    extra = out.model_extra["ponder"]
    assert any(c["document"] == "code" for c in extra["citations"])


def test_rag_completion_streams(rag):
    stream = client(rag, rag.key_a).chat.completions.create(
        model="ponder-rag/alpha", messages=[{"role": "user", "content": "secret code please"}], stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "OPENAI-8" in "".join(pieces)
    assert len([p for p in pieces if p]) > 1  # delivered in pieces, not one blob
    assert finish == "stop" and usage.total_tokens > 0


def test_plain_model_answers_directly(rag):
    c = client(rag, rag.key_a)
    out = c.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "the secret code is DIRECT-2"}])
    assert out.choices[0].message.content == "The code is DIRECT-2."
    out = c.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "hello"}], n=2, temperature=0.5)
    assert [ch.message.content for ch in out.choices] == ["I don't know.", "I don't know."]
    chunks = list(c.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "I don't know."


def test_openai_errors_map_to_client_exceptions(rag):
    with pytest.raises(openai.AuthenticationError):
        client(rag, "pk_00000000_wrong").models.list()
    with pytest.raises(openai.PermissionDeniedError):
        client(rag, rag.key_b).chat.completions.create(model="ponder-rag/alpha", messages=[{"role": "user", "content": "q"}])
    with pytest.raises(openai.NotFoundError) as e:
        client(rag, rag.key_a).chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "q"}])
    assert e.value.body["param"] == "model"
    with pytest.raises(openai.UnprocessableEntityError):
        client(rag, rag.key_a).chat.completions.create(model="scripted", messages=[])
