"""Search spaces over graphs and the probabilistic graph that samples them.

A space is a list of categorical :class:`Factor` s (width, depth, a model per node slot, an edge
bit per possible edge, ...), some active only under others (slot ``m2.3`` exists only when
``width > 3`` and ``depth > 2``). A *config* maps each active factor to a choice; the space turns
it into a :class:`~ponder.graphs.spec.GraphSpec` and prices it with the cost model.

:class:`ProbabilisticGraph` holds one logit vector per factor (edge logits, per-node model
logits, width and depth logits), samples configs within the budget (rejecting those over it),
gives the score-function gradient REINFORCE needs, and prints its probability table.

Two spaces:

- :class:`LayeredGraphSpace`: ``depth`` layers of ``width`` nodes; layer 1 generates, later
  layers refine; edge bits say which node of layer ``l`` feeds which of layer ``l+1``; a final
  aggregator (a vote, or an LLM fuse call) joins the last layer when it has several nodes.
- :class:`StagedSpace`: a multi-stage task (AgentTTS) with a model and a sample count per stage,
  for example propose-then-judge, or retrieve-then-answer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ponder.errors import ConfigError
from ponder.graphs.cost import CostModel
from ponder.graphs.spec import GraphSpec, NodeSpec

Config = dict[str, Any]


@dataclass(frozen=True)
class Factor:
    """One categorical decision. ``active(config)`` says whether it applies given the choices
    made for earlier factors (factors are decided in order)."""

    name: str
    choices: tuple
    active: Callable[[Config], bool] = field(default=lambda c: True, compare=False)
    group: str = ""  # for tables and the optimizer agent: "width", "depth", "model", "edge", ...


def config_key(config: Config) -> str:
    return ";".join(f"{k}={config[k]}" for k in sorted(config))


class Space:
    """Base class: factors, config -> spec, cost, and neighbours for local moves."""

    factors: list[Factor]
    cost_model: CostModel

    def __init__(self, budget: float):
        self.budget = float(budget)

    def factor(self, name: str) -> Factor:
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)

    def complete(self, partial: Config, rng: random.Random, probs: Callable[[Factor], Sequence[float]] | None = None) -> Config:
        """Fill the factors ``partial`` leaves open (by ``probs`` or uniformly), drop inactive ones."""
        config: Config = {}
        for f in self.factors:
            if not f.active(config):
                continue
            if f.name in partial and partial[f.name] in f.choices:
                config[f.name] = partial[f.name]
            else:
                weights = list(probs(f)) if probs else None
                config[f.name] = rng.choices(f.choices, weights=weights)[0]
        return config

    def is_valid(self, config: Config) -> bool:
        want: Config = {}
        for f in self.factors:
            if f.active(want):
                if config.get(f.name) not in f.choices:
                    return False
                want[f.name] = config[f.name]
        return set(want) == set(config)

    def to_spec(self, config: Config) -> GraphSpec:
        raise NotImplementedError

    def _estimate(self, config: Config):
        memo = self.__dict__.setdefault("_memo", {})
        key = config_key(config)
        if key not in memo:
            est = self.cost_model.estimate(self.to_spec(config))
            memo[key] = (est.units, est.latency)
        return memo[key]

    def cost(self, config: Config) -> float:
        return self._estimate(config)[0]

    def latency(self, config: Config) -> float:
        return self._estimate(config)[1]

    def within_budget(self, config: Config) -> bool:
        return self.cost(config) <= self.budget + 1e-9

    def cheapest(self) -> Config:
        raise NotImplementedError

    def check_budget(self) -> None:
        """Raise ConfigError when not even the cheapest graph fits the budget."""
        cheapest = self.cheapest()
        cost = self.cost(cheapest)
        if cost > self.budget + 1e-9:
            raise ConfigError(
                f"budget {self.budget:g} is too small for any graph: the cheapest ({self.describe(cheapest)}) costs {cost:.2f} units",
                hint=f"use --budget {math.ceil(cost * 100) / 100:g} or more (1 unit = one call of the smallest model)",
            )

    def neighbours(self, config: Config, preferred_model: str | None = None) -> list[Config]:
        raise NotImplementedError

    def describe(self, config: Config) -> str:
        return config_key(config)


# ---- the layered graph space ------------------------------------------------------------------
class LayeredGraphSpace(Space):
    """``depth`` layers of ``width`` nodes: generators, then refiners fed by edge bits, then an
    aggregator. Every node gets its own model (per-node model logits).

    Args:
        pool: model names the nodes may use.
        budget: cost units per question (see :mod:`ponder.graphs.cost`).
        max_width, max_depth: the largest graph considered.
        cost_model: prices configs (its ``pool`` defines the unit; set from ``pool`` if empty).
        max_tokens: new tokens per node call.
    """

    def __init__(self, pool: Sequence[str], budget: float, *, max_width: int = 5, max_depth: int = 3,
                 cost_model: CostModel | None = None, max_tokens: int = 16, temperature: float = 0.7,
                 granularity: str = "node"):
        super().__init__(budget)
        if not pool:
            raise ConfigError("the model pool is empty")
        self.pool = tuple(pool)
        self.max_width, self.max_depth = max_width, max_depth
        self.max_tokens, self.temperature = max_tokens, temperature
        cm = cost_model or CostModel()
        if not cm.pool:
            cm = CostModel(cm.parameters, cm.base_prompt_tokens, max_tokens, self.pool)
        self.cost_model = cm
        if granularity not in ("node", "layer"):
            raise ConfigError(f"granularity must be 'node' or 'layer', got {granularity!r}")
        self.granularity = granularity
        f: list[Factor] = [
            Factor("width", tuple(range(1, max_width + 1)), group="width"),
            Factor("depth", tuple(range(1, max_depth + 1)), group="depth"),
            Factor("agg", ("vote", "fuse"), lambda c: c["width"] > 1, group="aggregator"),
        ]
        if granularity == "layer":
            for layer in range(max_depth):
                f.append(Factor(f"model{layer}", self.pool, (lambda L: lambda c: c["depth"] > L)(layer), group="model"))
            for layer in range(1, max_depth):
                f.append(Factor(f"edges{layer}", ("column", "full"),
                                (lambda L: lambda c: c["depth"] > L and c["width"] > 1)(layer), group="edge"))
        else:
            for layer in range(max_depth):
                for slot in range(max_width):
                    f.append(Factor(f"model{layer}.{slot}", self.pool,
                                    (lambda L, S: lambda c: c["depth"] > L and c["width"] > S)(layer, slot), group="model"))
            for layer in range(1, max_depth):
                for dst in range(max_width):
                    for src in range(max_width):
                        f.append(Factor(f"edge{layer}.{src}>{dst}", (0, 1),
                                        (lambda L, a, b: lambda c: c["depth"] > L and c["width"] > max(a, b))(layer, src, dst),
                                        group="edge"))
        self.factors = f

    def model_at(self, config: Config, layer: int, slot: int) -> str:
        if self.granularity == "layer":
            return config[f"model{layer}"]
        return config[f"model{layer}.{slot}"]

    def layer_edges(self, config: Config, layer: int) -> set[tuple[int, int]]:
        """(src, dst) slot pairs from layer ``layer - 1`` into ``layer``. Every refiner reads at
        least its own column and every node feeds at least its own column, so no node is cut off."""
        w = config["width"]
        if self.granularity == "layer":
            full = config.get(f"edges{layer}") == "full"
            return {(a, b) for a in range(w) for b in range(w)} if full else {(a, a) for a in range(w)}
        pairs = {(a, b) for a in range(w) for b in range(w) if config.get(f"edge{layer}.{a}>{b}") == 1}
        for b in range(w):
            if not any(dst == b for _, dst in pairs):
                pairs.add((b, b))
        for a in range(w):
            if not any(src == a for src, _ in pairs):
                pairs.add((a, a))
        return pairs

    def _in_edges(self, config: Config, layer: int, dst: int) -> list[int]:
        return sorted(a for a, b in self.layer_edges(config, layer) if b == dst)

    def to_spec(self, config: Config) -> GraphSpec:
        w, d = config["width"], config["depth"]
        nodes: list[NodeSpec] = []
        edges: list[tuple[str, str]] = []
        temp = self.temperature if w > 1 else 0.0
        for layer in range(d):
            for slot in range(w):
                role = "generate" if layer == 0 else "refine"
                nodes.append(NodeSpec(f"n{layer}_{slot}", role, self.model_at(config, layer, slot),
                                      temperature=temp if layer == 0 else 0.0, max_tokens=self.max_tokens))
                if layer:
                    edges.extend((f"n{layer - 1}_{s}", f"n{layer}_{slot}") for s in self._in_edges(config, layer, slot))
        last = [f"n{d - 1}_{s}" for s in range(w)]
        if w == 1:
            nodes[-1] = NodeSpec(nodes[-1].id, nodes[-1].role, nodes[-1].model, temperature=nodes[-1].temperature,
                                 max_tokens=self.max_tokens, final=True)
        elif config["agg"] == "vote":
            nodes.append(NodeSpec("agg", "select", vote="majority", final=True))
            edges.extend((s, "agg") for s in last)
        else:
            fuser = self.model_at(config, d - 1, 0)
            nodes.append(NodeSpec("agg", "fuse", fuser, max_tokens=self.max_tokens, final=True))
            edges.extend((s, "agg") for s in last)
        return GraphSpec(tuple(nodes), tuple(edges), name=f"w{w}d{d}").validate(where="sampled graph")

    def cheapest(self) -> Config:
        smallest = min(self.pool, key=self.cost_model.params)
        return {"width": 1, "depth": 1, ("model0" if self.granularity == "layer" else "model0.0"): smallest}

    def homogeneous(self, model: str, width: int, depth: int, *, agg: str = "vote", edges: str = "full") -> Config:
        """A config with every node on ``model``; ``edges``: ``full`` or ``column``."""
        c: Config = {"width": width, "depth": depth}
        if width > 1:
            c["agg"] = agg
        if self.granularity == "layer":
            for layer in range(depth):
                c[f"model{layer}"] = model
            for layer in range(1, depth):
                if width > 1:
                    c[f"edges{layer}"] = edges
            return c
        for layer in range(depth):
            for slot in range(width):
                c[f"model{layer}.{slot}"] = model
        for layer in range(1, depth):
            for dst in range(width):
                for src in range(width):
                    c[f"edge{layer}.{src}>{dst}"] = 1 if edges == "full" or src == dst else 0
        return c

    def pilot_configs(self) -> list[Config]:
        """Each model alone at (about) the whole budget: self-consistency as wide as it fits."""
        out = []
        for model in self.pool:
            fitting = [w for w in range(1, self.max_width + 1) if self.within_budget(self.homogeneous(model, w, 1))]
            if fitting:
                out.append(self.homogeneous(model, max(fitting), 1))
        return out

    def from_answer(self, graph: dict) -> Config:
        """A config from an optimizer agent's answer: either factor names (``{"width": 3,
        "depth": 2, "model0.1": ...}``) or the short form ``{"width", "depth", "model", "agg",
        "edges"}`` for a homogeneous graph. Raises ValueError saying what is wrong."""
        if "model" in graph and isinstance(graph["model"], str):
            w, d = _as_int(graph.get("width"), "width"), _as_int(graph.get("depth"), "depth")
            if graph["model"] not in self.pool:
                raise ValueError(f"model {graph['model']!r} is not in the pool {list(self.pool)}")
            if not (1 <= w <= self.max_width and 1 <= d <= self.max_depth):
                raise ValueError(f"width {w} / depth {d} outside 1..{self.max_width} / 1..{self.max_depth}")
            agg = graph.get("agg", "vote")
            edges = graph.get("edges", "full")
            if agg not in ("vote", "fuse") or edges not in ("full", "column"):
                raise ValueError("agg must be vote or fuse and edges full or column")
            return self.homogeneous(graph["model"], w, d, agg=agg, edges=edges)
        return _config_from_factors(self, graph)

    def summary(self, config: Config) -> dict:
        """What matters to a reader: width, depth, aggregator, model counts, edge density."""
        w, d = config["width"], config["depth"]
        models = [self.model_at(config, L, S) for L in range(d) for S in range(w)]
        possible = [(L, S, T) for L in range(1, d) for T in range(w) for S in range(w)]
        present = sum(len(self.layer_edges(config, L)) for L in range(1, d))
        return {
            "width": config["width"], "depth": config["depth"], "agg": config.get("agg", "none"),
            "models": {m: models.count(m) for m in sorted(set(models))},
            "edge_density": round(present / len(possible), 3) if possible and w > 1 else None,
        }

    def describe(self, config: Config) -> str:
        s = self.summary(config)
        models = ",".join(f"{m}x{n}" for m, n in s["models"].items())
        extra = f" edges={s['edge_density']}" if s["edge_density"] is not None else ""
        return f"width={s['width']} depth={s['depth']} agg={s['agg']} models={models}{extra}"

    def neighbours(self, config: Config, preferred_model: str | None = None) -> list[Config]:
        """Local moves in the order the insights suggest: make the graph homogeneous on the
        preferred model, then width +-1, depth +-1 with width moved the other way (they
        interact), the aggregator, and full vs column edges."""
        s = self.summary(config)
        w, d = s["width"], s["depth"]
        model = max(s["models"], key=s["models"].get)
        agg = s["agg"] if s["agg"] != "none" else "vote"
        edges = "full" if (s["edge_density"] or 1) >= 0.5 else "column"
        out = []
        if preferred_model and (preferred_model != model or len(s["models"]) > 1):
            out.append(self.homogeneous(preferred_model, w, d, agg=agg, edges=edges))
        moves = [(w + 1, d, agg, edges), (w - 1, d, agg, edges), (w + 2, d, agg, edges),
                 (w - 1, d + 1, agg, edges), (w + 1, d - 1, agg, edges), (w, d + 1, agg, edges), (w, d - 1, agg, edges),
                 (w, d, "fuse" if agg == "vote" else "vote", edges), (w, d, agg, "column" if edges == "full" else "full"),
                 (w - 2, d + 1, agg, edges), (w + 2, d - 1, agg, edges)]
        if len(s["models"]) > 1:
            moves.insert(0, (w, d, agg, edges))
        for W, D, A, E in moves:
            if 1 <= W <= self.max_width and 1 <= D <= self.max_depth:
                out.append(self.homogeneous(model, W, D, agg=A, edges=E))
        for other in self.pool:  # the same shape on each other model
            if other != model and other != preferred_model:
                out.append(self.homogeneous(other, w, d, agg=agg, edges=edges))
        return out


# ---- multi-stage tasks: per-subtask budgets (AgentTTS) ------------------------------------------
class StagedSpace(Space):
    """A pipeline of stages, each with its own model and sample count; the budget is split
    between stages by the choices. ``builder(config) -> GraphSpec`` turns choices into a graph.

    Args:
        stages: stage names in order (``("propose", "judge")``, ``("retrieve", "answer")``).
        pool: model names each stage may use (or a dict stage -> names).
        samples: the sample counts a stage may use.
        builder: makes the spec from ``{"<stage>.model": ..., "<stage>.n": ...}``.
    """

    def __init__(self, stages: Sequence[str], pool: Sequence[str] | dict[str, Sequence[str]], budget: float, *,
                 builder: Callable[[Config], GraphSpec], samples: Sequence[int] = (1, 2, 3, 4, 6, 8),
                 cost_model: CostModel | None = None):
        super().__init__(budget)
        self.stages = tuple(stages)
        pools = pool if isinstance(pool, dict) else {s: tuple(pool) for s in stages}
        self.pools = {s: tuple(pools[s]) for s in stages}
        self.samples = tuple(samples)
        self.builder = builder
        all_models = sorted({m for p in self.pools.values() for m in p})
        cm = cost_model or CostModel()
        self.cost_model = cm if cm.pool else CostModel(cm.parameters, cm.base_prompt_tokens, cm.unit_max_tokens, tuple(all_models))
        self.factors = []
        for s in self.stages:
            self.factors.append(Factor(f"{s}.model", self.pools[s], group="model"))
            self.factors.append(Factor(f"{s}.n", self.samples, group="samples"))

    def to_spec(self, config: Config) -> GraphSpec:
        return self.builder(config)

    def cheapest(self) -> Config:
        c: Config = {}
        for s in self.stages:
            c[f"{s}.model"] = min(self.pools[s], key=self.cost_model.params)
            c[f"{s}.n"] = min(self.samples)
        return c

    def neighbours(self, config: Config, preferred_model: str | None = None) -> list[Config]:
        """Per stage: one more / one fewer sample, then each other model for that stage."""
        out = []
        for s in self.stages:
            i = self.samples.index(config[f"{s}.n"])
            for j in (i + 1, i - 1):
                if 0 <= j < len(self.samples):
                    out.append({**config, f"{s}.n": self.samples[j]})
            for m in self.pools[s]:
                if m != config[f"{s}.model"]:
                    out.append({**config, f"{s}.model": m})
        return out

    def summary(self, config: Config) -> dict:
        return {s: {"model": config[f"{s}.model"], "n": config[f"{s}.n"]} for s in self.stages}

    def pilot_configs(self) -> list[Config]:
        """Each model on every stage (where allowed) with the most samples that fit, equal per stage."""
        out = []
        common = [m for m in self.pools[self.stages[0]] if all(m in self.pools[s] for s in self.stages)]
        for model in common:
            best = None
            for n in self.samples:
                c = {k: v for s in self.stages for k, v in ((f"{s}.model", model), (f"{s}.n", n))}
                if self.within_budget(c):
                    best = c
            if best:
                out.append(best)
        return out

    def from_answer(self, graph: dict) -> Config:
        """A config from ``{"<stage>": {"model": ..., "n": ...}}`` or factor names."""
        if all(s in graph and isinstance(graph[s], dict) for s in self.stages):
            flat = {}
            for s in self.stages:
                flat[f"{s}.model"] = graph[s].get("model")
                flat[f"{s}.n"] = graph[s].get("n")
            graph = flat
        return _config_from_factors(self, graph)

    def describe(self, config: Config) -> str:
        return " ".join(f"{s}={config[f'{s}.model']}x{config[f'{s}.n']}" for s in self.stages)


def _as_int(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def coerce_choice(factor: Factor, value):
    """``value`` as one of the factor's choices (agents write numbers as strings), or raise."""
    for c in factor.choices:
        if value == c or str(value) == str(c):
            return c
    raise ValueError(f"{factor.name}: {value!r} is not one of {list(factor.choices)}")


