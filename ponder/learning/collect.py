"""Rollout collection: run episodes through the eval runner and record every visited state.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.files import JsonlWriter, read_jsonl, write_json_atomic
from ponder.learning.split import FORMAT, TRAIN_MIN_SEED, Split, parse_seeds, read_metadata

__all__ = ["FORMAT", "TRAIN_MIN_SEED", "RecordingEnv", "Split", "collect_miniwob", "parse_seeds", "read_metadata"]

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
        task = str(getattr(self._env, "task", "") or "")
        seed = int(getattr(self._env, "seed", 0) or 0)
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
        if Split.from_dict(meta["split"]) != split:
            raise ConfigError(f"{path}: this folder holds a different split ({meta['split']}) than the one asked for "
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
    from ponder.evals.web import EvalItem, run_eval, strategy_label
    from ponder.graphs.web_agent import WebAgentConfig
    from ponder.learning.dataset import build_dataset

    out = Path(out)
    split = Split("miniwob", role, tuple(tasks), tuple(int(s) for s in seeds))
    if env_factory is None:
        from ponder.environments import miniwob

        known = set(miniwob.miniwob_tasks())
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise ConfigError(f"unknown MiniWoB++ task(s) {', '.join(unknown[:5])}")
    meta = _start_metadata(out, split, gamma)
    config = config or WebAgentConfig()
    label = label or strategy_label(strategy, config)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
    run_info = {"label": label, "strategy": strategy, "config": config.to_dict(),
                "model": model if isinstance(model, str) or model is None else getattr(model, "name", str(model)),
                "results": f"runs/{safe}.jsonl"}
    if not any(r.get("label") == label for r in meta["runs"]):
        meta["runs"].append(run_info)
        write_json_atomic(out / "metadata.json", meta)
    make_env = RecordingFactory(str(out / "raw" / "states.jsonl"), label, env_factory)

    items = [EvalItem(f"{t}#{s}", t, "miniwob", "", s) for s in seeds for t in tasks]
    run_eval(items, kind="miniwob", env_factory=make_env, reset=lambda env, it: env.reset(it.task, seed=it.seed),
             strategy=strategy, model=model, config=config, workers=workers, out=out / run_info["results"], label=label,
             success_threshold=1e-9, show_progress=show_progress, trace_dir=out / "runs" / f"{safe}-traces",
             runner=runner)
    build_dataset(out)
    return out


def raw_records(out: str | Path) -> list[dict]:
    """The raw state records of a collection folder."""
    return read_jsonl(Path(out) / "raw" / "states.jsonl")
