"""Agent-REINFORCE: REINFORCE over the probabilistic graph whose step is proposed by an
optimizer agent (a "textual gradient"), checked by code.

A run starts with a pilot (each single model at the whole budget, the paper's first insight) and
initialises the model logits toward the winner. Each step then shows the agent the last graphs,
their scores and costs, the probability table and the insights; the agent answers with JSON
holding the next graph and probability updates. The code validates the graph (known factors and
choices, within budget), clips every update to ``[-clip, clip]`` and applies it, then evaluates
the proposed graph plus ``batch - 1`` graphs sampled from the updated distribution. After the
evaluations a numeric REINFORCE step (moving-average baseline) runs as well. When the answer is
not valid JSON, proposes an invalid or over-budget graph, or no agent is configured, the step
falls back to plain numeric REINFORCE sampling; fallbacks are counted.
"""

from __future__ import annotations

import numpy as np

from ponder.agents.optimizer_agent import INSIGHTS, parse_json_answer
from ponder.graphs.optimizer.evaluate import Evaluation
from ponder.graphs.optimizer.reinforce import Reinforce
from ponder.graphs.optimizer.space import Config, Space, coerce_choice, config_key


class AgentReinforce(Reinforce):
    name = "agent-reinforce"

    def __init__(self, space: Space, *, agent=None, seed: int = 0, batch: int = 2, lr: float = 1.0,
                 beta: float = 0.8, clip: float = 2.0, shown: int = 8, pilot: bool = True):
        super().__init__(space, seed=seed, batch=batch, lr=lr, beta=beta)
        self.agent = agent
        self.clip, self.shown = clip, shown
        self.pilot_pending = space.pilot_configs() if pilot and hasattr(space, "pilot_configs") else []
        self._in_pilot = False
        self.pilot_scores: dict[str, float] = {}
        self.preferred_model: str | None = None
        self.fallbacks = 0
        self.agent_steps = 0
        self.invalid: list[str] = []
        self.clipped = 0

    # -- pilot ---------------------------------------------------------------------------------
    def _pilot_model(self, config: Config) -> str:
        models = self.space.summary(config).get("models") if hasattr(self.space, "summary") else None
        if isinstance(models, dict) and models:
            return max(models, key=models.get)
        return str(next(v for k, v in config.items() if k.endswith("model")))

    def _init_from_pilot(self, evaluations: list[Evaluation]) -> None:
        for ev in evaluations:
            self.pilot_scores[self._pilot_model(ev.config)] = ev.score
        if self.pilot_scores:
            self.preferred_model = max(self.pilot_scores, key=self.pilot_scores.get)
            self.pg.set_group("model", self.preferred_model, self.clip)

    # -- the agent step ----------------------------------------------------------------------------
    def context(self) -> dict:
        recent = self.history.evaluations[-self.shown:]
        summary = getattr(self.space, "summary", lambda c: c)
        return {
            "budget": self.space.budget,
            "insights": list(INSIGHTS),
            "pilot": dict(self.pilot_scores),
            "preferred_model": self.preferred_model,
            "table": self.pg.table(),
            "history": [{"graph": summary(e.config), "summary": summary(e.config), "config": e.config,
                         "score": e.score, "cost": e.cost} for e in recent],
            "ranked": self.history.ranked(),
            "seen": self.history.seen,
        }

    def apply_updates(self, updates) -> int:
        """Apply clipped updates; returns how many were usable. ``factor`` may name a factor or a
        group (``model`` raises that model for every node)."""
        if not isinstance(updates, list):
            return 0
        used = 0
        groups = {f.group for f in self.space.factors}
        for u in updates:
            if not isinstance(u, dict) or not {"factor", "choice", "delta"} <= set(u):
                continue
            try:
                delta = float(u["delta"])
            except (TypeError, ValueError):
                continue
            if not np.isfinite(delta):
                continue
            if abs(delta) > self.clip:
                self.clipped += 1
                delta = float(np.clip(delta, -self.clip, self.clip))
            name = u["factor"]
            targets = [f for f in self.space.factors if f.name == name] or (
                [f for f in self.space.factors if f.group == name] if name in groups else [])
            for f in targets:
                try:
                    choice = coerce_choice(f, u["choice"])
                except ValueError:
                    continue
                self.pg.nudge(f.name, choice, delta)
                used += 1
        return used

    def propose(self) -> Config | None:
        """Ask the agent; return its validated graph, or None (the step falls back)."""
        if self.agent is None:
            return None
        text = self.agent.respond(self.context())
        answer = parse_json_answer(text)
        if answer is None:
            self.invalid.append("no JSON object in the answer")
            return None
        self.apply_updates(answer.get("updates"))
        graph = answer.get("graph")
        if not isinstance(graph, dict):
            self.invalid.append("no graph in the answer")
            return None
        try:
            config = self.space.from_answer(graph)
        except ValueError as e:
            self.invalid.append(str(e))
            return None
        if not self.space.within_budget(config):
            self.invalid.append(f"over budget ({self.space.cost(config):.2f} > {self.space.budget:g})")
            return None
        return config

    def ask(self) -> list[Config]:
        if self.pilot_pending:
            self._in_pilot = True
            out, self.pilot_pending = self.pilot_pending, []
            return out
        self._in_pilot = False
        proposal = self.propose()
        if proposal is None:
            self.fallbacks += 1
            return super().ask()
        self.agent_steps += 1
        out = [proposal]
        keys = {config_key(proposal)}
        for _ in range(self.batch - 1):
            c = self.sample_fresh(keys)
            keys.add(config_key(c))
            out.append(c)
        return out

    def tell(self, evaluations: list[Evaluation]) -> None:
        if self._in_pilot:
            for ev in evaluations:
                self.history.add(ev, full=not self.minibatch or ev.items >= self.minibatch)
            self._init_from_pilot(evaluations)
            return
        super().tell(evaluations)

    def report(self) -> dict:
        return {**super().report(), "pilot": self.pilot_scores, "preferred_model": self.preferred_model,
                "agent_steps": self.agent_steps, "fallbacks": self.fallbacks, "clipped_updates": self.clipped,
                "invalid_answers": self.invalid[-10:],
                "optimizer_usage": ledger.to_dict() if (ledger := getattr(self.agent, "usage", None)) is not None else {}}
