"""Snapshot/restore on the real sites in real Chromium: after any mutation, restore gives the
same observation text and the same database content as at snapshot time."""

import pytest

from ponder.environments.server import SiteServer
from ponder.environments.tasks import Task
from ponder.environments.webenv import StateId, WebEnv
from ponder.errors import EnvError

pytestmark = pytest.mark.slow


def task(start="__SHOP__/", sites=("shop",)):
    return Task(task_id="snap", sites=list(sites), start_url=start, intent="Buy something.", require_login=True,
                eval={"eval_types": ["string_match"], "reference_answers": {"exact_match": "x"}})


@pytest.fixture(scope="module")
def env():
    server = SiteServer().start()
    e = WebEnv(server=server)
    yield e
    e.close()
    server.stop()


def db_dump(env) -> str:
    conn = env.server.db()
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def ok(env, action):
    res = env.step(action)
    assert res.observation.last_action_error is None, (action, res.observation.last_action_error)
    return res.observation


def test_restore_undoes_cart_typing_and_navigation(env):
    env.reset(task())
    ok(env, "click [link 'Electronics']")
    obs = ok(env, "click [link 'Voltix Pro Bluetooth Speaker']")
    assert "button 'Add to cart'" in obs.text
    ok(env, "type [spinbutton 'Quantity'] [3] [0]")  # a form value that only lives in the page
    ok(env, "scroll [down]")
    state = env.snapshot()
    text, url, db = env.last_observation.text, env.last_observation.url, db_dump(env)
    scroll = env.page.evaluate("window.scrollY")
    assert "value='3'" in text and scroll > 0

    # mutate everything: server state, a field, the page, the tabs
    cart = ok(env, "click [button 'Add to cart']")
    assert db_dump(env) != db  # the cart row is in the database
    ok(env, "type [searchbox 'Search'] [usb] [1]")
    ok(env, "new_tab")
    ok(env, "goto [__FORUM__/]")
    assert cart.url != url

    back = env.restore(state)
    assert back.text == text
    assert back.url == url and back.tabs == [env.last_observation.tabs[0]] and len(back.tabs) == 1
    assert db_dump(env) == db
    assert env.page.evaluate("window.scrollY") == scroll
    assert env.actions_taken == list(state.actions)

    # the restored state is live: acting from it works and changes the database again
    ok(env, "click [button 'Add to cart']")
    assert db_dump(env) != db
    # and a state can be restored any number of times
    assert env.restore(state).text == text and db_dump(env) == db


def test_restore_round_trips_between_two_states(env):
    env.reset(task())
    a = env.snapshot()
    text_a, db_a = env.last_observation.text, db_dump(env)
    ok(env, "goto [__SHOP__/checkout]")
    ok(env, "type [textbox 'City'] [Lisbon] [0]")
    b = env.snapshot()
    text_b, db_b = env.last_observation.text, db_dump(env)
    ok(env, "click [button 'Place order']")  # an order is placed: the database changes
    assert db_dump(env) not in (db_a, db_b)
    for state, text, db in [(a, text_a, db_a), (b, text_b, db_b), (a, text_a, db_a), (b, text_b, db_b)]:
        assert env.restore(state).text == text
        assert db_dump(env) == db
    assert "value='Lisbon'" in env.last_observation.text
    assert isinstance(a, StateId) and a != b and len({a, b}) == 2


def test_restore_keeps_history_tabs_and_episode_state(env):
    env.reset(task())
    ok(env, "click [link 'Books']")
    ok(env, "click [link 'My cart']")
    ok(env, "new_tab")
    ok(env, "goto [__WIKI__/]")
    state = env.snapshot()
    tabs, text = env.last_observation.tabs, env.last_observation.text
    ok(env, "close_tab")
    ok(env, "go_back")
    env.step("stop [done]")
    assert env.done
    back = env.restore(state)
    assert back.tabs == tabs and back.text == text and back.active_tab == 1
    assert not env.done and env.answer is None
    ok(env, "tab_focus [0]")
    obs = ok(env, "go_back")  # the first tab's history came back with it
    assert obs.url.endswith("/shop/category/books")


def test_restore_across_a_reset_to_another_task(env):
    env.reset(task("__FORUM__/", sites=("forum",)))
    state = env.snapshot()
    text, db = env.last_observation.text, db_dump(env)
    env.reset(task())
    ok(env, "click [link 'Electronics']")
    assert env.restore(state).text == text and db_dump(env) == db
    assert env.task.sites == ["forum"]


def test_replay_reaches_the_same_state_as_restore(env):
    env.reset(task())
    actions = ["click [link 'Electronics']", "click [link 'Voltix Pro Bluetooth Speaker']",
               "type [spinbutton 'Quantity'] [2] [0]"]
    for a in actions:
        ok(env, a)
    state = env.snapshot()
    text = env.last_observation.text
    ok(env, "click [button 'Add to cart']")
    assert env.replay(actions).text == text
    assert env.restore(state).text == text


def test_restore_rejects_a_foreign_token(env):
    with pytest.raises(EnvError, match="StateId"):
        env.restore("not a state")


def test_bench_env_reports_exact_restores_and_replays():
    from ponder.evals.bench import run_bench

    result = run_bench("env", quick=True, rounds="1")
    m = result["metrics"]
    assert result["bench"] == "env"
    assert m["restore_exact"] is True and m["replay_exact"] is True and m["action_errors"] == 0
    assert m["prefix_actions"] == 5 and m["rounds"] == 1
    for key in ("step_ms_p50", "restore_ms_p50", "replay_ms_p50", "restore_speedup", "snapshot_ms_p50"):
        assert m[key] > 0
    assert m["restore_speedup"] == pytest.approx(m["replay_ms_p50"] / m["restore_ms_p50"], rel=0.01)
