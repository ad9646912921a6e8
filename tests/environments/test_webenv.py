"""WebEnv on the real local sites in real Chromium: reset, steps, errors as observations,
usage charging, origin guard, destructive flags, and a crashed browser. One env per module."""

import os
import signal

import psutil
import pytest

from ponder.environments.server import SiteServer
from ponder.environments.tasks import Task, builtin_tasks
from ponder.environments.webenv import Observation, RemoteSites, StepResult, WebEnv
from ponder.errors import BudgetExceeded, EnvError
from ponder.usage import Budget, Usage

pytestmark = pytest.mark.slow


def shop_task(start="__SHOP__/", login=True, **kw):
    return Task(task_id="t-shop", sites=["shop"], start_url=start, intent="Look around the shop.",
                require_login=login, eval=kw.pop("eval", {"eval_types": ["string_match"],
                                                        "reference_answers": {"exact_match": "x"}}), **kw)


@pytest.fixture(scope="module")
def server():
    s = SiteServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def env(server, browser):
    e = WebEnv(server=server, browser=browser)
    yield e
    e.close()


def test_reset_gives_the_start_page_logged_in(env, server):
    obs = env.reset(shop_task())
    assert isinstance(obs, Observation)
    assert obs.url == server.base_urls["shop"] + "/"
    assert obs.intent == "Look around the shop."
    assert obs.last_action_error is None and obs.screenshot is None
    assert obs.text.startswith("[1] RootWebArea ")
    assert "link 'My account'" in obs.text
    assert env.actions_taken == [] and env.answer is None and not env.done


def test_steps_navigate_and_stop_ends_the_episode(env, server):
    env.reset(shop_task())
    res = env.step("In summary, the next action I will perform is ```click [link 'Electronics']```")
    assert isinstance(res, StepResult) and not res.done
    assert res.observation.url.endswith("/shop/category/electronics")
    assert res.info["action"] == {"name": "click", "target": "link 'Electronics'"}
    assert res.info["error"] is None and res.info["destructive"] is False
    # a numeric id from the observation works the same way
    line = next(x for x in res.observation.text.splitlines() if "link 'Shop home'" in x)
    res = env.step(f"click [{line.split(']')[0].strip().lstrip('[')}]")
    assert res.observation.url == server.base_urls["shop"] + "/"
    res = env.step("stop [42]")
    assert res.done and res.answer == "42" and env.answer == "42"
    again = env.step("click [3]")
    assert again.done and again.info["error"] == "done" and "ended" in again.observation.last_action_error
    assert env.actions_taken[-1] == "stop [42]"  # steps after the end are not actions taken


def test_bad_actions_are_error_observations(env):
    env.reset(shop_task())
    for action, kind in [("fly to the moon", "parse"), ("click [9999]", "element"),
                         ("click [button 'No such button']", "element"), ("scroll [sideways]", "parse"),
                         ("goto [__NOPE__/x]", "input"), ("tab_focus [4]", "input")]:
        res = env.step(action)
        assert not res.done
        assert res.observation.last_action_error, action
        assert res.info["error"] == kind, (action, res.info)
        assert res.observation.text  # the page is still shown
    assert not env.done


def test_origin_guard_on_the_sites(env, server):
    env.reset(shop_task())
    res = env.step("goto [https://www.google.com/]")
    assert res.info["error"] == "blocked" and "outside this environment" in res.observation.last_action_error
    assert res.observation.url == server.base_urls["shop"] + "/"
    res = env.step("goto [file:///etc/passwd]")
    assert res.info["error"] == "blocked"
    res = env.step("goto [__WIKI__/]")  # another of the env's own sites is fine
    assert res.info["error"] is None and res.observation.url.startswith(server.base_urls["wiki"])


def test_usage_is_charged_and_budget_checked_before_the_step(server, browser):
    usage = Usage(budget=Budget(env_steps=2))
    with WebEnv(server=server, usage=usage, browser=browser) as e:
        e.reset(shop_task(login=False))
        after_reset = usage.env_seconds
        assert after_reset > 0 and usage.env_steps == 0  # reset time is charged, not as a step
        e.step("scroll [down]")
        e.step("not an action")  # a bad action still costs a step
        assert usage.env_steps == 2 and usage.env_seconds > after_reset
        state = e.snapshot()
        before = usage.env_seconds
        e.restore(state)
        assert usage.env_steps == 2 and usage.env_seconds > before
        with pytest.raises(BudgetExceeded):
            e.step("scroll [down]")
        assert usage.env_steps == 2


