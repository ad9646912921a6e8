"""Shared test configuration: HF offline, a per-session cache dir override is NOT used (the
converted SmolLM2 copy is reused across runs on purpose), and helpers to find free ports."""

import os
import socket

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
