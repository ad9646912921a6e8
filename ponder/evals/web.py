"""Web and MiniWoB++ evaluation: run one strategy over many tasks with
:func:`ponder.evals.runner.run_job` (progress bar, resumable JSONL, K workers each owning an
environment), one row per task.

Each worker is a thread that owns its environment for the whole run (Playwright binds browser
objects to the thread that made them), so environments are created, used and closed in the same
thread. Each task also runs under LangGraph's SQLite checkpointer (``<out>.ckpt.sqlite``): a run
killed mid-task resumes inside that task, not only at the next one.

With a :class:`~ponder.evals.ray_runner.RayRunner` the workers are Ray actors instead (each
loads its own model and environment) and a killed task restarts from its beginning; the driver
still writes every row and every trace.

Row fields: ``id``, ``kind`` (``web`` / ``miniwob``), ``strategy``, ``label`` (the strategy
with its budget, e.g. ``best-first c=5``), ``model``, ``judge_model`` (when the value judge has
its own model), ``seed``, ``success``, ``score``,
``usage``, ``seconds``, ``trace``, ``error`` (an environment failure, distinct from a task
failure), ``answer``, ``stop_reason``, ``actions``, ``site``, ``difficulty``, ``config``, and on Ray
``worker`` (``{"id": "NODE:PID", "attempt": N}``).
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, EnvError, PonderError
from ponder.evals.runner import Job, Runner, load_worker_model, run_job, worker_model_name
from ponder.graphs.web_agent import SEARCH_STRATEGIES, WEB_STRATEGIES, WebAgentConfig, forget_thread, run_web
from ponder.usage import Budget


@dataclass
class EvalItem:
    """One task to run: its id, what ``reset`` gets, and labels for the row."""

    id: str
    task: Any
    site: str = ""
    difficulty: str = ""
    seed: int = 0


def select_tasks(tasks: Sequence[Any], spec: str = "all", *, per_site: int | None = None, seed: int = 0) -> list[Any]:
    """Pick tasks by ``all``, a site name, or comma-separated ids; with ``per_site``, a
    stratified sample of that many per site (spread over difficulties, seeded)."""
    spec = (spec or "all").strip()
    sites = sorted({s for t in tasks for s in (getattr(t, "sites", None) or [])})
    if spec == "all":
        chosen = list(tasks)
    elif spec in sites:
        chosen = [t for t in tasks if spec in (t.sites or [])]
    else:
        by_id = {str(t.task_id): t for t in tasks}
        wanted = [s.strip() for s in spec.split(",") if s.strip()]
        missing = [w for w in wanted if w not in by_id]
        if missing:
            raise ConfigError(
                f"--tasks: unknown task id(s) {', '.join(missing[:5])}",
                hint=f"use all, a site ({', '.join(sites)}) or ids from `ponder web tasks`",
            )
        chosen = [by_id[w] for w in wanted]
    if per_site:
        rng = random.Random(seed)
        out = []
        for site in sites:
            pool = [t for t in chosen if (t.sites or [""])[0] == site]
            by_level: dict[str, list] = {}
            for t in pool:
                by_level.setdefault(str(getattr(t, "difficulty", "")), []).append(t)
            for group in by_level.values():
                rng.shuffle(group)
            picked: list = []
            levels = sorted(by_level)
            while len(picked) < min(per_site, len(pool)):  # round-robin over difficulties
                for lv in levels:
                    if by_level[lv] and len(picked) < per_site:
                        picked.append(by_level[lv].pop())
            out += sorted(picked, key=lambda t: str(t.task_id))
        chosen = out
    return chosen


def strategy_label(strategy: str, config: WebAgentConfig, judge_model: str | None = None) -> str:
    """A short name for a strategy with its compute knobs, for report tables (``judge_model``:
    the value judge's own model, named when the strategy calls a judge)."""
    if strategy == "best-first":
        label = f"best-first c={config.value_budget} b={config.branching}"
        if config.threshold != WebAgentConfig.threshold:
            label += f" t={config.threshold:g}"
    elif strategy == "best-of-n":
        label = f"best-of-n N={config.trajectories}"
    elif strategy == "recheck":
        label = f"recheck R={config.rechecks}"
    else:
        label = strategy
    if config.value == "oracle":
        return label + " oracle"
    if config.value != "judge":  # a learned value (learned:DIR or a ponder.toml name)
        return label + f" value={config.value.removeprefix('learned:').rstrip('/').split('/')[-1]}"
    if strategy in SEARCH_STRATEGIES:
        label += " graded" if config.judge.graded else ""
        label += f" judge={judge_model}" if judge_model else ""
    return label


@dataclass
class _WebState:
    """What one worker keeps across episodes: its model(s) and its environment (made by the
    first episode, remade after an environment failure)."""

    llm: Any
    judge: Any = None
    env: Any = None


@dataclass
class WebEpisodes:
    """One evaluation's episodes as a :class:`~ponder.evals.runner.Job`: each worker holds its
    model(s) and an environment; a unit is one :class:`EvalItem`; the driver writes the trace
    the worker sends back."""

    kind: str
    strategy: str
    label: str
    config: WebAgentConfig
    model: Any  # a ChatModel (local backend), a registry name or a factory
    judge: Any
    env_factory: Callable[[], Any]
    reset: Callable[[Any, EvalItem], Any] | None
    budget: Budget | None
    ckpt: Path | None
    trace_dir: Path
    success_threshold: float
    model_name: str = ""
    judge_name: str | None = None

    def make_state(self) -> _WebState:
        return _WebState(load_worker_model(self.model), load_worker_model(self.judge) if self.judge is not None else None)

    def close_state(self, state: _WebState) -> None:
        self._discard(state)

    @staticmethod
    def _discard(state: _WebState) -> None:
        if state.env is not None:
            try:
                state.env.close()
            except Exception:
                pass
            state.env = None

    def _head(self, item: EvalItem) -> dict:
        row: dict = {"id": item.id, "kind": self.kind, "strategy": self.strategy, "label": self.label,
                     "model": self.model_name, "seed": self.config.seed, "site": item.site, "difficulty": item.difficulty}
        if self.judge_name is not None:
            row["judge_model"] = self.judge_name
        return row

    def run_unit(self, state: _WebState, item: EvalItem) -> dict:
        start = time.perf_counter()
        thread_id = f"{self.kind}:{item.id}:{self.label}:{self.config.seed}"
        row = self._head(item)
        try:
            if state.env is None:
                state.env = self.env_factory()
            env = state.env
            reset_fn = (lambda: self.reset(env, item)) if self.reset else None
            result = run_web(env, item.task, state.llm, strategy=self.strategy, config=self.config, budget=self.budget,
                             reset=reset_fn, checkpoint=self.ckpt, thread_id=thread_id, judge_model=state.judge)
            score = env.evaluate()
            value = float(score.value)
            trace = dict(result.trace)
            trace["score"] = value
            trace["score_details"] = getattr(score, "details", {})
            row.update(success=value >= self.success_threshold, score=value, usage=result.usage, answer=result.answer,
                       stop_reason=result.stop_reason, actions=result.actions, trace=None, error=None,
                       metrics={"value_calls": trace["stats"].get("total_value_calls", 0),
                                "nodes": len(trace["nodes"]),
                                "restores": result.runtime.counts["restore"], "replays": result.runtime.counts["replay"]},
                       _trace=trace)
        except EnvError as e:
            self._discard(state)
            row.update(success=False, score=0.0, usage={}, trace=None, error=f"{type(e).__name__}: {e}")
        except PonderError:
            raise  # a configuration problem: stop the run, it would fail every task
        except Exception as e:  # a crashed browser or driver: an environment failure, not a task failure
            self._discard(state)
            row.update(success=False, score=0.0, usage={}, trace=None,
                       error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=3))
        if self.ckpt is not None and row.get("error") is None:
            forget_thread(self.ckpt, thread_id)
        row["seconds"] = round(time.perf_counter() - start, 3)
        row["config"] = self.config.to_dict()
        return row

    def finish(self, row: dict) -> dict:
        """In the driver: write the episode's trace (the worker may be on another machine)."""
        trace = row.pop("_trace", None)
        if trace is not None:
            from ponder.graphs.trace import write_trace

            row["trace"] = str(write_trace(trace, self.trace_dir / f"{_safe(row['id'])}.json"))
        return row

    def error_row(self, item: EvalItem, reason: str) -> dict:
        row = self._head(item)
        row.update(success=False, score=0.0, usage={}, trace=None, error=reason, config=self.config.to_dict())
        return row


