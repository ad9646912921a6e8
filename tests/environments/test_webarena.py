"""WebArena's own 812 task configs: they all load, every eval type and helper in them is
supported, and placeholders resolve from environment variables."""

from __future__ import annotations

import json
import re
from collections import Counter
from types import SimpleNamespace

import pytest

from ponder.environments.evaluators import HELPERS, evaluate
from ponder.environments.tasks import EVAL_TYPES, PLACEHOLDER, resolve_url
from ponder.environments.webarena import DEFAULT_PATH, ENV_VARS, base_urls_from_env, load_webarena_tasks
from ponder.errors import ConfigError, TaskConfigError

pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason=f"WebArena's configs are not at {DEFAULT_PATH}")


@pytest.fixture(scope="module")
def tasks():
    return load_webarena_tasks()


@pytest.fixture()
def env_urls(monkeypatch):
    urls = {key: f"http://wa.test:{7000 + i}" for i, key in enumerate(ENV_VARS)}
    monkeypatch.delenv("PONDER_WEBARENA_HOST", raising=False)
    for key, var in ENV_VARS.items():
        monkeypatch.setenv(var, urls[key])
    return urls


def test_all_812_tasks_load(tasks):
    assert len(tasks) == 812
    assert [t.raw["webarena_task_id"] for t in tasks] == list(range(812))
    assert len({t.task_id for t in tasks}) == 812
    kinds = Counter(k for t in tasks for k in t.eval_types)
    assert set(kinds) <= set(EVAL_TYPES) and {"string_match", "url_match", "program_html"} <= set(kinds)
    assert sum(kinds.values()) == 951
    # WebArena's extra fields are kept
    assert tasks[0].raw["intent_template_id"] == 279 and tasks[0].raw["storage_state"].endswith(".json")


def test_every_placeholder_resolves_from_the_environment(tasks, env_urls):
    urls = base_urls_from_env()
    assert urls == env_urls
    for t in tasks:
        texts = [t.start_url, t.eval.get("reference_url") or ""] + [p["url"] for p in t.eval.get("program_html") or []]
        for text in texts:
            resolved = resolve_url(text, urls)
            assert not PLACEHOLDER.search(resolved), (t.task_id, text)
    assert resolve_url(tasks[0].start_url, urls) == env_urls["shopping_admin"]


def test_host_fills_in_default_ports(monkeypatch):
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PONDER_WEBARENA_HOST", "http://10.0.0.5/")
    monkeypatch.setenv("PONDER_WEBARENA_GITLAB", "https://git.example.test/")
    urls = base_urls_from_env()
    assert urls["shopping"] == "http://10.0.0.5:7770" and urls["reddit"] == "http://10.0.0.5:9999"
    assert urls["gitlab"] == "https://git.example.test"


def test_missing_base_url_names_the_variable(tasks, monkeypatch):
    for var in [*ENV_VARS.values(), "PONDER_WEBARENA_HOST"]:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError) as err:
        resolve_url(tasks[0].start_url, base_urls_from_env())
    assert "PONDER_WEBARENA_SHOPPING_ADMIN" in str(err.value)


def _answer_from(refs: dict) -> str:
    if refs.get("fuzzy_match") == "N/A":
        return "N/A"
    parts = []
    if "exact_match" in refs:
        return refs["exact_match"]
    for ref in refs.get("must_include", []):
        parts.append(ref.split(" |OR| ")[0])
    parts += refs.get("fuzzy_match", []) if isinstance(refs.get("fuzzy_match"), list) else []
    return " ; ".join(parts)


def test_string_match_scores_every_reference_answer_and_rejects_silence(tasks):
    checked = 0
    for t in tasks:
        if t.eval_types != ["string_match"]:
            continue
        right = evaluate(t, answer=_answer_from(t.eval["reference_answers"]), page=None)
        assert right.value == 1.0, (t.task_id, t.eval["reference_answers"], right.details)
        assert evaluate(t, answer="", page=None).value == 0.0, t.task_id
        checked += 1
    assert checked == 335 - sum(1 for t in tasks if "string_match" in t.eval_types and len(t.eval_types) > 1)


def test_url_match_accepts_each_reference_page(tasks, env_urls):
    urls = base_urls_from_env()
    for t in tasks:
        if t.eval_types != ["url_match"]:
            continue
        refs = resolve_url(t.eval["reference_url"], urls).split(" |OR| ")
        for ref in refs:
            assert evaluate(t, answer=None, page=SimpleNamespace(url=ref.strip())).value == 1.0, (t.task_id, ref)
        start = resolve_url(t.start_url.split(" |AND| ")[0], urls)
        if all(r.strip().rstrip("/") != start.rstrip("/") for r in refs):
            assert evaluate(t, answer=None, page=SimpleNamespace(url=start)).value == 0.0, t.task_id


def test_program_html_entries_are_all_supported(tasks):
    seen_helpers = set()
    for t in tasks:
        for entry in t.eval.get("program_html") or []:
            for text in (entry["url"], entry.get("locator", "")):
                if text.startswith("func:"):
                    name = re.match(r"func:(\w+)\(", text).group(1)
                    assert name in HELPERS, (t.task_id, text)
                    seen_helpers.add(name)
            locator = entry.get("locator", "").strip()
            assert locator == "" or locator.startswith(("document.", "[...document.", "func:")), (t.task_id, locator)
            assert entry["url"] == "last" or entry["url"].startswith(("func:", "__")), (t.task_id, entry["url"])
    assert seen_helpers == set(HELPERS)


def test_malformed_webarena_file_names_file_and_field(tmp_path):
    data = json.loads(DEFAULT_PATH.read_text())[:3]
    data[2]["eval"]["eval_types"] = ["string_match", "vibe_match"]
    bad = tmp_path / "test.raw.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(TaskConfigError, match=r"test\.raw\.json: task webarena-2: field 'eval\.eval_types'"):
        load_webarena_tasks(bad)
    folder = tmp_path / "config_files"
    folder.mkdir()
    for d in json.loads(DEFAULT_PATH.read_text())[:12]:
        (folder / f"{d['task_id']}.json").write_text(json.dumps(d))
    assert [t.raw["webarena_task_id"] for t in load_webarena_tasks(folder)] == list(range(12))
