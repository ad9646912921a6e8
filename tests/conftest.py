"""Shared test configuration: HF offline, a per-session cache dir override is NOT used (the
converted SmolLM2 copy is reused across runs on purpose), and helpers to find free ports."""

import os
import socket

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def sparse_index(facts: dict[str, str]):
    """A BM25 index with one document per ``title: text`` pair (each chunk starts with its title)."""
    from ponder.retrieval import SparseIndex, chunk_documents, read_document

    idx = SparseIndex()
    docs = [read_document(f"{t}.txt", f"{t}. {text}", source=t) for t, text in facts.items()]
    idx.add(chunk_documents(docs), documents=docs)
    return idx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium (Debian's), one per test module."""
    from ponder.tools.browser import Browser

    b = Browser().start()
    yield b
    b.close()
