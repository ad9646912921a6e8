"""MiniWoB++ task pages from the installed package, served on loopback, solved in real Chromium
by a scripted policy that reads only the observation and the utterance."""

import re

import pytest

from ponder.environments.miniwob import RECOMMENDED_TASKS, MiniWoBEnv, miniwob_tasks
from ponder.errors import ConfigError, EnvError

pytestmark = pytest.mark.slow


def _ids(text: str, role: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"\[(\d+)\] " + role + r"\b", text)]


def _quoted(s: str) -> list[str]:
    return re.findall(r'"([^"]*)"', s)


def policy(task: str, obs) -> list[str]:
    """A correct policy for each task, written against the observation text."""
    u, t = obs.intent, obs.text
    if task == "click-button":
        return [f"click [button '{_quoted(u)[0]}']"]
    if task == "click-link":  # a span with a click handler: a 'clickable' text line
        return [f"click [StaticText '{_quoted(u)[0]}']"]
    if task == "enter-text":
        return [f"type [{_ids(t, 'textbox')[0]}] [{_quoted(u)[0]}] [0]", "click [button 'Submit']"]
    if task == "login-user":
        user, pw = _quoted(u)[:2]
        a, b = _ids(t, "textbox")[:2]
        return [f"type [{a}] [{user}] [0]", f"type [{b}] [{pw}] [0]", "click [button 'Login']"]
    if task == "choose-list":
        option = re.search(r"Select (.*) from the list", u).group(1)
        return [f"select [{_ids(t, 'combobox')[0]}] [{option}]", "click [button 'Submit']"]
    if task == "click-checkboxes":
        wanted = re.search(r"Select (.*) and click Submit", u).group(1)
        names = [] if wanted.startswith("nothing") else [w.strip() for w in wanted.split(",") if w.strip()]
        return [f"click [checkbox '{n}']" for n in names] + ["click [button 'Submit']"]
    if task == "click-tab":
        return [f"click [link '{re.search(r'Click on (Tab #[0-9]+)', u).group(1)}']"]
    if task == "focus-text":
        return [f"click [{_ids(t, 'textbox')[0]}]"]
    if task == "click-dialog":
        return ["click [button 'Close']"]
    if task == "click-dialog-2":
        return [f"click [button '{_quoted(u)[0]}']"]
    if task == "click-button-sequence":
        return ["click [button 'ONE']", "click [button 'TWO']"]
    if task == "email-inbox-delete":  # open the email, then its trash icon (an unnamed image)
        sender = re.search(r"email by (\w+)", u).group(1)
        return [f"click [StaticText '{sender}']", "TRASH"]
    if task == "enter-date":  # a date input takes 10/11/2011 as people write it
        date = re.search(r"Enter (\S+) as the date", u).group(1)
        return [f"type [{_ids(t, 'Date')[0]}] [{date}] [0]", "click [button 'Submit']"]
    if task == "click-collapsible":
        return [f"click [{_ids(t, 'tab')[0]}]", "click [button 'Submit']"]
    raise AssertionError(task)


SOLVED = ["click-button", "click-link", "enter-text", "login-user", "choose-list", "click-checkboxes",
          "click-tab", "focus-text", "click-dialog", "click-dialog-2", "click-button-sequence",
          "email-inbox-delete", "enter-date", "click-collapsible"]


@pytest.fixture(scope="module")
def env():
    e = MiniWoBEnv()
    yield e
    e.close()


@pytest.mark.parametrize("task", SOLVED)
def test_scripted_policy_gets_positive_reward(env, task):
    obs = env.reset(task, seed=7)
    assert obs.intent and f"StaticText '{obs.intent}'" in obs.text  # the instruction is on the page
    assert obs.url.endswith(f"/miniwob/{task}.html")
    assert not env.done and env.evaluate().value == 0.0  # nothing done yet
    for action in policy(task, obs):
        if action == "TRASH":
            line = next(ln for ln in env.last_observation.text.splitlines() if "image class='trash'" in ln)
            action = f"click [{line.split(']')[0].strip().lstrip('[')}]"
        res = env.step(action)
        assert res.observation.last_action_error is None, (action, res.observation.last_action_error)
    assert res.done
    score = env.evaluate()
    assert score.value > 0, score.details
    assert score.details["raw_reward"] == pytest.approx(1.0)


def test_wrong_action_gets_no_reward_and_seeds_repeat(env):
    obs = env.reset("click-button", seed=3)
    again = env.reset("click-button", seed=3)
    assert again.intent == obs.intent and again.text == obs.text  # same seed, same episode
    wrong = next(line for line in obs.text.splitlines()
                 if "] button '" in line and f"'{_quoted(obs.intent)[0]}'" not in line)
    res = env.step(f"click [{wrong.split(']')[0].strip().lstrip('[')}]")
    assert res.done and env.evaluate().value == 0.0
    assert env.evaluate().details["raw_reward"] < 0


def test_replay_and_errors(env):
    env.reset("enter-text", seed=1)
    res = env.step("click [button 'Nope']")
    assert res.info["error"] == "element" and not res.done
    obs = env.replay(["scroll [down]"])
    assert env.actions_taken == ["scroll [down]"] and obs.intent
    assert env.can_snapshot is False
    with pytest.raises(EnvError, match="replay"):
        env.snapshot()
    with pytest.raises(ConfigError, match="no MiniWoB"):
        env.reset("no-such-task")


def test_recommended_tasks_all_ship_with_the_package():
    assert set(RECOMMENDED_TASKS) <= set(miniwob_tasks())
    assert len(RECOMMENDED_TASKS) >= 20
