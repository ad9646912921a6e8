"""The web strategies' names and their one run configuration (:class:`WebAgentConfig`).

The lowest module of the web-agent graphs: the runtime, each strategy and the strategy table
(:data:`ponder.graphs.web_agent.WEB_STRATEGIES`) import it, never the reverse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

from ponder.agents.value_judge import JudgeConfig
from ponder.agents.web_actor import ActorConfig
from ponder.errors import ConfigError

#: A web strategy (``ponder eval web --strategy``): ``greedy`` follows the actor's top action;
#: ``recheck`` asks the agent to check its answer before it is final; ``best-first`` is tree
#: search over environment states (Koh et al. 2024); ``best-of-n`` runs N trajectories and keeps
#: the one the value function rates highest.
WebStrategy = Literal["greedy", "recheck", "best-first", "best-of-n"]
WEB_STRATEGY_NAMES: tuple[WebStrategy, ...] = get_args(WebStrategy)
#: The strategies that search over states: they snapshot, and a value function scores what they find.
SEARCH_STRATEGIES: tuple[WebStrategy, ...] = ("best-first", "best-of-n")

#: Where state values come from: the model as a judge, or the environment's evaluator (an upper bound).
ValueSource = Literal["judge", "oracle"]


def check_web_strategy(name: str) -> WebStrategy:
    """``name`` as a :data:`WebStrategy`, or a :class:`ConfigError` listing the known ones."""
    if name not in WEB_STRATEGY_NAMES:
        raise ConfigError(f"unknown web strategy {name!r}", hint=f"one of: {', '.join(WEB_STRATEGY_NAMES)}")
    return name  # type: ignore[return-value]


@dataclass(frozen=True)
class WebAgentConfig:
    """Settings of every web strategy (each uses the ones it needs).

    Args:
        horizon: the most environment steps on the committed trajectory.
        actor: how candidate actions are sampled.
        judge: how states are valued.
        rechecks: re-check prompts after the agent answers (``recheck``).
        branching: children expanded per node, the most frequent candidates (``best-first``).
        depth: how deep one search round goes below its root (``best-first``).
        value_budget: value-judge calls per search round, ``c`` in Koh et al. (``best-first``).
        threshold: a value at or above this ends a search round at once (``best-first``).
        trajectories: N sampled trajectories to rerank (``best-of-n``).
        search_rounds: search rounds, each followed by a commit; after the last one the agent
            acts greedily to the horizon (``best-first``; 0: search until the committed
            trajectory answers or reaches the horizon).
        value: ``"judge"`` (the model) or ``"oracle"`` (the environment's evaluator, an upper bound).
        seed: the run's seed; every model call's seed derives from it and the node id.
    """

    horizon: int = 6
    actor: ActorConfig = field(default_factory=ActorConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    rechecks: int = 1
    branching: int = 3
    depth: int = 3
    value_budget: int = 10
    threshold: float = 1.0
    trajectories: int = 4
    search_rounds: int = 0
    value: ValueSource = "judge"
    seed: int = 0

    def __post_init__(self):
        if self.search_rounds < 0:
            raise ConfigError(f"WebAgentConfig.search_rounds must be >= 0, got {self.search_rounds}")
        for name in ("horizon", "branching", "depth", "value_budget", "trajectories"):
            if getattr(self, name) < 1:
                raise ConfigError(f"WebAgentConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.rechecks < 0:
            raise ConfigError(f"WebAgentConfig.rechecks must be >= 0, got {self.rechecks}")
        if self.value not in get_args(ValueSource):
            raise ConfigError(f"WebAgentConfig.value must be 'judge' or 'oracle', got {self.value!r}")

    def to_dict(self) -> dict:
        return asdict(self)
