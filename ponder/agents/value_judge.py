"""The value judge: how close a web agent's state is to done its objective.

Given the objective, the recent observations and the action history, the model says
``success``, ``on track`` or ``failure`` (1 / 0.5 / 0); ``k`` samples drawn in one batched call
are averaged (Koh et al. 2024). Replies that say none of the three are ignored; when no sample
says any, the value is ``unknown_value``. :class:`OracleValue` scores with the environment's own
evaluator instead: an upper bound on what a judge can give search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ponder.agents.web_actor import PROMPTS, load_examples, truncate
from ponder.models.base import ChatModel, Message
from ponder.usage import Usage

_STATUS = re.compile(r"(success|succeed|incorrect|correct|on[ -]?track|progress|fail|wrong)", re.I)


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
    """

    k: int = 3
    temperature: float = 0.7
    max_tokens: int = 6
    max_obs_chars: int = 1200
    recent: int = 2
    unknown_value: float = 0.25


@dataclass
class Judgement:
    value: float
    samples: list[float | None] = field(default_factory=list)
    source: str = "judge"

    def to_dict(self) -> dict:
        return {"value": self.value, "samples": self.samples, "source": self.source}


@dataclass
class JudgeInput:
    """What a judge sees of one state."""

    intent: str
    observations: list[str]  # recent page texts, oldest first, the current one last
    actions: list[str]
    answer: str | None = None
    url: str = ""


class ValueJudge:
    """Scores states with a chat model; several states go in one batched call."""

    needs_env = False

    def __init__(self, model: ChatModel, config: JudgeConfig | None = None):
        self.model = model
        self.config = config or JudgeConfig()
        self.system = (PROMPTS / "value_judge.txt").read_text().strip()
        self.examples = load_examples("value_judge_examples.txt")

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

    def score_many(self, items: list[JudgeInput], *, seed: int | None = None, usage: Usage | None = None, env: Any = None) -> list[Judgement]:
        """One :class:`Judgement` per item, from a single batched call."""
        if not items:
            return []
        cfg = self.config
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

    def score(self, item: JudgeInput, **kw: Any) -> Judgement:
        return self.score_many([item], **kw)[0]


class OracleValue:
    """The environment's evaluator as the value function (an upper bound for search): the
    environment must be in the judged state when it is called."""

    needs_env = True

    def score_many(self, items: list[JudgeInput], *, seed: int | None = None, usage: Usage | None = None, env: Any = None) -> list[Judgement]:
        if env is None:
            raise ValueError("OracleValue needs the environment in the judged state")
        return [Judgement(float(env.evaluate().value), [], "oracle") for _ in items]

    def score(self, item: JudgeInput, **kw: Any) -> Judgement:
        return self.score_many([item], **kw)[0]