def run_eval(
    items: Sequence[EvalItem],
    *,
    kind: str,
    env_factory: Callable[[], Any],
    reset: Callable[[Any, EvalItem], Any] | None = None,
    strategy: str = "greedy",
    model: Any = None,
    judge_model: Any = None,
    config: WebAgentConfig | None = None,
    budget: Budget | None = None,
    workers: int = 1,
    out: str | Path,
    trace_dir: str | Path | None = None,
    label: str | None = None,
    success_threshold: float = 1.0,
    show_progress: bool = True,
    checkpoint: bool = True,
    runner: Runner | None = None,
    heldout_check: bool = True,
) -> list[dict]:
    """Run ``strategy`` on every item not yet in ``out``; returns all rows of ``out``.

    Args:
        items: the tasks, each with a unique id.
        kind: the row's ``kind`` (``web``, ``miniwob``).
        env_factory: makes one environment (called once per worker, in the worker's thread).
        reset: ``reset(env, item) -> Observation`` (default ``env.reset(item.task)``).
        model: a :class:`~ponder.models.base.ChatModel`, a registry name, or (for Ray) a
            zero-argument factory that each worker calls.
        judge_model: the value judge's own model (the same forms; default: ``model``).
        success_threshold: a score at or above this is a success.
        runner: the backend (default: ``workers`` local threads); with
            :class:`~ponder.evals.ray_runner.RayRunner` each Ray worker loads its own model
            and environment, and in-task checkpoints are off (a killed unit restarts).
        heldout_check: refuse a learned value or cloned actor on episodes it was trained on
            (an evaluation); off only for collecting training data (expert iteration: the
            improved actor collects on the training episodes).
    """
    if strategy not in WEB_STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}", hint=f"one of: {', '.join(WEB_STRATEGIES)}")
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    local = runner is None or runner.name == "local"
    config = config or WebAgentConfig()
    if strategy not in SEARCH_STRATEGIES or config.value != "judge":
        judge_model = None  # no model judges states in this run
    held = [(str(getattr(it.task, "task_id", it.task)), int(it.seed)) for it in items]
    if heldout_check:
        if strategy in SEARCH_STRATEGIES and config.value != "judge":
            from ponder.learning.value_model import check_heldout, learned_folder

            folder = learned_folder(config.value)
            if folder is not None:  # never evaluate a learned value on what it was trained on
                check_heldout(folder, held)
        if isinstance(model, str) and model.startswith("hf:"):
            from ponder.learning.split import check_actor_heldout

            check_actor_heldout(model, held)  # nor a cloned actor
    if local:  # one model for every thread, loaded here as before
        llm = load_worker_model(model)
        if isinstance(judge_model, str):
            judge = None if judge_model == llm.name else load_worker_model(judge_model)
        else:
            judge = None if judge_model is llm else judge_model
        model_name, judge_name = llm.name, (judge.name if judge is not None else None)
    else:  # each worker loads its own
        llm, model_name = model, worker_model_name(model)
        judge = judge_model
        judge_name = worker_model_name(judge_model) if judge_model is not None else None
        if judge_name == model_name:
            judge, judge_name = None, None
    label = label or strategy_label(strategy, config, judge_name)
    out = Path(out)
    trace_dir = Path(trace_dir) if trace_dir else out.with_name(out.stem + "-traces")
    ckpt = out.with_name(out.name + ".ckpt.sqlite") if checkpoint and local else None
    episodes = WebEpisodes(kind, strategy, label, config, llm, judge, env_factory, reset, budget, ckpt, trace_dir,
                           success_threshold, model_name, judge_name)
    job = Job(episodes.make_state, episodes.run_unit, episodes.close_state, episodes.error_row, episodes.finish,
              name=f"{kind} eval")
    return run_job(job, items, out=out, key=lambda it: it.id, runner=runner, workers=workers,
                   description=f"{kind} {label}", show_progress=show_progress)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def agent_config(
    *,
    horizon: int,
    candidates: int,
    temperature: float,
    max_tokens: int,
    max_obs_chars: int,
    judge_samples: int,
    graded_judge: bool,
    rechecks: int,
    branching: int,
    depth: int,
    value_budget: int,
    threshold: float,
    trajectories: int,
    search_rounds: int,
    value: str,
    seed: int,
) -> WebAgentConfig:
    """A :class:`WebAgentConfig` from flat options: what the CLI passes (its options hold the
    defaults; in Python, build a :class:`WebAgentConfig` directly)."""
    from ponder.agents.value_judge import JudgeConfig
    from ponder.agents.web_actor import ActorConfig

    return WebAgentConfig(
        horizon=horizon, rechecks=rechecks, branching=branching, depth=depth, value_budget=value_budget,
        threshold=threshold, trajectories=trajectories, search_rounds=search_rounds, value=value, seed=seed,
        actor=ActorConfig(n=candidates, temperature=temperature, max_tokens=max_tokens, max_obs_chars=max_obs_chars),
        judge=JudgeConfig(k=judge_samples, max_obs_chars=min(max_obs_chars, 1000), recent=1, graded=graded_judge),
    )


