"""The web actor: proposes the next browser action from the objective, the page and the history.

It samples ``n`` candidates in one batched model call, parses each leniently (code fences, a
sentence before the action, ``click [Electronics]`` written with a label instead of an id,
missing brackets), and ranks the distinct actions by how often they were sampled, as Koh et al.
(2024) do for tree search. When no sample parses, the single candidate is the raw reply: the
environment turns it into an error observation, so a model that answers nonsense never crashes
an episode.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ponder.models.base import ChatModel, Message
from ponder.usage import Usage

PROMPTS = Path(__file__).parent / "prompts"

VERBS = ("click", "hover", "type", "press", "scroll", "goto", "go_back", "go_forward", "new_tab", "tab_focus", "close_tab", "stop")
_VERB = re.compile(r"\b(click|hover|type|press|scroll|goto|go[ _]back|go[ _]forward|new[ _]tab|tab[ _]focus|close[ _]tab|stop)\b", re.I)
_ELEMENT = re.compile(r"\[(\d+)\]\s+(\w+)\s+'([^'\n]*)'")
_FENCE = re.compile(r"```[a-z]*\n?|```")


def load_examples(name: str) -> list[Message]:
    """Few-shot turns from a prompt file: examples split by ``===``, user/assistant by ``---``."""
    turns: list[Message] = []
    for block in (PROMPTS / name).read_text().split("==="):
        user, _, assistant = block.strip().partition("---")
        turns.append({"role": "user", "content": user.strip()})
        turns.append({"role": "assistant", "content": assistant.strip()})
    return turns


def truncate(text: str, limit: int) -> str:
    """Keep the first ``limit`` characters, cut at a line end, with a marker when cut."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + "\n..."


