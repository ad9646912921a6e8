"""The optimizer agent of Agent-REINFORCE: reads the last graphs, their scores and costs, the
probability table and the empirical insights, and answers with the next graph and probability
updates as JSON (the "textual gradient").

Two agents share one interface, ``respond(context) -> str``:

- :class:`LLMOptimizerAgent`: any chat model, prompted with :func:`optimizer_prompt`; its spend is
  charged to its own ledger (``usage``), never to the evaluations'.
- :class:`RuleOptimizerAgent`: the documented feedback rule as a scripted agent (for the bench,
  and when no capable optimizer model is configured). It writes the same JSON an LLM would.

The feedback rule (also in ``docs/optimizer.md``):

1. Prefer the model the pilot found best at this budget (insight 1) for every node.
2. Take the incumbent (best mean score so far) and propose its first neighbour not yet evaluated
   and within budget, in this order: width +1, width -1, width +2, (depth +1, width -1),
   (depth -1, width +1), depth +1, depth -1, the other aggregator, the other edge pattern,
   (depth +1, width -2), (depth -1, width +2), then the same shape on each other model
   (insights 2-4: width and depth each have an optimum and they interact). When the incumbent's
   neighbourhood is exhausted, move on to the next-best graph's.
3. Updates: +1 on the incumbent's width and depth, +1 on the preferred model for every node,
   -0.5 on the width and depth of the worst of the last graphs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ponder.models.base import ChatModel
from ponder.usage import Usage

INSIGHTS = (
    "Model preference is task-specific: the pilot shows which single model does best at this budget; prefer it.",
    "Width (parallel answers) has an optimum: more helps up to a point, then hurts.",
    "Depth (refinement layers) has an optimum: refinement helps up to a point, then errors compound.",
    "Width and depth interact: when adding depth, reduce width (and the reverse), staying within the budget.",
)

SYSTEM = ("You optimise a graph of language-model calls under a compute budget. You reply with one JSON object "
          "and nothing else.")


def optimizer_prompt(context: dict[str, Any]) -> list[dict]:
    """The messages an LLM optimizer agent sees."""
    lines = [f"Budget: {context['budget']:g} units per question (1 unit = one call of the smallest model)."]
    if context.get("pilot"):
        lines.append("Pilot (each model alone at the whole budget): " +
                     ", ".join(f"{m}: {s:.3f}" for m, s in context["pilot"].items()))
    lines.append("Insights:\n" + "\n".join(f"- {i}" for i in context["insights"]))
    lines.append("Probability table:\n" + json.dumps(context["table"]))
    lines.append("Last graphs (score, cost in units):")
    for h in context["history"]:
        lines.append(f"- {json.dumps(h['graph'])} score={h['score']:.3f} cost={h['cost']:.2f}")
    lines.append(
        "Answer with JSON: {\"graph\": {\"model\": NAME, \"width\": W, \"depth\": D, \"agg\": \"vote\"|\"fuse\", "
        "\"edges\": \"full\"|\"column\"}, \"updates\": [{\"factor\": \"width\"|\"depth\"|\"model\"|\"agg\", "
        "\"choice\": VALUE, \"delta\": NUMBER}], \"reason\": TEXT}. Propose a graph not tried yet."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def parse_json_answer(text: str) -> dict | None:
    """The first JSON object in ``text`` (models wrap it in prose or code fences), or None."""
    text = text or ""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    candidates = [fenced.group(1)] if fenced else []
    start = text.find("{")
    while start >= 0:
        depth = 0
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    candidates.append(text[start:i + 1])
                    break
        start = text.find("{", start + 1) if not candidates else -1
    for c in candidates:
        try:
            value = json.loads(c)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


class LLMOptimizerAgent:
    """An optimizer agent backed by a chat model; its calls are charged to ``usage``."""

    def __init__(self, model: ChatModel, *, usage: Usage | None = None, max_tokens: int = 200, temperature: float = 0.0):
        self.model = model
        self.usage = usage or Usage(name="optimizer-agent")
        self.max_tokens, self.temperature = max_tokens, temperature

    def respond(self, context: dict[str, Any]) -> str:
        out = self.model.generate(optimizer_prompt(context), max_tokens=self.max_tokens, temperature=self.temperature,
                                  usage=self.usage)
        return out[0].text


class RuleOptimizerAgent:
    """The documented feedback rule as a scripted agent (see the module docstring). It needs
    the space to list neighbours, as an LLM would need the space described."""

    def __init__(self, space):
        self.space = space
        self.usage = Usage(name="optimizer-agent")  # a rule costs no model calls

    def respond(self, context: dict[str, Any]) -> str:
        ranked = context["ranked"]  # [(score, config)], best first
        seen = context["seen"]
        preferred = context.get("preferred_model")
        proposal = None
        for _, config in ranked:
            for cand in self.space.neighbours(config, preferred):
                if self.space.is_valid(cand) and self.space.within_budget(cand) and seen(cand) is False:
                    proposal = cand
                    break
            if proposal is not None:
                break
        updates = []
        if ranked:
            best = self.space.summary(ranked[0][1])
            for factor in ("width", "depth"):
                if factor in best:
                    updates.append({"factor": factor, "choice": best[factor], "delta": 1.0})
            recent = context["history"]
            if len(recent) > 1:
                worst = min(recent, key=lambda h: h["score"])["summary"]
                for factor in ("width", "depth"):
                    if factor in worst and worst[factor] != best.get(factor):
                        updates.append({"factor": factor, "choice": worst[factor], "delta": -0.5})
        if preferred:
            updates.append({"factor": "model", "choice": preferred, "delta": 1.0})
        return json.dumps({"graph": proposal, "updates": updates, "reason": "feedback rule: best neighbour not yet tried"})