def run_web_eval(
    *,
    tasks: str = "all",
    per_site: int | None = None,
    strategy: str = "greedy",
    model: Any = None,
    judge_model: Any = None,
    config: WebAgentConfig | None = None,
    budget: Budget | None = None,
    workers: int = 1,
    out: str | Path,
    limit: int | None = None,
    label: str | None = None,
    show_progress: bool = True,
    env_factory: Callable[[], Any] | None = None,
    task_list: Sequence[Any] | None = None,
    trace_dir: str | Path | None = None,
    runner: Runner | None = None,
) -> list[dict]:
    """``ponder eval web``: the local sites' tasks (``task_list`` overrides the built-in ones,
    ``env_factory`` the :class:`~ponder.environments.webenv.WebEnv`)."""
    if task_list is None:
        from ponder.environments.tasks import builtin_tasks

        task_list = builtin_tasks()
    config = config or WebAgentConfig()
    chosen = select_tasks(task_list, tasks, per_site=per_site, seed=config.seed)
    if limit:
        chosen = chosen[:limit]
    items = [EvalItem(str(t.task_id), t, (getattr(t, "sites", None) or [""])[0], str(getattr(t, "difficulty", "")), config.seed) for t in chosen]
    if env_factory is None:
        from ponder.environments.webenv import WebEnv

        env_factory = WebEnv
    return run_eval(items, kind="web", env_factory=env_factory, strategy=strategy, model=model, judge_model=judge_model, config=config,
                    budget=budget, workers=workers, out=out, label=label, show_progress=show_progress, trace_dir=trace_dir,
                    runner=runner)


