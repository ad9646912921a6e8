"""Traces: the JSON record of a run and its self-contained HTML viewer, opened in headless
Chromium."""

from __future__ import annotations

import json

import pytest

from ponder.agents.web_actor import ActorConfig
from ponder.environments.toy import TOY_POLICY, TOY_STATUSES, ToyEnv, price_task, scripted_web_model
from ponder.errors import ConfigError
from ponder.graphs.trace import load_trace, render_html, write_html, write_trace
from ponder.graphs.web_agent import WebAgentConfig, run_web

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def trace(tmp_path):
    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)
    result = run_web(ToyEnv(), price_task(), model, strategy="best-first", config=WebAgentConfig(actor=ActorConfig(n=5)))
    result.trace["score"] = 1.0
    return result.trace


def test_trace_records_the_tree_the_committed_path_and_usage(trace, tmp_path):
    ids = [n["id"] for n in trace["nodes"]]
    assert ids[0] == "n0" and len(ids) == len(set(ids))
    assert set(trace["committed"]) <= set(ids)
    for n in trace["nodes"]:
        assert {"action", "value", "digest", "excerpt", "url", "candidates", "t"} <= set(n)
        assert n["parent"] is None or n["parent"] in ids
    assert trace["usage"]["calls"] > 0 and trace["env_counts"]["restore"] > 0
    path = write_trace(trace, tmp_path / "t.json")
    assert load_trace(path)["committed"] == trace["committed"]


def test_load_trace_names_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        load_trace(bad)
    bad.write_text(json.dumps({"nodes": [{"id": "n0"}]}))
    with pytest.raises(ConfigError, match=r"nodes\[0\]"):
        load_trace(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_trace(tmp_path / "missing.json")


def test_html_is_self_contained(trace):
    html = render_html({**trace, "intent": "</script><b>x</b>"})
    assert "http://" not in html.split("<script id=\"trace-data\"")[0]  # no external resources
    assert "<script src" not in html and "<link" not in html
    assert "</script><b>" not in html  # data cannot break out of its script tag


@pytest.mark.slow
def test_viewer_draws_the_tree_and_steps_through_it(trace, tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = write_html(write_trace(trace, tmp_path / "trace.json"))
    n = len(trace["nodes"])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("svg g.node").count() == n
        assert page.locator("svg line.edge").count() == n - 1
        assert page.locator("svg line.edge.committed").count() == len(trace["committed"]) - 1
        assert page.locator("#step-label").inner_text() == f"step {n} / {n}"
        page.click("#prev")
        assert page.locator("#step-label").inner_text() == f"step {n - 1} / {n}"
        last = trace["nodes"][-1]["id"]
        assert "hidden" in page.locator(f"svg g.node[data-id='{last}']").get_attribute("class")
        page.click("#first")
        assert page.locator("svg g.node:not(.hidden)").count() == 1
        page.click("#last")
        committed_leaf = trace["committed"][-1]
        page.click(f"svg g.node[data-id='{committed_leaf}']")
        assert page.locator("#detail-action").inner_text() == "stop [$999]"
        assert "(committed)" in page.locator("#detail-id").inner_text()
        browser.close()


def test_trace_view_command_writes_the_page(trace, tmp_path):
    from typer.testing import CliRunner

    from ponder.cli.main import app

    path = write_trace(trace, tmp_path / "run.json")
    result = CliRunner().invoke(app, ["trace", "view", str(path), "--out", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    assert "trace-data" in (tmp_path / "page.html").read_text()
    bad = CliRunner().invoke(app, ["trace", "view", str(tmp_path / "missing.json")])
    assert bad.exit_code != 0
