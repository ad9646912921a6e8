"""A deterministic toy web environment with the :class:`~ponder.environments.webenv.WebEnv`
interface, for fast tests of agents and search.

The world is a tree of pages. Each page lists its links as ``[id] link 'Label'`` lines (ids are
stable per page) and may show some text. ``click [id]`` follows a link, ``go_back`` returns to
the parent page, ``stop [answer]`` ends the episode; anything else is an error in the
observation (never an exception). A link may be *destructive* (``info["destructive"]`` is set
when it is followed, and it appends to the server-side ``orders`` list that snapshot/restore
must roll back). ``snapshot()`` copies the whole state; ``restore()`` puts the copy back.

The default site (:func:`shop_tree`) has one best path for :func:`price_task`:
Home -> Electronics -> Laptops -> Zen Laptop -> ``stop [$999]``.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
from dataclasses import dataclass, field

from ponder.text import normalize_answer

try:  # share the real environment's record types once they exist
    from ponder.environments.webenv import Observation, Score, StepResult  # type: ignore
except ImportError:  # pragma: no cover - only while the real environment is not built

    @dataclass
    class Observation:  # type: ignore[no-redef]
        text: str
        url: str
        tabs: list = field(default_factory=list)
        last_action_error: str = ""
        screenshot: bytes | None = None
        intent: str = ""

    @dataclass
    class StepResult:  # type: ignore[no-redef]
        observation: Observation
        done: bool
        answer: str | None
        info: dict = field(default_factory=dict)

    @dataclass
    class Score:  # type: ignore[no-redef]
        value: float
        details: dict = field(default_factory=dict)


@dataclass
class ToyPage:
    """One page: its text and its links (label -> page name). ``destructive`` names links
    that commit state (an order)."""

    name: str
    text: str = ""
    links: dict[str, str] = field(default_factory=dict)
    destructive: set[str] = field(default_factory=set)


@dataclass
class ToyTask:
    """A toy task: answer ``answer`` (normalised exact match) or, when ``goal`` is set,
    end on that page (and, when ``order`` is set, with that order placed)."""

    task_id: str
    intent: str
    answer: str | None = None
    goal: str | None = None
    order: str | None = None
    start: str = "Home"


def shop_tree() -> dict[str, ToyPage]:
    """A small shop whose tempting first link (Books) is a dead end."""
    pages = [
        ToyPage("Home", "Welcome to the toy shop.", {"Books": "Books", "Electronics": "Electronics", "Account": "Account"}),
        ToyPage("Books", "Books for every reader.", {"Novels": "Novels", "Cookbooks": "Cookbooks"}),
        ToyPage("Novels", "Novel 'Dune' costs $12."),
        ToyPage("Cookbooks", "Cookbook 'Salt' costs $30."),
        ToyPage("Electronics", "Gadgets and computers.", {"Phones": "Phones", "Laptops": "Laptops"}),
        ToyPage("Phones", "Phone 'Pix' costs $499."),
        ToyPage("Laptops", "Laptops in stock.", {"Zen Laptop": "Zen Laptop", "Air Laptop": "Air Laptop"}),
        ToyPage("Zen Laptop", "Zen Laptop. Price: $999. Rating 4.5.", {"Buy now": "Order placed"}, {"Buy now"}),
        ToyPage("Air Laptop", "Air Laptop. Price: $1299. Rating 4.1.", {"Buy now": "Order placed"}, {"Buy now"}),
        ToyPage("Order placed", "Thank you, your order is placed."),
        ToyPage("Account", "Your account. No orders yet."),
    ]
    return {p.name: p for p in pages}


def price_task() -> ToyTask:
    return ToyTask("toy-price", "What is the price of the Zen Laptop?", answer="$999")


def buy_task() -> ToyTask:
    return ToyTask("toy-buy", "Buy the Zen Laptop.", goal="Order placed", order="Zen Laptop")


def slug(name: str) -> str:
    return "/" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


_ACTION = re.compile(r"^\s*(\w+)\s*(?:\[(.*?)\])?", re.S)


class ToyEnv:
    """The toy environment. ``can_snapshot=False`` imitates a site that can only be reset and
    replayed; ``server_resets=False`` imitates a real deployment whose server state (the orders)
    survives a reset; ``step_delay`` imitates a slow browser (seconds per step)."""

    def __init__(
        self,
        pages: dict[str, ToyPage] | None = None,
        *,
        can_snapshot: bool = True,
        server_resets: bool = True,
        step_delay: float = 0.0,
    ):
        self.pages = pages or shop_tree()
        self.can_snapshot = can_snapshot
        self.server_resets = server_resets
        self.step_delay = step_delay
        self.task: ToyTask | None = None
        self._state: dict = {}
        self._snapshots: dict[int, dict] = {}
        self._ids = itertools.count(1)
        self.counts = {"reset": 0, "step": 0, "snapshot": 0, "restore": 0, "replay": 0}
        self.closed = False

    # ---- the WebEnv interface ------------------------------------------------------------
    @property
    def actions_taken(self) -> list[str]:
        return list(self._state.get("actions", []))

    def reset(self, task: ToyTask) -> Observation:
        self.task = task
        self.counts["reset"] += 1
        orders = [] if self.server_resets else list(self._state.get("orders", []))
        self._state = {"page": task.start, "trail": [], "answer": None, "done": False, "orders": orders, "actions": [], "error": ""}
        return self._observe()

    def step(self, action: str) -> StepResult:
        if self.task is None:
            raise RuntimeError("reset() before step()")
        if self.step_delay:
            time.sleep(self.step_delay)
        self.counts["step"] += 1
        s = self._state
        s["actions"].append(action)
        s["error"] = ""
        info: dict = {"destructive": False}
        if s["done"]:
            s["error"] = "the episode is over"
            return StepResult(self._observe(), True, s["answer"], info)
        m = _ACTION.match(action or "")
        verb, arg = (m.group(1).lower(), (m.group(2) or "").strip()) if m else ("", "")
        page = self.pages[s["page"]]
        labels = list(page.links)
        if verb == "click" and arg.isdigit() and 1 <= int(arg) <= len(labels):
            label = labels[int(arg) - 1]
            if label in page.destructive:
                info["destructive"] = True
                s["orders"].append(page.name)
            s["trail"].append(s["page"])
            s["page"] = page.links[label]
        elif verb == "click":
            s["error"] = f"no element with id [{arg}] on this page"
        elif verb == "go_back":
            if s["trail"]:
                s["page"] = s["trail"].pop()
            else:
                s["error"] = "no page to go back to"
        elif verb == "stop":
            s["done"], s["answer"] = True, arg
        else:
            s["error"] = f"cannot parse action {action!r}"
        return StepResult(self._observe(), s["done"], s["answer"], info)

    def snapshot(self) -> int:
        if not self.can_snapshot:
            raise RuntimeError("this environment cannot snapshot")
        self.counts["snapshot"] += 1
        sid = next(self._ids)
        self._snapshots[sid] = copy.deepcopy(self._state)
        return sid

    def restore(self, state: int) -> Observation:
        if state not in self._snapshots:
            raise KeyError(f"unknown snapshot {state}")
        self.counts["restore"] += 1
        self._state = copy.deepcopy(self._snapshots[state])
        return self._observe()

    def replay(self, actions: list[str]) -> Observation:
        assert self.task is not None
        self.counts["replay"] += 1
        obs = self.reset(self.task)
        self.counts["reset"] -= 1
        for a in actions:
            obs = self.step(a).observation
        return obs

    def evaluate(self) -> Score:
        t, s = self.task, self._state
        assert t is not None
        if t.answer is not None:
            ok = s["answer"] is not None and normalize_answer(s["answer"]) == normalize_answer(t.answer)
            return Score(1.0 if ok else 0.0, {"answer": s["answer"], "expected": t.answer})
        ok = s["page"] == t.goal and (t.order is None or s["orders"] == [t.order])
        return Score(1.0 if ok else 0.0, {"page": s["page"], "orders": list(s["orders"])})

    def close(self) -> None:
        self.closed = True

    # ---- helpers ----------------------------------------------------------------------------
    @property
    def reset_restores_state(self) -> bool:
        """Whether a reset undoes everything (search may then act freely in replayed branches)."""
        return self.server_resets

    @property
    def page(self) -> str:
        return self._state.get("page", "")

    @property
    def orders(self) -> list[str]:
        return list(self._state.get("orders", []))

    def _observe(self) -> Observation:
        page = self.pages[self._state["page"]]
        lines = [f"RootWebArea '{page.name}'", f"[0] heading '{page.name}'"]
        if page.text:
            lines.append(f"StaticText '{page.text}'")
        lines += [f"[{i}] link '{label}'" for i, label in enumerate(page.links, 1)]
        intent = self.task.intent if self.task else ""
        return Observation(
            text="\n".join(lines),
            url="http://toy.local" + slug(page.name),
            tabs=["Toy shop"],
            last_action_error=self._state.get("error", ""),
            intent=intent,
        )


def scripted_web_model(
    actions: dict[str, list[str]],
    statuses: dict[str, str] | None = None,
    *,
    default_action: str = "go_back",
    default_status: str = "on track",
    latency: float = 0.0,
    name: str = "scripted-web",
):
    """A :class:`~ponder.models.scripted.ScriptedChatModel` that plays a web actor and a value judge
    on toy pages (for tests and the search benchmark).

    Args:
        actions: page name -> the replies the actor samples there, in order (the i-th of the
            ``n`` samples of one call is ``replies[i % len(replies)]``, so every call on a page
            gives the same frequency ranking, whatever ran before or beside it).
        statuses: page name, or ``"answer:<text>"`` once the agent answered, -> the judge's reply
            (``success``, ``on track``, ``failure``).
    """

    from ponder.models.scripted import ScriptedChatModel

    statuses = statuses or {}
    drawing: dict = {}  # the conversation whose samples are being drawn, and how many so far
    page_re = re.compile(r"RootWebArea '([^']*)'")

    def reply(messages) -> str:
        prompt = messages[-1]["content"]
        pages = page_re.findall(prompt)
        page = pages[-1] if pages else ""
        if messages[0]["content"].startswith("You check"):
            answer = re.search(r"Answer given: (.*)", prompt)
            if answer:
                return statuses.get(f"answer:{answer.group(1).strip()}", "failure")
            return statuses.get(page, default_status)
        replies = actions.get(page) or [default_action]
        # the model draws a call's n samples together (one conversation object), so a new
        # object starts the count again: the ranking never depends on other calls or threads
        if drawing.get("messages") is not messages:
            drawing.update(messages=messages, i=0)
        i = drawing["i"]
        drawing["i"] += 1
        return replies[i % len(replies)]

    return ScriptedChatModel(default=reply, latency=latency, name=name)


#: A scripted actor policy on :func:`shop_tree` whose most frequent choice at Home (Books) is a
#: dead end: greedy answers "$12"; search guided by :data:`TOY_STATUSES` finds "$999".
TOY_POLICY: dict[str, list[str]] = {
    "Home": ["Action: click [1]", "click [1]", "click [Books]", "Action: click [2]", "click [3]"],
    "Books": ["click [1]", "click [1]", "click [2]"],
    "Novels": ["stop [$12]"],
    "Cookbooks": ["stop [$30]"],
    "Electronics": ["click [2]", "click [1]"],
    "Phones": ["stop [$499]"],
    "Laptops": ["click [1]", "click [2]"],
    "Zen Laptop": ["stop [$999]", "click [1]"],
    "Air Laptop": ["stop [$1299]"],
    "Account": ["go_back"],
}
#: The judge's replies for :data:`TOY_POLICY` (by page, or by answer once the agent stopped).
TOY_STATUSES: dict[str, str] = {
    "Books": "failure", "Novels": "failure", "Cookbooks": "failure", "Account": "failure", "Phones": "failure",
    "Air Laptop": "failure", "Electronics": "on track", "Laptops": "on track", "Zen Laptop": "on track",
    "answer:$999": "success",
}
