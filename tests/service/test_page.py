"""The page at ``/`` in a real headless Chromium against a real ``ponder serve`` process: the key is
entered once, a question gets its answer, evidence with sources and usage; a wrong key gets a clear
message rather than a blank page."""

from __future__ import annotations

import httpx
import pytest

from tests.service.helpers import Server

pytest.importorskip("playwright")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("page")).start()
    with srv.client(srv.admin_key) as admin:
        assert admin.post("/v1/collections", json={"name": "alpha"}).status_code == 201
        docs = [{"id": "vault", "title": "Vault manual", "text": "The vault's secret code is ZETA-42. Keep it safe."},
                {"id": "lunch", "title": "Canteen", "text": "Lunch is served at noon in the canteen."}]
        r = admin.post("/v1/collections/alpha/documents", json={"documents": docs})
        assert r.status_code == 202, r.text
        job = srv.wait_job(admin, r.json()["id"])
        assert job["state"] == "succeeded", job
    yield srv
    srv.stop()


@pytest.fixture
def page(served, browser):
    """The page at ``/`` in a fresh browser context (no key kept from another test)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url + "/")
    yield page
    context.close()


def enter_key(page, key: str) -> None:
    page.fill("#key", key)
    page.click("#save-key")


def test_page_is_served_without_a_key_and_locks_itself_down(served):
    r = httpx.get(served.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert 'id="key"' in r.text and "/v1/ask" in r.text


def test_ask_from_the_page_shows_answer_evidence_and_usage(served, page):
    enter_key(page, served.key_a)
    page.wait_for_selector("#ask-section:not([hidden])", timeout=15_000)
    assert page.locator("#collection option").all_text_contents() == ["alpha (2 documents)"]
    page.select_option("#method", "auto")
    page.fill("#question", "What is the secret code of the vault?")
    page.click("#ask")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    # the page shows what the API answers to the same question (the span ladder: a grounded span)
    with served.client(served.key_a) as c:
        direct = c.post("/v1/ask", json={"collection": "alpha", "question": "What is the secret code of the vault?",
                                         "method": "auto"}).json()
    shown = page.text_content("#answer")
    assert shown == direct["answer"] and "42" in shown
    evidence = page.text_content("#evidence")
    assert "Vault manual" in evidence and "ZETA-42" in evidence and "vault" in evidence  # title, text, source
    usage = page.text_content("#usage")
    assert usage.startswith("auto: ") and "model calls" in usage and "retrievals" in usage
    assert page.is_hidden("#error")
    # the key was entered once: a reload asks straight away, without the key form
    page.reload()
    page.wait_for_selector("#ask-section:not([hidden])", timeout=15_000)
    assert page.is_hidden("#key-section")


def test_a_wrong_key_gets_a_clear_message(page):
    enter_key(page, "pk-not-a-real-key")
    page.wait_for_selector("#error:not([hidden])", timeout=15_000)
    message = page.text_content("#error")
    assert "API key was not accepted" in message and "not valid" in message
    assert page.is_visible("#key-section") and page.is_hidden("#ask-section")


def test_a_collection_the_key_may_not_see_is_refused_in_words(served, page):
    with served.client(served.admin_key) as admin:
        admin.post("/v1/collections", json={"name": "beta"})
    enter_key(page, served.key_a)
    page.wait_for_selector("#ask-section:not([hidden])", timeout=15_000)
    # a stale choice (e.g. a collection the key lost access to) reaches the API and is refused in words
    page.evaluate("""() => { const o = document.createElement('option'); o.value = 'beta'; o.textContent = 'beta';
                             document.getElementById('collection').append(o); }""")
    page.select_option("#collection", "beta")
    page.fill("#question", "What is for lunch?")
    page.click("#ask")
    page.wait_for_selector("#error:not([hidden])", timeout=15_000)
    assert "beta" in page.text_content("#error")
    assert page.is_hidden("#result")