def run_miniwob_eval(
    *,
    tasks: str = "all",
    strategy: str = "greedy",
    model: Any = None,
    judge_model: Any = None,
    config: WebAgentConfig | None = None,
    budget: Budget | None = None,
    workers: int = 1,
    out: str | Path,
    limit: int | None = None,
    episodes: int = 1,
    label: str | None = None,
    show_progress: bool = True,
    trace_dir: str | Path | None = None,
    runner: Runner | None = None,
) -> list[dict]:
    """``ponder eval miniwob``: MiniWoB++ tasks (``all`` = the adapter's
    ``RECOMMENDED_TASKS``, doable with WebArena's actions, or comma-separated names),
    ``episodes`` seeds each; success is a raw reward > 0."""
    from ponder.environments import miniwob

    known = miniwob.miniwob_tasks()
    names = list(miniwob.RECOMMENDED_TASKS) if tasks in ("all", "", None) else [s.strip() for s in tasks.split(",") if s.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"--tasks: unknown MiniWoB++ task(s) {', '.join(unknown[:5])}",
                          hint=f"all (= {len(miniwob.RECOMMENDED_TASKS)} tasks doable with WebArena's actions) or names such as "
                               f"{', '.join(miniwob.RECOMMENDED_TASKS[:6])}")
    if limit:
        names = names[:limit]
    config = config or WebAgentConfig()
    items = [EvalItem(f"{n}#{config.seed + e}", n, "miniwob", "", config.seed + e) for n in names for e in range(episodes)]
    def make_env() -> Any:
        env = miniwob.MiniWoBEnv()
        env.reset_restores_state = True  # a reset restarts the page: nothing a branch does persists
        return env

    return run_eval(items, kind="miniwob", env_factory=make_env, reset=lambda env, it: env.reset(it.task, seed=it.seed),
                    strategy=strategy, model=model, judge_model=judge_model, config=config, budget=budget, workers=workers,
                    out=out, label=label, success_threshold=1e-9, show_progress=show_progress, trace_dir=trace_dir,
                    runner=runner)