def test_destructive_flag_on_placing_an_order(env):
    obs = env.reset(shop_task("__SHOP__/checkout"))
    assert "button 'Place order'" in obs.text, obs.text
    res = env.step("type [textbox 'City'] [Springfield] [0]")
    assert res.info["destructive"] is False
    before = _orders(env)
    res = env.step("click [button 'Place order']")
    assert res.info["destructive"] is True and res.info["error"] is None
    assert _orders(env) == before + 1
    env.reset(shop_task())
    assert env.step("type [searchbox 'Search'] [usb] [1]").info["destructive"] is False  # a GET search
    assert env.step("click [link 'Electronics']").info["destructive"] is False


def _orders(env):
    conn = env.server.db()
    try:
        return conn.execute("SELECT COUNT(*) FROM shop_orders").fetchone()[0]
    finally:
        conn.close()


def test_reference_solution_scores_and_do_nothing_does_not(env):
    task = next(t for t in builtin_tasks("shop") if t.category == "info" and t.reference)
    env.reset(task)
    for a in task.reference:
        res = env.step(a)
        assert res.observation.last_action_error is None, (a, res.observation.last_action_error)
    assert env.evaluate().value == 1.0
    env.reset(task)
    env.step("stop []")
    assert env.evaluate().value == 0.0


def test_screenshot_option(server, browser):
    with WebEnv(server=server, screenshot=True, browser=browser) as e:
        obs = e.reset(shop_task(login=False))
        assert obs.screenshot[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_crashed_browser_is_restarted_and_reported_as_an_env_error(server):
    with WebEnv(server=server) as e:
        e.reset(shop_task())
        e.step("click [link 'Electronics']")
        pid = e.browser.pid
        assert pid is not None
        proc = psutil.Process(pid)
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        res = e.step("click [link 'Shop home']")
        assert res.done is True
        assert res.info["error"] == "env" and "environment error" in res.info["env_error"]
        assert res.observation.last_action_error == res.info["env_error"]
        with pytest.raises(EnvError):  # an environment failure, not a task failure
            e.evaluate()
        # the browser was relaunched: the next episode works
        assert e.browser.restarts == 1 and e.browser.pid not in (None, pid)
        obs = e.reset(shop_task())
        assert "link 'Electronics'" in obs.text
        assert e.step("click [link 'Electronics']").observation.url.endswith("/category/electronics")


def test_step_before_reset_is_a_clear_error(server, browser):
    with WebEnv(server=server, browser=browser) as e:
        with pytest.raises(EnvError, match="before reset"):
            e.step("click [1]")


def test_cli_act_runs_a_reference_solution(capsys):
    import json

    from ponder.cli.main import main

    main(["web", "act", "shop-001", "--reference", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert rows[-1]["task"] == "shop-001" and rows[-1]["score"] == 1.0
    assert rows[-2]["done"] is True and all(r["error"] is None for r in rows[:-1])


def test_a_long_page_is_a_window_that_scrolling_moves(server, browser):
    with WebEnv(server=server, max_obs_chars=900, viewport=(1000, 300), browser=browser) as e:
        top = e.reset(shop_task("__SHOP__/category/electronics", login=False))
        assert len(top.text) <= 900 and "more lines below; scroll down" in top.text
        assert "lines above" not in top.text
        down = e.step("scroll [down]").observation
        assert "lines above; scroll up" in down.text and down.text != top.text
        assert len(down.text) <= 900
        # ids are the page's, not the window's: an element seen after scrolling still resolves
        last_link = [ln for ln in down.text.splitlines() if "] link '" in ln][-1]
        res = e.step(f"click [{last_link.split(']')[0].strip().lstrip('[')}]")
        assert res.info["error"] is None and "/product/" in res.observation.url
        assert e.step("go_back").observation.url.endswith("/category/electronics")


def test_remote_sites_are_replay_only(server, browser):
    remote = RemoteSites(server.base_urls)  # stands in for a real WebArena deployment
    with WebEnv(server=remote, browser=browser) as e:
        assert e.can_snapshot is False
        obs = e.reset(shop_task(login=False))
        assert obs.url == server.base_urls["shop"] + "/"
        with pytest.raises(EnvError, match="replay"):
            e.snapshot()
        assert e.replay(["click [link 'Electronics']"]).url.endswith("/category/electronics")
        assert e.actions_taken == ["click [link 'Electronics']"]
    with pytest.raises(EnvError, match="base URL"):
        RemoteSites({})
