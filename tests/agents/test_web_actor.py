"""The web actor: lenient parsing, frequency ranking, one batched call, nonsense -> raw action."""

from __future__ import annotations

import pytest

from ponder.agents.web_actor import ActorConfig, WebActor, parse_action, rank, truncate
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Usage

PAGE = "[1] RootWebArea 'Shop'\n\t[3] link 'Electronics'\n\t[4] searchbox 'Search'\n\t[5] button 'Add to cart'"


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("Action: click [3]", "click [3]"),
        ("I think the next action is ```click [3]```", "click [3]"),
        ("click [Electronics]", "click [3]"),
        ("click [link 'Electronics']", "click [3]"),
        ("Action: type [4] [usb cable] [1]", "type [4] [usb cable] [1]"),
        ("type [Search] [usb]", "type [4] [usb] [1]"),
        ("scroll down", "scroll [down]"),
        ("go_back", "go_back"),
        ("stop [$9.99]", "stop [$9.99]"),
        ("Action: stop [\"Paris\"]", "stop [Paris]"),
        ("Click 3", "click [3]"),
        ("The quick brown fox", None),
        ("click [Nonexistent thing]", None),
        ("", None),
    ],
)
def test_parse_action_is_lenient_but_never_invents_elements(reply, expected):
    assert parse_action(reply, PAGE) == expected


def test_rank_orders_distinct_actions_by_frequency_then_first_seen():
    ranked = rank(["click [3]", "stop [x]", "Action: click [3]", "click [Electronics]", "stop [x]", "junk"], PAGE)
    assert [(c.action, c.count) for c in ranked] == [("click [3]", 3), ("stop [x]", 2)]
    assert all(c.parsed for c in ranked)


def test_rank_returns_the_raw_reply_when_nothing_parses():
    ranked = rank(["blah blah", "more blah"], PAGE)
    assert len(ranked) == 1 and not ranked[0].parsed and ranked[0].action == "blah blah"


def test_propose_samples_all_candidates_in_one_batched_call():
    replies = iter(["click [3]", "click [3]", "type [4] [usb] [1]", "nonsense", "click [3]"])
    model = ScriptedChatModel(default=lambda m: next(replies))
    actor = WebActor(model, ActorConfig(n=5, max_obs_chars=50))
    usage = Usage()
    cands = actor.propose("Find a usb cable", PAGE, "http://shop/", ["goto [http://shop/]"], usage=usage)
    assert [c.action for c in cands] == ["click [3]", "type [4] [usb] [1]"]
    assert usage.calls == 1 and len(model.calls) == 1
    prompt = model.calls[0][-1]["content"]
    assert "Objective: Find a usb cable" in prompt and "Previous actions: goto [http://shop/]" in prompt
    # the observation was cut to max_obs_chars
    assert "Add to cart" not in prompt


def test_truncate_cuts_at_a_line_end():
    text = "line one\nline two\nline three"
    assert truncate(text, 100) == text
    assert truncate(text, 15) == "line one\n..."
