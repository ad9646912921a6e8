"""The value judge: how close a web agent's state is to done its objective.

Given the objective, the recent observations and the action history, the model says
``success``, ``on track`` or ``failure`` (1 / 0.5 / 0); ``k`` samples drawn in one batched call
are averaged (Koh et al. 2024). Replies that say none of the three are ignored; when no sample
says any, the value is ``unknown_value``. A *graded* judge reads one greedy reply's token
probabilities instead: the value is the expected status under the model's distribution at the
status word (e.g. P(success) 0.7, P(failure) 0.3 -> 0.7), so states stay distinguishable when a
small model's sampled verdict is always "success". :class:`OracleValue` scores with the environment's own
evaluator instead: an upper bound on what a judge can give search. Both are
:class:`~ponder.agents.value.ValueFunction` s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ponder.agents.value import JudgeInput, Judgement
from ponder.agents.web_actor import PROMPTS, load_examples, truncate
from ponder.models.base import ChatModel, Message, class_mass
from ponder.usage import Usage

_STATUS = re.compile(r"(success|succeed|incorrect|correct|on[ -]?track|progress|fail|wrong)", re.I)


#: Status words (and what they are worth) that a token at the status position may begin.
_STATUS_WORDS = {"success": 1.0, "successful": 1.0, "succeed": 1.0, "correct": 1.0, "done": 1.0,
                 "track": 0.5, "progress": 0.5,
                 "failure": 0.0, "fail": 0.0, "failed": 0.0, "wrong": 0.0, "incorrect": 0.0, "error": 0.0}


def token_status(token: str) -> float | None:
    """The value of the status word ``token`` begins (``"Succ"`` -> 1.0, ``" fail"`` -> 0.0), or
    ``None``; pieces shorter than three letters only count as the whole word ``on`` (of "on track")."""
    w = token.strip().lower()
    if w in ("on", "on-track", "ontrack"):
        return 0.5
    if len(w) < 3:
        return None
    for word, value in _STATUS_WORDS.items():
        if word.startswith(w) or w.startswith(word):
            return value
    return None


def graded_status(logprobs: list | None) -> tuple[float, dict[str, float]] | None:
    """The expected status, and the probability of each status, at the first generated token
    that begins a status word (from its alternatives, ``TokenLogprob.top``); when the reply
    names none (a base model that wanders off), at the first position whose alternatives do.
    ``None`` when no position offers a status word at all."""
    tokens = logprobs or []
    chosen = [t for t in tokens if token_status(t.token) is not None]
    for t in chosen[:1] or tokens:
        mass = class_mass(t, token_status)
        total = sum(mass.values())
        if total <= 0:
            continue
        dist = {name: mass.get(v, 0.0) / total for name, v in (("success", 1.0), ("on track", 0.5), ("failure", 0.0))}
        return dist["success"] + 0.5 * dist["on track"], {k: round(v, 4) for k, v in dist.items()}
    return None


def parse_status(text: str) -> float | None:
    """1.0 / 0.5 / 0.0 for the first status word in ``text``; ``None`` when there is none."""
    m = _STATUS.search(text or "")
    if not m:
        return None
    word = m.group(1).lower()
    if word.startswith(("fail", "wrong", "incorrect")):
        return 0.0
    if "track" in word or word == "progress":
        return 0.5
    return 1.0


@dataclass(frozen=True)
class JudgeConfig:
    """How the judge samples.

    Args:
        k: samples per judged state, drawn in one call and averaged.
        temperature: sampling temperature for the k samples.
        max_tokens: new tokens per sample (a status word or two).
        max_obs_chars: characters kept of each recent observation.
        recent: how many recent observations are shown (the current one last).
        unknown_value: the value when no sample names a status.
        graded: value a state by one greedy reply's token probabilities (see the module
            docstring) instead of ``k`` sampled verdicts.
        top: alternatives read per position when ``graded``.
    """

    k: int = 3
    temperature: float = 0.7
    max_tokens: int = 6
    max_obs_chars: int = 1200
    recent: int = 2
    unknown_value: float = 0.25
    graded: bool = False
    top: int = 10


class ValueJudge:
    """Scores states with a chat model; several states go in one batched call (a
    :class:`~ponder.agents.value.ValueFunction`)."""

    needs_env = False

    def __init__(self, model: ChatModel, config: JudgeConfig | None = None):
        self.model = model
        self.config = config or JudgeConfig()
        self.system = (PROMPTS / "value_judge.txt").read_text().strip()
        self.examples = load_examples("value_judge_examples.txt")

    @property
    def model_name(self) -> str:
        return self.model.name

    def messages(self, item: JudgeInput) -> list[Message]:
        cfg = self.config
        pages = item.observations[-cfg.recent:] if cfg.recent else item.observations[-1:]
        lines = [f"Objective: {item.intent}", f"Actions: {' ; '.join(item.actions) if item.actions else 'none'}"]
        if item.url:
            lines.append(f"URL: {item.url}")
        for i, page in enumerate(pages):
            label = "Current page" if i == len(pages) - 1 else "Earlier page"
            lines.append(f"{label}: {truncate(page, cfg.max_obs_chars)}")
        if item.answer is not None:
            lines.append(f"Answer given: {item.answer}")
        lines.append("Status?")
        return [{"role": "system", "content": self.system}, *self.examples, {"role": "user", "content": "\n".join(lines)}]

    def score_many(self, items: Sequence[JudgeInput], *, seed: int | None = None, usage: Usage | None = None,
                   env: Any = None) -> list[Judgement]:
        """One :class:`Judgement` per item, from a single batched call."""
        if not items:
            return []
        cfg = self.config
        if cfg.graded:
            return self._graded(items, seed=seed, usage=usage)
        outs = self.model.generate_batch(
            [self.messages(it) for it in items], n=cfg.k, temperature=cfg.temperature if cfg.k > 1 else 0.0,
            max_tokens=cfg.max_tokens, seed=seed, usage=usage,
        )
        results = []
        for row in outs:
            samples = [parse_status(c.text) for c in row]
            known = [s for s in samples if s is not None]
            value = sum(known) / len(known) if known else cfg.unknown_value
            results.append(Judgement(round(value, 4), samples))
        return results

    def _graded(self, items: Sequence[JudgeInput], *, seed: int | None, usage: Usage | None) -> list[Judgement]:
        cfg = self.config
        outs = self.model.generate_batch([self.messages(it) for it in items], n=1, temperature=0.0,
                                         max_tokens=cfg.max_tokens, logprobs=cfg.top, seed=seed, usage=usage)
        results = []
        for (c,) in outs:
            graded = graded_status(c.logprobs)
            if graded is None:  # no status word: fall back to the reply's words, then to unknown
                word = parse_status(c.text)
                results.append(Judgement(cfg.unknown_value if word is None else word, [word], "graded"))
            else:
                value, dist = graded
                results.append(Judgement(round(value, 4), [parse_status(c.text)], "graded", dist))
        return results

    def score(self, item: JudgeInput, **kw: Any) -> Judgement:
        return self.score_many([item], **kw)[0]


class OracleValue:
    """The environment's evaluator as the value function (an upper bound for search): the
    environment must be in the judged state when it is called."""

    needs_env = True
    model_name = None

    def score_many(self, items: Sequence[JudgeInput], *, seed: int | None = None, usage: Usage | None = None,
                   env: Any = None) -> list[Judgement]:
        if env is None:
            raise ValueError("OracleValue needs the environment in the judged state")
        return [Judgement(float(env.evaluate().value), [], "oracle") for _ in items]

    def score(self, item: JudgeInput, **kw: Any) -> Judgement:
        return self.score_many([item], **kw)[0]
