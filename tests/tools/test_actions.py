"""The action parser: how models really write actions, and what it refuses."""

import pytest

from ponder.tools.actions import ACTION_NAMES, Action, ActionError, ElementRef, normalize_keys, parse_action


@pytest.mark.parametrize(
    "text, expected",
    [
        ("click [12]", Action("click", target=12)),
        ("  CLICK  [ 12 ]  ", Action("click", target=12)),
        ("click [\"12\"]", Action("click", target=12)),
        ("click ['12']", Action("click", target=12)),
        ("click 12", Action("click", target=12)),
        ("click(12)", Action("click", target=12)),
        ("click(element_id=12)", Action("click", target=12)),
        ("click [id=12]", Action("click", target=12)),
        ("hover [7]", Action("hover", target=7)),
        ("click [link 'Electronics']", Action("click", target=ElementRef("link", "Electronics"))),
        ('click [button "Add to cart"]', Action("click", target=ElementRef("button", "Add to cart"))),
        ("click ['Sign in']", Action("click", target=ElementRef("", "Sign in"))),
        ("type [5] [usb cable] [1]", Action("type", target=5, text="usb cable", enter=True)),
        ("type [5] [usb cable] [0]", Action("type", target=5, text="usb cable", enter=False)),
        ("type [5] [usb cable]", Action("type", target=5, text="usb cable", enter=True)),  # WebArena's default
        ("type [5] [\"usb cable\"] [0]", Action("type", target=5, text="usb cable", enter=False)),
        ("type [5] [a [b] c] [0]", Action("type", target=5, text="a [b] c", enter=False)),
        ("type [5] [1]", Action("type", target=5, text="1", enter=True)),  # one argument is the text
        ("type [searchbox 'Search'] [usb] [1]", Action("type", target=ElementRef("searchbox", "Search"), text="usb", enter=True)),
        ("type(12, \"hello, world\", 0)", Action("type", target=12, text="hello, world", enter=False)),
        ("type [5] [x] [press_enter_after=0]", Action("type", target=5, text="x", enter=False)),
        ("select [3] [Price: low to high]", Action("select", target=3, text="Price: low to high")),
        ("press [ctrl+a]", Action("press", text="Control+a")),
        ("press [Enter]", Action("press", text="Enter")),
        ("press enter", Action("press", text="Enter")),
        ("scroll [down]", Action("scroll", text="down")),
        ("scroll [direction=up]", Action("scroll", text="up")),
        ("scroll down the page", Action("scroll", text="down")),
        ("goto [__SHOP__/cart]", Action("goto", text="__SHOP__/cart")),
        ("goto [url=http://127.0.0.1:8000/]", Action("goto", text="http://127.0.0.1:8000/")),
        ("goto http://127.0.0.1:8000/x and look", Action("goto", text="http://127.0.0.1:8000/x")),
        ("go_back", Action("go_back")),
        ("go_back []", Action("go_back")),
        ("go_forward", Action("go_forward")),
        ("goback", Action("go_back")),
        ("new_tab", Action("new_tab")),
        ("tab_focus [1]", Action("tab_focus", index=1)),
        ("tab_focus [page_number=0]", Action("tab_focus", index=0)),
        ("close_tab", Action("close_tab")),
        ("stop [$25.99]", Action("stop", text="$25.99")),
        ("stop []", Action("stop", text="")),
        ("stop [\"N/A\"]", Action("stop", text="N/A")),
        ("stop [answer=42]", Action("stop", text="42")),
        ("stop [The answer is [a] b]", Action("stop", text="The answer is [a] b")),
    ],
)
def test_canonical_and_sloppy_forms(text, expected):
    assert parse_action(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # WebArena's own prompt format
        ("Let's think step-by-step. The cart is empty. In summary, the next action I will perform is ```click [12]```",
         "click [12]"),
        ("```\ntype [4] [laptop] [1]\n```", "type [4] [laptop] [1]"),
        ("```python\nscroll [down]\n```", "scroll [down]"),
        # an earlier fence is an example; the last one is the answer
        ("For example ```click [1]``` would open home. Instead: ```click [9]```", "click [9]"),
        ("Action: click [3]", "click [3]"),
        ("Thought: I need to search.\nAction: type [5] [usb] [1]", "type [5] [usb] [1]"),
        ("- click [3]", "click [3]"),
        ("Let me click on the login button. click [7]", "click [7]"),
        ("I think I should go back. go_back", "go_back"),
        ("The price is shown. stop [$9.99]", "stop [$9.99]"),
        ("Use `click [4]` now.", "click [4]"),
        ("I will type the name into it: type [8] [Alex] [0]", "type [8] [Alex] [0]"),
        ("click [12] to open the product page", "click [12]"),
    ],
)
def test_actions_inside_prose(text, expected):
    assert str(parse_action(text)) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello there", "no action"),
        ("I am not sure what to do.", "no action"),
        ("click", "needs an element"),
        ("click [abc]", "not an element id"),
        ("click the blue button", "not an element id"),
        ("type [3]", "needs an element and text"),
        ("scroll [left]", "up] or [down]"),
        ("tab_focus [two]", "tab number"),
        ("goto []", "needs a URL"),
        ("press []", "needs keys"),
        ("select [3]", "needs an element and an option"),
        ("type [3] [x] [maybe] [2]", None),  # "[maybe] [2]" is not a 0/1 flag: text keeps it all
    ],
)
def test_unreadable_actions_raise_action_error_naming_the_problem(text, fragment):
    if fragment is None:
        a = parse_action(text)
        assert a.text == "x] [maybe] [2" and a.enter is True
        return
    with pytest.raises(ActionError) as err:
        parse_action(text)
    assert fragment in str(err.value)
    assert err.value.hint  # every parse error says what to write instead


def test_round_trip_of_every_action_name():
    samples = {
        "click": "click [3]", "type": "type [3] [abc] [0]", "hover": "hover [3]", "press": "press [Enter]",
        "scroll": "scroll [up]", "goto": "goto [http://127.0.0.1:1/x]", "go_back": "go_back",
        "go_forward": "go_forward", "new_tab": "new_tab", "tab_focus": "tab_focus [2]",
        "close_tab": "close_tab", "select": "select [4] [Red]", "stop": "stop [done]",
    }
    assert set(samples) == set(ACTION_NAMES)
    for name, text in samples.items():
        a = parse_action(text)
        assert a.name == name
        assert str(a) == text
        assert parse_action(str(a)) == a
        assert a.to_dict()["name"] == name


def test_normalize_keys():
    assert normalize_keys("ctrl+shift+k") == "Control+Shift+k"
    assert normalize_keys("Cmd + A") == "Meta+A"
    assert normalize_keys("esc") == "Escape"
    assert normalize_keys("PageDown") == "PageDown"
