"""The built-in tasks, the task loader's errors, and placeholders."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ponder.environments import make_tasks
from ponder.environments.tasks import builtin_tasks, load_tasks, resolve_url, task_from_dict
from ponder.errors import ConfigError, TaskConfigError
from ponder.tools.actions import parse_action


def test_enough_tasks_per_site_with_labels_and_references():
    tasks = builtin_tasks()
    assert len(tasks) >= 90
    per_site = Counter(t.site for t in tasks)
    assert set(per_site) == {"shop", "forum", "wiki", "admin"}
    assert min(per_site["shop"], per_site["forum"], per_site["wiki"]) >= 30 and per_site["admin"] >= 10
    assert len({t.task_id for t in tasks}) == len(tasks)
    for site in per_site:
        mine = [t for t in tasks if t.site == site]
        assert {t.category for t in mine} == {"info", "navigation", "state"}, site
        assert {t.difficulty for t in mine} == {"easy", "medium", "hard"}, site
    for t in tasks:
        assert t.reference and t.reference[-1].startswith("stop"), t.task_id
        for action in t.reference:
            parse_action(action)  # every reference step is a valid action
        assert t.start_url.startswith(f"__{t.site.upper()}__")
        if t.category == "state":
            assert t.require_login and {"db_state", "program_html"} & set(t.eval_types), t.task_id
    kinds = Counter(k for t in tasks for k in t.eval_types)
    assert set(kinds) == {"string_match", "url_match", "program_html", "db_state"}


def test_checked_in_task_files_match_the_seeded_data():
    """Answers come from the seed-0 database: regenerating gives exactly the files in the repo."""
    assert make_tasks.main(["--check"]) == 0


def test_tasks_roundtrip_through_json(tmp_path):
    tasks = builtin_tasks("wiki")[:3]
    path = tmp_path / "some.json"
    path.write_text(json.dumps([t.to_dict() for t in tasks]))
    again = load_tasks(path)
    assert [t.to_dict() for t in again] == [t.to_dict() for t in tasks]
    single = tmp_path / "one.json"  # WebArena's config_files hold one task per file
    single.write_text(json.dumps(tasks[0].to_dict()))
    assert load_tasks(single)[0].task_id == tasks[0].task_id


GOOD = {"task_id": "x-1", "sites": ["shop"], "start_url": "__SHOP__/", "intent": "Find it", "require_login": False,
        "eval": {"eval_types": ["string_match"], "reference_answers": {"exact_match": "a"}}}


def with_(path: str, value):
    d = json.loads(json.dumps(GOOD))
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    if value is KeyError:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return d


@pytest.mark.parametrize("path,value,field", [
    ("intent", KeyError, "intent"),
    ("task_id", None, "task_id"),
    ("sites", "shop", "sites"),
    ("require_login", "yes", "require_login"),
    ("eval.eval_types", ["string_match", "pixel_match"], "eval.eval_types"),
    ("eval.reference_answers", {"must_include": "a"}, "eval.reference_answers.must_include"),
    ("eval.reference_answers", {"fuzzy_match": "maybe"}, "eval.reference_answers.fuzzy_match"),
    ("eval.reference_answers", {"contains": ["a"]}, "eval.reference_answers.contains"),
    ("eval", {"eval_types": ["url_match"], "reference_url": ""}, "eval.reference_url"),
    ("eval", {"eval_types": ["program_html"], "program_html": [{"url": "last", "locator": "",
                                                                 "required_contents": {"regex": "x"}}]},
     "eval.program_html[0].required_contents"),
    ("eval", {"eval_types": ["program_html"], "program_html": [{"locator": "", "required_contents": {"exact_match": "x"}}]},
     "eval.program_html[0].url"),
    ("eval", {"eval_types": ["db_state"], "db_state": [{"sql": "DELETE FROM users", "expected": []}]}, "eval.db_state[0].sql"),
    ("eval", {"eval_types": ["db_state"], "db_state": [{"sql": "SELECT 1"}]}, "eval.db_state[0]"),
    ("difficulty", "trivial", "difficulty"),
    ("reference", "click [1]", "reference"),
])
def test_malformed_task_names_file_and_field(tmp_path, path, value, field):
    bad = tmp_path / "bad_tasks.json"
    bad.write_text(json.dumps([with_(path, value)]))
    with pytest.raises(TaskConfigError) as err:
        load_tasks(bad)
    msg = str(err.value)
    assert "bad_tasks.json" in msg and f"'{field}'" in msg
    assert isinstance(err.value, ConfigError)
    if field != "task_id":  # the task is named by its id (a bad id is "a task")
        assert "task x-1:" in msg


def test_not_json_and_duplicates_and_missing_paths(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"task_id": 1,}]')
    with pytest.raises(TaskConfigError, match=r"broken\.json: not valid JSON \(line 1"):
        load_tasks(broken)
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(GOOD))
    (folder / "b.json").write_text(json.dumps(GOOD))
    with pytest.raises(TaskConfigError, match=r"b\.json: task x-1: field 'task_id' repeats"):
        load_tasks(folder)
    with pytest.raises(TaskConfigError, match="no such task file"):
        load_tasks(tmp_path / "nope.json")
    with pytest.raises(TaskConfigError, match="must be a JSON object"):
        task_from_dict(["not", "a", "task"], "x.json")


def test_resolve_url_placeholders():
    urls = {"shop": "http://127.0.0.1:1/shop", "shopping_admin": "http://h:7780/admin", "shopping": "http://h:7770"}
    assert resolve_url("__SHOP__/cart", urls) == "http://127.0.0.1:1/shop/cart"
    assert resolve_url("__SHOPPING_ADMIN__/sales |OR| __SHOPPING__/x", urls) == "http://h:7780/admin/sales |OR| http://h:7770/x"
    assert resolve_url("http://example.test/a__b", urls) == "http://example.test/a__b"
    with pytest.raises(ConfigError, match="__GITLAB__") as err:
        resolve_url("__GITLAB__/dashboard", urls)
    assert "PONDER_WEBARENA_GITLAB" in str(err.value)
    with pytest.raises(ConfigError, match="__WIKI__"):
        resolve_url("__WIKI__/", urls)


def test_cli_lists_every_task_as_json():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ponder.cli.main", "web", "tasks", "--json"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [t.task_id for t in builtin_tasks()]
    assert all({"id", "site", "difficulty", "eval_types"} <= set(r) for r in rows)
    bad = subprocess.run([sys.executable, "-m", "ponder.cli.main", "web", "tasks", "--path", "/no/such/tasks.json"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "no such task file" in bad.stderr and "Traceback" not in bad.stderr
