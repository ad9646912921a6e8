"""Rollout collection: run episodes through the eval runner and record every visited state.

Three sources, one format: :func:`collect_miniwob` (MiniWoB++ episodes), :func:`collect_web`
(the local sites' tasks, as ``ponder eval web`` runs them) and :func:`collect_demos` (the local
sites' reference solutions replayed as demonstrations). The local-site training tasks are a
named subset, ``train``: every task outside the stratified 40 that ``ponder eval web --per-site
10`` evaluates (:func:`web_eval_tasks`); a ``train`` collection refuses any of the 40.

Collection is an evaluation run (:func:`ponder.evals.web.run_eval`, so the runner's progress
bar, resumable results file, per-task checkpoints and whatever parallel backend it has apply)
whose environments are wrapped in a :class:`RecordingEnv`. The wrapper appends one raw record per
state the agent reaches (reset, step, replay, restore) to ``raw/states.jsonl``: the action path
from reset, the observation text exactly as the environment returned it, and the environment's
own reward in that state. :func:`ponder.learning.dataset.build_dataset` then joins the raw
records with the runs' traces (candidates, the committed actions) into the shards.

Layout of a collection folder::

    metadata.json          format, env, split (role, tasks, seeds), runs, gamma
    raw/states.jsonl       one record per visited state (append-only, never rewritten)
    runs/<label>.jsonl     the runner's results file per run (+ traces, checkpoints)
    data/states-NNNNN.jsonl the dataset shards (rebuilt from raw/ and runs/ after each run)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, PonderError
from ponder.files import JsonlWriter, read_jsonl, write_json_atomic
from ponder.learning.split import FORMAT, TRAIN_MIN_SEED, Split, parse_seeds, read_metadata

__all__ = ["FORMAT", "TRAIN_MIN_SEED", "RecordingEnv", "Split", "actor_action", "collect_demos", "collect_miniwob", "collect_web",
           "parse_seeds", "read_metadata", "web_eval_tasks", "web_tasks"]

class RecordingFactory:
    """Makes one recording environment per worker: picklable (a path, a label and an optional
    inner factory), so a Ray worker builds its own writer and environment."""

    def __init__(self, raw: str, run: str, inner: Any = None):
        self.raw, self.run, self.inner = raw, run, inner

    def __call__(self) -> RecordingEnv:
        if self.inner is not None:
            env = self.inner()
        else:
            from ponder.environments.miniwob import MiniWoBEnv

            env = MiniWoBEnv()
        env.reset_restores_state = True  # a reset restarts the page: nothing a branch does persists
        return RecordingEnv(env, JsonlWriter(self.raw), self.run)


class RecordingEnv:
    """Wraps an environment and appends one record per visited state to ``writer``.

    Everything else is passed through, so a strategy and the runner see the wrapped
    environment. ``run`` names the collection run (the label) in each record.
    """

    def __init__(self, env: Any, writer: JsonlWriter, run: str):
        self._env = env
        self._writer = writer
        self._run = run
        self._path: tuple[str, ...] | None = None
        self._intent = ""
        self._seen: set[tuple] = set()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)

    @property
    def can_snapshot(self) -> bool:
        return self._env.can_snapshot

    @property
    def reset_restores_state(self) -> bool:
        return getattr(self._env, "reset_restores_state", False)

    @reset_restores_state.setter
    def reset_restores_state(self, value: bool) -> None:
        self._env.reset_restores_state = value

    def reset(self, task: Any, *args: Any, **kw: Any) -> Any:
        obs = self._env.reset(task, *args, **kw)
        self._path = ()
        self._intent = getattr(obs, "intent", "") or getattr(task, "intent", "") or ""
        self._record(obs, done=False, answer=None, info={})
        return obs

    def step(self, action: str) -> Any:
        result = self._env.step(action)
        self._path = None if self._path is None else (*self._path, action)
        self._record(result.observation, done=bool(result.done), answer=result.answer, info=result.info or {})
        return result

    def replay(self, actions: list[str]) -> Any:
        obs = self._env.replay(list(actions))
        self._path = tuple(actions)
        self._record(obs, done=bool(getattr(self._env, "done", False)), answer=getattr(self._env, "answer", None), info={})
        return obs

    def snapshot(self) -> Any:
        return (self._env.snapshot(), self._path)

    def restore(self, state: Any) -> Any:
        inner, path = state
        obs = self._env.restore(inner)
        self._path = path
        return obs

    def evaluate(self) -> Any:
        return self._env.evaluate()

    def close(self) -> None:
        self._env.close()

    def _record(self, obs: Any, *, done: bool, answer: str | None, info: dict) -> None:
        if self._path is None:
            return
        task = getattr(self._env, "task", "") or ""
        task = str(getattr(task, "task_id", task))  # a local-site Task object, or a MiniWoB++ name
        seed = int(getattr(self._env, "seed", 0) or 0)  # a WebEnv has none: the sites' data seed 0
        key = (task, seed, self._path)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        try:
            score = self._env.evaluate()
            reward, details = float(score.value), dict(getattr(score, "details", {}) or {})
        except Exception as e:  # an environment error: the state is kept, unscored
            reward, details = 0.0, {"error": f"{type(e).__name__}: {e}"}
        self._writer.write({
            "run": self._run, "task": task, "seed": seed, "intent": self._intent, "path": list(self._path),
            "observation": getattr(obs, "text", "") or "", "url": getattr(obs, "url", "") or "",
            "error": getattr(obs, "last_action_error", None) or "", "done": done or bool(details.get("done")),
            "answer": answer, "reward": reward, "env_error": str(info.get("env_error") or details.get("error") or ""),
        })


def _start_metadata(out: Path, split: Split, gamma: float) -> dict:
    path = out / "metadata.json"
    if path.exists():
        meta = read_metadata(out)
        if not Split.from_dict(meta["split"]).includes(split):
            raise ConfigError(f"{path}: this folder's split ({meta['split']}) does not include the one asked for "
                              f"({split.to_dict()})", hint="collect into a new --out folder")
        return meta
    meta = {"format": FORMAT, "env": split.env, "split": split.to_dict(), "gamma": gamma, "runs": []}
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, meta)
    return meta


def collect_miniwob(
    out: str | Path,
    *,
    tasks: Sequence[str],
    seeds: Sequence[int],
    role: str = "train",
    strategy: str = "best-first",
    model: Any = None,
    config: Any = None,
    workers: int = 1,
    gamma: float = 0.9,
    label: str | None = None,
    show_progress: bool = True,
    env_factory: Any = None,
    runner: Any = None,
) -> Path:
    """Run ``strategy`` on every (task, seed) and record every visited state under ``out``;
    rebuilds the shards (``out/data``) and returns ``out``. Resumable: rerun the same call and
    finished episodes are skipped, a killed one resumes from its checkpoint; raw records are only
    ever appended.

    Args:
        tasks, seeds: the episodes (MiniWoB++ task names x seeds).
        role: ``train`` (seeds must be >= :data:`TRAIN_MIN_SEED`) or ``heldout``.
        strategy, model, config: as for ``ponder eval miniwob`` (``config.value`` may be
            ``oracle``: search then finds successful paths far more often).
        env_factory: makes one environment (default: a :class:`~ponder.environments.miniwob.MiniWoBEnv`).
        runner: the eval runner's backend (default: ``workers`` local threads; a
            :class:`~ponder.evals.ray_runner.RayRunner` runs the episodes on Ray workers, each
            appending to the same raw file).
    """
    from ponder.evals.web import EvalItem

    split = Split("miniwob", role, tuple(tasks), tuple(int(s) for s in seeds))
    if env_factory is None:
        from ponder.environments import miniwob

        known = set(miniwob.miniwob_tasks())
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise ConfigError(f"unknown MiniWoB++ task(s) {', '.join(unknown[:5])}")
    items = [EvalItem(f"{t}#{s}", t, "miniwob", "", s) for s in seeds for t in tasks]
    return _collect(out, split, items, kind="miniwob", reset=_reset_seeded, env_factory=env_factory, strategy=strategy,
                    model=model, config=config, workers=workers, gamma=gamma, label=label, show_progress=show_progress,
                    runner=runner)


def _reset_seeded(env: Any, item: Any) -> Any:
    return env.reset(item.task, seed=item.seed)


def _collect(out: str | Path, split: Split, items: list, *, kind: str, reset: Any, env_factory: Any, strategy: str,
             model: Any, config: Any, workers: int, gamma: float, label: str | None, show_progress: bool,
             runner: Any) -> Path:
    """One collection run of ``items`` (ids ``task#seed``) through :func:`ponder.evals.web.run_eval`
    with recording environments, then the shards rebuilt: what ``collect miniwob|web`` share."""
    from ponder.evals.web import run_eval, strategy_label
    from ponder.graphs.web_agent import WebAgentConfig
    from ponder.learning.dataset import build_dataset

    out = Path(out)
    meta = _start_metadata(out, split, gamma)
    config = config or WebAgentConfig()
    label = label or strategy_label(strategy, config)
    safe = _safe(label)
    run_info = {"label": label, "strategy": strategy, "config": config.to_dict(),
                "model": model if isinstance(model, str) or model is None else getattr(model, "name", str(model)),
                "results": f"runs/{safe}.jsonl"}
    _add_run(out, meta, run_info)
    make_env = RecordingFactory(str(out / "raw" / "states.jsonl"), label, env_factory)
    run_eval(items, kind=kind, env_factory=make_env, reset=reset, strategy=strategy, model=model, config=config,
             workers=workers, out=out / run_info["results"], label=label, success_threshold=1e-9,
             show_progress=show_progress, trace_dir=out / "runs" / f"{safe}-traces", runner=runner,
             heldout_check=False)  # collecting training data: an actor trained on these episodes may collect more
    build_dataset(out)
    return out


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)


def _add_run(out: Path, meta: dict, run_info: dict) -> None:
    if not any(r.get("label") == run_info["label"] for r in meta["runs"]):
        meta["runs"].append(run_info)
        write_json_atomic(out / "metadata.json", meta)


# ---- the local sites --------------------------------------------------------------------------

#: The data seed of every local-site episode (the sites' seeded database).
WEB_SEED = 0
#: ``--per-site`` of the evaluation subset: the stratified 40 of docs/RESULTS.md (never trained on).
EVAL_PER_SITE = 10


def web_eval_tasks(task_list: Sequence[Any] | None = None) -> list[str]:
    """The local-site evaluation tasks: the stratified sample ``ponder eval web --per-site 10``
    picks (seed 0), the 40 tasks of the search rows in docs/RESULTS.md. Never trained on."""
    from ponder.environments.tasks import builtin_tasks
    from ponder.evals.web import select_tasks

    tasks = builtin_tasks() if task_list is None else list(task_list)
    return [str(t.task_id) for t in select_tasks(tasks, "all", per_site=EVAL_PER_SITE, seed=0)]


def web_tasks(spec: str | Sequence[str], task_list: Sequence[Any] | None = None) -> list[Any]:
    """Local-site tasks by name: ``train`` (every task NOT in :func:`web_eval_tasks`: the named
    training subset), ``eval`` (the stratified 40), ``all``, a site name, or task ids (a
    comma-separated string or a list). An unknown id is a :class:`ConfigError` naming it."""
    from ponder.environments.tasks import builtin_tasks
    from ponder.evals.web import select_tasks

    tasks = builtin_tasks() if task_list is None else list(task_list)
    if isinstance(spec, str) and spec.strip() in ("train", "eval"):
        held = set(web_eval_tasks(tasks))
        return [t for t in tasks if (str(t.task_id) in held) == (spec.strip() == "eval")]
    text = spec if isinstance(spec, str) else ",".join(str(s) for s in spec)
    try:
        return select_tasks(tasks, text)
    except ConfigError as e:
        raise ConfigError(e.message, hint="train (the 81 training tasks), eval (the stratified 40), all, a site "
                                          "(admin, forum, shop, wiki) or ids from `ponder web tasks`") from None


def _web_split(tasks: Sequence[Any], role: str, task_list: Sequence[Any] | None) -> Split:
    ids = tuple(str(t.task_id) for t in tasks)
    if role == "train":
        held = set(web_eval_tasks(task_list))
        bad = [t for t in ids if t in held]
        if bad:
            raise ConfigError(f"--tasks: {len(bad)} task(s) ({', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}) are in "
                              "the stratified evaluation 40 (`ponder eval web --per-site 10`) and may not be trained on",
                              hint="--tasks train (every local-site task outside the 40) or ids from it")
    return Split("web", role, ids, (WEB_SEED,))


def _web_items(tasks: Sequence[Any]) -> list:
    from ponder.evals.web import EvalItem

    return [EvalItem(f"{t.task_id}#{WEB_SEED}", t, (t.sites or [""])[0], str(t.difficulty), WEB_SEED) for t in tasks]


def collect_web(
    out: str | Path,
    *,
    tasks: str | Sequence[str] = "train",
    role: str = "train",
    strategy: str = "best-first",
    model: Any = None,
    config: Any = None,
    workers: int = 1,
    gamma: float = 0.9,
    label: str | None = None,
    show_progress: bool = True,
    env_factory: Any = None,
    runner: Any = None,
    task_list: Sequence[Any] | None = None,
) -> Path:
    """:func:`collect_miniwob` on the local sites: run ``strategy`` on each task (``tasks`` as
    :func:`web_tasks` reads it; a ``train`` split refuses the stratified evaluation 40) in a
    :class:`~ponder.environments.webenv.WebEnv` (``env_factory``), through the runner of
    ``ponder eval web``, and record every visited state. Episode ids are ``TASK#0``."""
    chosen = web_tasks(tasks, task_list)
    split = _web_split(chosen, role, task_list)
    if env_factory is None:
        from ponder.environments.webenv import WebEnv

        env_factory = WebEnv
    return _collect(out, split, _web_items(chosen), kind="web", reset=None, env_factory=env_factory, strategy=strategy,
                    model=model, config=config, workers=workers, gamma=gamma, label=label, show_progress=show_progress,
                    runner=runner)


def actor_action(reference: str, page: str) -> str:
    """A reference action in the actor's output format: an element named by role and name
    (``click [link 'Technology']``) becomes its id on ``page`` (``click [12]``), as the actor
    writes it (its prompt's examples use ids); kept as written when the page does not show it."""
    from ponder.agents.web_actor import parse_action

    return parse_action(reference, page) or reference


DEMO_LABEL = "reference"


@dataclass
class DemoEpisodes:
    """Replaying reference solutions as a runner :class:`~ponder.evals.runner.Job`: each worker
    owns a recording environment; a unit is one task, whose reference actions are stepped in
    the actor's format (:func:`actor_action`) from a reset. Picklable (for Ray)."""

    raw: str
    env_factory: Any

    def make_state(self) -> dict:
        return {"env": None}

    def close_state(self, state: dict) -> None:
        if state["env"] is not None:
            state["env"].close()
            state["env"] = None

    def run_unit(self, state: dict, item: Any) -> dict:
        start = time.perf_counter()
        task = item.task
        row: dict = {"id": item.id, "kind": "web", "strategy": DEMO_LABEL, "label": DEMO_LABEL, "model": DEMO_LABEL,
                     "seed": item.seed, "site": item.site, "difficulty": item.difficulty, "reference": list(task.reference)}
        actions: list[str] = []
        errors: list[str] = []
        try:
            if state["env"] is None:
                state["env"] = RecordingFactory(self.raw, DEMO_LABEL, self.env_factory)()
            env = state["env"]
            obs = env.reset(task)
            for ref in task.reference:
                action = actor_action(ref, getattr(obs, "text", "") or "")
                result = env.step(action)
                actions.append(action)
                obs = result.observation
                if obs.last_action_error:
                    errors.append(f"{action}: {obs.last_action_error}")
                if result.done:
                    break
            score = env.evaluate()
            value = float(score.value)
            row.update(success=value >= 1.0, score=value, actions=actions, answer=env.answer, action_errors=errors,
                       error=None, details=dict(getattr(score, "details", {}) or {}))
        except PonderError:
            raise
        except Exception as e:  # an environment failure: this task has no demonstration
            self.close_state(state)
            row.update(success=False, score=0.0, actions=actions, error=f"{type(e).__name__}: {e}")
        row.update(usage={}, trace=None, seconds=round(time.perf_counter() - start, 3))
        return row

    def error_row(self, item: Any, reason: str) -> dict:
        return {"id": item.id, "kind": "web", "strategy": DEMO_LABEL, "label": DEMO_LABEL, "success": False, "score": 0.0,
                "usage": {}, "trace": None, "error": reason}


def collect_demos(
    out: str | Path,
    *,
    tasks: str | Sequence[str] = "train",
    workers: int = 1,
    gamma: float = 0.9,
    show_progress: bool = True,
    env_factory: Any = None,
    runner: Any = None,
    task_list: Sequence[Any] | None = None,
) -> tuple[Path, list[dict]]:
    """Demonstrations from the local-site tasks' reference solutions: replay each task's
    ``reference`` actions (in the actor's format, :func:`actor_action`) in the real sites and
    browser, recording every state with the action taken and the environment's reward, into a
    ``train`` collection (the same format as :func:`collect_web`; ``ponder train actor`` clones
    it unchanged). Runs through the eval runner (resumable results file ``runs/reference.jsonl``,
    progress bar, any backend). Returns the folder and the rows of the tasks whose reference did
    NOT solve the task (score < 1 or an environment error): their states are recorded but, with
    no solved state, never cloned."""
    from ponder.evals.runner import Job, run_job
    from ponder.learning.dataset import build_dataset

    out = Path(out)
    chosen = web_tasks(tasks, task_list)
    no_ref = [str(t.task_id) for t in chosen if not t.reference]
    if no_ref:
        raise ConfigError(f"task(s) {', '.join(no_ref[:5])} have no reference solution to replay")
    split = _web_split(chosen, "train", task_list)
    meta = _start_metadata(out, split, gamma)
    results = f"runs/{DEMO_LABEL}.jsonl"
    _add_run(out, meta, {"label": DEMO_LABEL, "strategy": DEMO_LABEL, "config": {}, "model": None, "results": results})
    if env_factory is None:
        from ponder.environments.webenv import WebEnv

        env_factory = WebEnv
    demos = DemoEpisodes(str(out / "raw" / "states.jsonl"), env_factory)
    job = Job(demos.make_state, demos.run_unit, demos.close_state, demos.error_row, name="demos")
    rows = run_job(job, _web_items(chosen), out=out / results, key=lambda it: it.id, runner=runner, workers=workers,
                   description="web reference demos", show_progress=show_progress)
    build_dataset(out)
    wanted = {f"{t.task_id}#{WEB_SEED}" for t in chosen}
    return out, [r for r in rows if r.get("id") in wanted and not r.get("success")]


def raw_records(out: str | Path) -> list[dict]:
    """The raw state records of a collection folder."""
    return read_jsonl(Path(out) / "raw" / "states.jsonl")