def digest(text: str) -> str:
    """A short stable fingerprint of an observation (for traces and de-duplication)."""
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def seed_for(*parts: Any) -> int:
    """A stable 31-bit seed from any parts (a run seed, a node id, a role)."""
    return int(hashlib.sha1(repr(parts).encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def _args(rest: str) -> list[str]:
    found = re.findall(r"\[([^\]]*)\]", rest)
    if found:
        return [a.strip() for a in found]
    rest = rest.strip().strip(":").strip()
    return [rest] if rest else []


def _element_id(arg: str, page: str, role: str = "") -> str | None:
    """An element id from ``12``, ``[12]``, ``#12`` or a label that names one element (with
    ``role``, an element of that role is preferred)."""
    arg = arg.strip().strip("'\"#")
    if arg.isdigit():
        return arg
    m = re.match(r"(?:id\s*=?\s*)?(\d+)\b", arg)
    if m:
        return m.group(1)
    if not arg or not page:
        return None
    wanted = arg.lower()
    elements = _ELEMENT.findall(page)
    if role:
        for eid, kind, label in elements:
            if kind.lower() == role.lower() and label.strip().lower() == wanted:
                return eid
    for eid, _, label in elements:  # an exact label first, then a containing one
        if label.strip().lower() == wanted:
            return eid
    for eid, _, label in elements:
        if wanted in label.lower():
            return eid
    return None


def parse_action(text: str, page: str = "") -> str | None:
    """The WebArena action in a model reply, in canonical form, or ``None``.

    The environment's own parser (:func:`ponder.tools.actions.parse_action`) reads it first;
    an element named by its label (``click [Electronics]``) is resolved to its id on ``page``
    so that the same action written two ways counts once. Replies it rejects get a second,
    looser reading (a verb anywhere, arguments without brackets).

    Args:
        text: the model's reply.
        page: the observation text, used to resolve labels to element ids.
    """
    try:
        from ponder.tools.actions import ActionError, ElementRef
        from ponder.tools.actions import parse_action as parse_strict
    except ImportError:  # pragma: no cover - the browser tools are part of the web extra
        parse_strict = None
    if parse_strict is not None:
        try:
            action = parse_strict(text)
        except ActionError:
            action = None
        if action is not None:
            if isinstance(action.target, ElementRef):
                eid = _element_id(action.target.name, page, action.target.role)
                if eid is None:
                    return None
                action = replace(action, target=int(eid))
            return str(action).strip()
    return _parse_loose(text, page)


def _parse_loose(text: str, page: str) -> str | None:
    text = _FENCE.sub("\n", text or "")
    labelled = re.search(r"action\s*:\s*(.*)", text, re.I)
    pieces = [labelled.group(1)] if labelled else []
    pieces.append(text)
    for piece in pieces:
        m = _VERB.search(piece)
        if not m:
            continue
        verb = m.group(1).lower().replace(" ", "_")
        args = _args(piece[m.end():].split("\n")[0])
        if verb in ("click", "hover"):
            eid = _element_id(args[0], page) if args else None
            if eid is not None:
                return f"{verb} [{eid}]"
        elif verb == "type":
            if len(args) >= 2:
                eid = _element_id(args[0], page)
                enter = args[2] if len(args) > 2 and args[2] in ("0", "1") else "1"
                if eid is not None:
                    return f"type [{eid}] [{args[1]}] [{enter}]"
        elif verb == "scroll":
            direction = (args[0].lower() if args else "down")
            return f"scroll [{'up' if 'up' in direction else 'down'}]"
        elif verb == "press":
            if args:
                return f"press [{args[0]}]"
        elif verb == "goto":
            if args and args[0]:
                return f"goto [{args[0].split()[0]}]"
        elif verb == "tab_focus":
            if args and args[0].isdigit():
                return f"tab_focus [{args[0]}]"
        elif verb == "stop":
            answer = args[0] if args else ""
            return f"stop [{answer.strip().strip(chr(34) + chr(39)).rstrip('.').strip()}]"
        else:
            return verb
    return None


@dataclass(frozen=True)
class ActorConfig:
    """How the actor samples.

    Args:
        n: candidates sampled per call (one batched call).
        temperature: sampling temperature (0 gives one candidate repeated).
        max_tokens: new tokens per candidate; an action is short.
        max_obs_chars: the observation is cut to this many characters in the prompt.
        history: how many previous actions the prompt shows.
        few_shot: include the worked examples (the 135M model needs them).
    """

    n: int = 5
    temperature: float = 0.8
    max_tokens: int = 24
    max_obs_chars: int = 2000
    history: int = 6
    few_shot: bool = True


@dataclass
class Candidate:
    """One distinct proposed action and how many samples proposed it."""

    action: str
    count: int
    parsed: bool = True
    samples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"action": self.action, "count": self.count, "parsed": self.parsed}


class WebActor:
    """Proposes ranked candidate actions with one batched model call."""

    def __init__(self, model: ChatModel, config: ActorConfig | None = None):
        self.model = model
        self.config = config or ActorConfig()
        self.system = (PROMPTS / "web_actor.txt").read_text().strip()
        self.examples = load_examples("web_actor_examples.txt")

    def messages(self, intent: str, page: str, url: str, history: list[str], *, error: str = "", note: str = "") -> list[Message]:
        """The prompt: system rules, worked examples, then the current state."""
        shown = history[-self.config.history:] if self.config.history else []
        lines = [
            f"Objective: {intent}",
            f"URL: {url}",
            "Page:",
            truncate(page, self.config.max_obs_chars),
            f"Previous actions: {' ; '.join(shown) if shown else 'none'}",
        ]
        if error:
            lines.append(f"Last action failed: {error[:200]}")
        if note:
            lines.append(note)
        msgs: list[Message] = [{"role": "system", "content": self.system}]
        if self.config.few_shot:
            msgs += self.examples
        msgs.append({"role": "user", "content": "\n".join(lines)})
        return msgs

    def propose(
        self,
        intent: str,
        page: str,
        url: str = "",
        history: list[str] | None = None,
        *,
        error: str = "",
        note: str = "",
        n: int | None = None,
        seed: int | None = None,
        usage: Usage | None = None,
    ) -> list[Candidate]:
        """Sample ``n`` replies in one call and return the distinct actions, most frequent
        first (ties: first sampled first). Never empty."""
        n = n or self.config.n
        msgs = self.messages(intent, page, url, history or [], error=error, note=note)
        temperature = self.config.temperature if n > 1 else 0.0
        outs = self.model.generate(
            msgs, n=n, temperature=temperature, max_tokens=self.config.max_tokens, seed=seed, usage=usage,
        )
        return rank([c.text for c in outs], page)


def rank(replies: list[str], page: str = "") -> list[Candidate]:
    """Distinct parsed actions by frequency; the raw first reply when none parses."""
    counts: Counter[str] = Counter()
    samples: dict[str, list[str]] = {}
    for reply in replies:
        action = parse_action(reply, page)
        if action is None:
            continue
        counts[action] += 1
        samples.setdefault(action, []).append(reply)
    if not counts:
        raw = " ".join((replies[0] if replies else "").split())[:200]
        return [Candidate(raw or "(empty reply)", len(replies), parsed=False, samples=list(replies))]
    order = list(samples)
    ranked = sorted(counts, key=lambda a: (-counts[a], order.index(a)))
    return [Candidate(a, counts[a], True, samples[a]) for a in ranked]
