"""The split a collection covers and a trained model carries: which (task, seed) episodes are
training data. A base module (no evals, no graphs): the value model and the eval runner check
held-out episodes with it, and collection writes it into ``metadata.json``.

Two environments: ``miniwob`` (an episode is a task and a seed; training seeds are >=
:data:`TRAIN_MIN_SEED`) and ``web``, the local sites (a task has one episode: the sites' seeded
database, data seed 0; a training split names its tasks, and a model trained on a task is refused
on that task whatever the run's seed, see :meth:`Split.covers`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ponder.errors import ConfigError

__all__ = ["FORMAT", "TRAIN_MIN_SEED", "Split", "check_episodes", "parse_seeds", "read_metadata"]

#: Training data comes from MiniWoB++ seeds at or above this; seeds below it are held out.
TRAIN_MIN_SEED = 1000
FORMAT = "ponder-states/1"


@dataclass(frozen=True)
class Split:
    """Which episodes a collection covers: ``role`` is ``train`` (for MiniWoB++, seeds >=
    TRAIN_MIN_SEED only) or ``heldout``; ``tasks`` x ``seeds`` are the episodes (``env`` ``web``:
    the local sites' task ids, with the data seed 0)."""

    env: str
    role: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]

    def __post_init__(self):
        if self.role not in ("train", "heldout"):
            raise ConfigError(f"split role must be 'train' or 'heldout', got {self.role!r}")
        if not self.tasks or not self.seeds:
            raise ConfigError("a split needs at least one task and one seed")
        if self.role == "train" and self.env == "miniwob" and min(self.seeds) < TRAIN_MIN_SEED:
            raise ConfigError(f"training seeds must be >= {TRAIN_MIN_SEED} (seeds below are held out for evaluation); "
                              f"got {min(self.seeds)}", hint=f"use --seeds {TRAIN_MIN_SEED}-{TRAIN_MIN_SEED + 9}")

    def to_dict(self) -> dict:
        return {"env": self.env, "role": self.role, "tasks": list(self.tasks), "seeds": list(self.seeds)}

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        return cls(str(d["env"]), str(d["role"]), tuple(str(t) for t in d["tasks"]), tuple(int(s) for s in d["seeds"]))

    def includes(self, other: Split) -> bool:
        """Whether every episode of ``other`` is in this split (same env and role): a collection
        folder's split is the universe of its runs, and a later run may cover part of it."""
        return (self.env, self.role) == (other.env, other.role) and set(other.tasks) <= set(self.tasks) \
            and set(other.seeds) <= set(self.seeds)

    def covers(self, task: str, seed: int) -> bool:
        """Whether the episode (task, seed) is in this split. On the local sites (``env`` ``web``)
        the seed is not part of the episode (every run of a task starts from the same seeded
        database; the eval's ``--seed`` only seeds sampling), so a covered task is covered at any seed."""
        if self.env == "web":
            return task in self.tasks
        return task in self.tasks and int(seed) in self.seeds


def parse_seeds(text: str) -> list[int]:
    """``"1000-1009"``, ``"0,1,2"`` or a mix, as a sorted list of seeds."""
    seeds: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else part[1:].split("-", 1)
                seeds.update(range(int(lo), int(hi) + 1))
            else:
                seeds.add(int(part))
        except ValueError:
            raise ConfigError(f"--seeds: {part!r} is not a seed or a range like 1000-1009") from None
    if not seeds:
        raise ConfigError("--seeds: no seeds given", hint="e.g. 1000-1009 or 0,1,2")
    return sorted(seeds)


def read_metadata(folder: str | Path) -> dict:
    """A collection folder's ``metadata.json`` (a :class:`ConfigError` naming it when missing or broken)."""
    path = Path(folder) / "metadata.json"
    if not path.exists():
        raise ConfigError(f"{path}: no metadata.json (not a collection folder)",
                          hint="make one with `ponder collect miniwob --out DIR`")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "split" not in meta:
        raise ConfigError(f"{path}: not a {FORMAT} metadata file (format={meta.get('format') if isinstance(meta, dict) else None!r})")
    return meta


def check_episodes(splits: Sequence[Split], episodes: Sequence[tuple[str, int]], what: str) -> None:
    """Refuse (:class:`ConfigError`, naming ``what`` and the episodes) to evaluate on an
    episode (task, seed) that any of ``splits`` covers."""
    seen = [f"{t}#{s}" for t, s in episodes if any(sp.covers(t, s) for sp in splits)]
    if seen:
        raise ConfigError(f"{what} was trained on {len(seen)} of the episodes to evaluate "
                          f"({', '.join(seen[:5])}{' ...' if len(seen) > 5 else ''})",
                          hint="evaluate on held-out seeds (0-999) or tasks it never saw (local sites: "
                               "the stratified 40, `--per-site 10`)")


def check_actor_heldout(model: object, episodes: Sequence[tuple[str, int]]) -> None:
    """Refuse to evaluate a cloned actor (``hf:DIR`` with ``DIR/actor.json``) on its training episodes."""
    if not isinstance(model, str) or not model.startswith("hf:"):
        return
    card = Path(model[3:]) / "actor.json"
    if card.exists():
        splits = [Split.from_dict(s) for s in json.loads(card.read_text()).get("splits", [])]
        check_episodes(splits, episodes, f"actor {model}")