def _config_from_factors(space: Space, graph: dict) -> Config:
    names = {f.name for f in space.factors}
    unknown = [k for k in graph if k not in names]
    if unknown:
        raise ValueError(f"unknown factor(s) {unknown[:5]}")
    config: Config = {}
    for f in space.factors:
        if f.active(config):
            if f.name not in graph:
                raise ValueError(f"missing factor {f.name}")
            config[f.name] = coerce_choice(f, graph[f.name])
    return config


# ---- the probabilistic graph --------------------------------------------------------------------
class ProbabilisticGraph:
    """Logits over every factor of a space; samples valid configs within the budget."""

    def __init__(self, space: Space, *, seed: int = 0):
        self.space = space
        self.logits: dict[str, np.ndarray] = {f.name: np.zeros(len(f.choices)) for f in space.factors}
        self.rng = random.Random(seed)

    def probs(self, factor: Factor | str) -> np.ndarray:
        z = self.logits[factor if isinstance(factor, str) else factor.name]
        e = np.exp(z - z.max())
        return e / e.sum()

    def sample(self, *, tries: int = 500, partial: Config | None = None) -> Config:
        """A config drawn from the distribution, rejecting those over the budget."""
        for _ in range(tries):
            config = self.space.complete(partial or {}, self.rng, self.probs)
            if self.space.within_budget(config):
                return config
        self.space.check_budget()
        return self.space.cheapest()  # the distribution mass is almost all over budget

    def log_prob_grad(self, config: Config) -> dict[str, np.ndarray]:
        """d log p(config) / d logits for each active factor (one-hot minus softmax)."""
        grads = {}
        for f in self.space.factors:
            if f.name in config:
                g = -self.probs(f)
                g[f.choices.index(config[f.name])] += 1.0
                grads[f.name] = g
        return grads

    def step(self, grads: dict[str, np.ndarray], scale: float, *, clip: float = 5.0) -> None:
        for name, g in grads.items():
            self.logits[name] = np.clip(self.logits[name] + scale * g, -clip, clip)

    def nudge(self, factor: str, choice: Any, delta: float, *, clip: float = 5.0) -> None:
        f = self.space.factor(factor)
        self.logits[factor][f.choices.index(choice)] = float(np.clip(self.logits[factor][f.choices.index(choice)] + delta, -clip, clip))

    def set_group(self, group: str, choice: Any, value: float) -> None:
        """Raise ``choice``'s logit in every factor of ``group`` (e.g. every node's model)."""
        for f in self.space.factors:
            if f.group == group and choice in f.choices:
                self.logits[f.name][f.choices.index(choice)] = value

    def mode(self) -> Config:
        return self.space.complete({}, self.rng, lambda f: [1.0 if i == int(np.argmax(self.probs(f))) else 0.0 for i in range(len(f.choices))])

    def table(self, *, groups: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
        """Probabilities per factor, grouped where factors share a group (model probabilities are
        averaged over node slots, edges reported as the mean edge probability)."""
        out: dict[str, dict[str, float]] = {}
        by_group: dict[str, list[Factor]] = {}
        for f in self.space.factors:
            by_group.setdefault(f.group or f.name, []).append(f)
        for group, fs in by_group.items():
            if groups and group not in groups:
                continue
            if group in ("width", "depth", "aggregator") or len(fs) == 1:
                for f in fs:
                    out[f.name] = {str(c): round(float(p), 3) for c, p in zip(f.choices, self.probs(f), strict=True)}
            elif group == "edge":
                out["edge"] = {"1": round(float(np.mean([self.probs(f)[1] for f in fs])), 3)}
            elif group == "model" and isinstance(self.space, LayeredGraphSpace):
                mean = np.mean([self.probs(f) for f in fs], axis=0)
                out["model"] = {str(c): round(float(p), 3) for c, p in zip(fs[0].choices, mean, strict=True)}
            else:
                for f in fs:
                    out[f.name] = {str(c): round(float(p), 3) for c, p in zip(f.choices, self.probs(f), strict=True)}
        return out

    def state(self) -> dict:
        return {k: v.tolist() for k, v in self.logits.items()}

    def load_state(self, data: dict) -> None:
        for k, v in data.items():
            if k in self.logits and len(v) == len(self.logits[k]):
                self.logits[k] = np.array(v, dtype=float)
