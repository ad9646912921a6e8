"""The state dataset: JSONL shards with Monte Carlo value targets, and their checked loading.

:func:`build_dataset` turns a collection folder's raw records (``raw/states.jsonl``) and its
runs' traces into ``data/states-NNNNN.jsonl`` shards, one row per distinct visited state
(task, seed, action path), which ``datasets.load_dataset("json", data_files=...)`` loads as is.

Row fields: ``id``, ``task``, ``seed``, ``intent``, ``history`` (the actions from reset),
``observation`` (the page text exactly as the environment returned it; the actor and the judge
cut it to ``max_obs_chars``), ``url``, ``error``, ``done``, ``reward`` (the environment's reward
in this state: 1.0 = solved), ``episode_reward`` (the committed outcome of the episode that
visited it, best over runs), ``candidates`` (the actions the actor proposed here), ``action``
(the action the run committed from here, or ``None``), ``children`` (the actions explored from
here), ``value_target`` (Monte Carlo: the mean over every rollout through an equivalent state of
``gamma ** steps_to_end * final_reward``; states with the same page text in the same episode are
equivalent), ``success_reachable`` (some rollout through it succeeded), ``rollouts``, ``runs``.

:func:`load_states` reads the shards back and refuses, naming the file and the problem, an
empty, truncated or mismatched dataset; it never writes, so nothing collected is lost.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

from ponder.errors import ConfigError
from ponder.files import read_jsonl, write_atomic
from ponder.learning.split import Split, read_metadata

__all__ = ["REQUIRED_FIELDS", "build_dataset", "load_states", "shard_files"]

SHARD_ROWS = 2000
REQUIRED_FIELDS = ("task", "seed", "intent", "history", "observation", "reward", "value_target")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _trace_info(folder: Path, meta: dict) -> tuple[dict, dict]:
    """From every run's results and traces: candidates and committed next action per
    (task, seed, path), and each episode's best committed reward."""
    cands: dict[tuple, dict] = defaultdict(lambda: {"candidates": [], "action": None})
    outcome: dict[tuple, float] = {}
    for run in meta.get("runs", []):
        for row in read_jsonl(folder / run["results"]):
            task, _, seed = str(row.get("id", "")).rpartition("#")
            if not task or row.get("error"):
                continue
            key = (task, int(seed))
            outcome[key] = max(outcome.get(key, 0.0), float(row.get("score") or 0.0))
            actions = list(row.get("actions") or [])
            for i, a in enumerate(actions):  # the committed trajectory: the action taken from each state
                cands[(*key, tuple(actions[:i]))]["action"] = a
            trace = row.get("trace")
            tpath = Path(trace) if trace else None
            if tpath is not None and not tpath.is_absolute() and not tpath.exists():
                tpath = folder / tpath
            if tpath is None or not tpath.exists():
                continue
            try:
                nodes = json.loads(tpath.read_text()).get("nodes", [])
            except (OSError, json.JSONDecodeError):
                continue
            for n in nodes:
                entry = cands[(*key, tuple(n.get("path") or []))]
                seen = {c["action"] for c in entry["candidates"]}
                entry["candidates"] += [c for c in n.get("candidates") or [] if c.get("action") not in seen]
    return cands, outcome


def mc_targets(states: dict[tuple, dict], gamma: float) -> dict[tuple, tuple[float, bool, int]]:
    """Per path of one episode (task, seed): (value target, success reachable, rollouts). A
    rollout is a root-to-leaf path of the recorded tree; its return from a state ``k`` steps
    above the leaf is ``gamma ** k * reward(leaf)``; equivalent states (same page) pool theirs."""
    paths = set(states)
    has_child = {p[:-1] for p in paths if p}
    leaves = [p for p in paths if p not in has_child]
    returns: dict[tuple, list[float]] = defaultdict(list)
    for leaf in leaves:
        r = float(states[leaf]["reward"])
        for k in range(len(leaf) + 1):
            prefix = leaf[:k]
            if prefix in paths:
                returns[prefix].append(gamma ** (len(leaf) - k) * r)
    by_page: dict[str, list[float]] = defaultdict(list)
    for p in paths:
        by_page[_digest(states[p]["observation"])] += returns[p]
    out = {}
    for p in paths:
        pooled = by_page[_digest(states[p]["observation"])]
        # a state that is itself solved is worth its reward whatever was explored past it
        value = max(float(states[p]["reward"]), sum(pooled) / len(pooled)) if pooled else float(states[p]["reward"])
        out[p] = (round(value, 6), any(x > 0 for x in pooled) or states[p]["reward"] > 0, len(pooled))
    return out


def build_dataset(folder: str | Path) -> list[Path]:
    """(Re)write ``folder/data`` shards from the raw records and traces; returns the shard paths."""
    folder = Path(folder)
    meta = read_metadata(folder)
    gamma = float(meta.get("gamma", 0.9))
    raw = read_jsonl(folder / "raw" / "states.jsonl")
    cands, outcome = _trace_info(folder, meta)
    episodes: dict[tuple, dict[tuple, dict]] = defaultdict(dict)
    runs: dict[tuple, set] = defaultdict(set)
    for rec in raw:
        key = (rec["task"], int(rec["seed"]))
        path = tuple(rec["path"])
        episodes[key].setdefault(path, rec)
        runs[(*key, path)].add(rec.get("run", ""))
    rows = []
    for key in sorted(episodes):
        states = episodes[key]
        targets = mc_targets(states, gamma)
        for path in sorted(states, key=lambda p: (len(p), p)):
            rec = states[path]
            info = cands.get((*key, path), {"candidates": [], "action": None})
            value, reachable, n = targets[path]
            rows.append({
                "id": f"{key[0]}#{key[1]}:" + _digest("\x1f".join(path)),
                "task": key[0], "seed": key[1], "intent": rec.get("intent", ""), "history": list(path),
                "observation": rec["observation"], "url": rec.get("url", ""), "error": rec.get("error", ""),
                "done": bool(rec.get("done")), "reward": float(rec.get("reward") or 0.0),
                "episode_reward": outcome.get(key), "candidates": info["candidates"], "action": info["action"],
                "children": sorted({p[-1] for p in states if len(p) == len(path) + 1 and p[:-1] == path}),
                "value_target": value, "success_reachable": bool(reachable), "rollouts": n,
                "runs": sorted(runs[(*key, path)]),
            })
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(0, max(len(rows), 1), SHARD_ROWS):
        chunk = rows[i:i + SHARD_ROWS]
        if not chunk:
            break
        path = data / f"states-{i // SHARD_ROWS:05d}.jsonl"
        write_atomic(path, "".join(json.dumps(r) + "\n" for r in chunk))
        written.append(path)
    for stale in sorted(data.glob("states-*.jsonl")):
        if stale not in written:
            stale.unlink()
    return written


def shard_files(folder: str | Path) -> list[Path]:
    """The shard files of a dataset folder (a collection folder, or its ``data`` folder)."""
    folder = Path(folder)
    data = folder / "data" if (folder / "data").is_dir() else folder
    return sorted(data.glob("*.jsonl"))


def load_states(folder: str | Path) -> tuple[list[dict], dict]:
    """All rows of a collection folder's shards and its metadata, checked: a missing or empty
    dataset, a truncated or corrupt line, a row missing a field, or a row outside the recorded
    split is a :class:`ConfigError` naming the file (and line) and the problem."""
    folder = Path(folder)
    meta = read_metadata(folder)
    split = Split.from_dict(meta["split"])
    files = shard_files(folder)
    if not files:
        raise ConfigError(f"{folder / 'data'}: no shards (an empty dataset)",
                          hint=f"collect states first, or rebuild the shards: ponder collect build {folder}")
    rows: list[dict] = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        if text and not text.endswith("\n"):
            raise ConfigError(f"{f}: truncated (the last line is cut off)",
                              hint=f"rebuild the shards from the raw records: ponder collect build {folder}")
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{f}:{i}: not a JSON row ({e.msg}): truncated or corrupt",
                                  hint=f"rebuild the shards from the raw records: ponder collect build {folder}") from None
            missing = [k for k in REQUIRED_FIELDS if k not in row]
            if missing:
                raise ConfigError(f"{f}:{i}: row lacks field(s) {', '.join(missing)} (not a {meta['format']} shard)")
            if not split.covers(str(row["task"]), int(row["seed"])):
                raise ConfigError(f"{f}:{i}: row for {row['task']} seed {row['seed']} is outside the split in "
                                  f"{folder / 'metadata.json'} (role {split.role}, {len(split.tasks)} tasks, "
                                  f"seeds {min(split.seeds)}-{max(split.seeds)}): mismatched dataset")
            rows.append(row)
    if not rows:
        raise ConfigError(f"{', '.join(str(f) for f in files[:3])}: the shards hold no rows (an empty dataset)",
                          hint="collect states first (ponder collect miniwob)")
    return rows, meta


def trace_states(trace_dir: str | Path, *, source: str = "oracle") -> list[dict]:
    """Held-out rows from the traces of a run whose value function was the oracle: every valued
    node (its value is the environment's reward there) with the page excerpt the trace kept
    (the verifier reads the same number of characters). ``success_reachable``: the node or a
    node below it in the trace was solved. Task and seed come from the trace (``task_id``) and
    its file name (``TASK_SEED.json``, as ``ponder eval miniwob`` writes them)."""
    rows = []
    for path in sorted(Path(trace_dir).glob("*.json")):
        trace = json.loads(path.read_text())
        if (trace.get("config") or {}).get("value") != source:
            raise ConfigError(f"{path}: a trace of value={trace.get('config', {}).get('value')!r}, not {source!r}: "
                              "its node values are not rewards")
        task = str(trace.get("task_id"))
        seed = int(path.stem.rsplit("_", 1)[-1]) if path.stem.rsplit("_", 1)[-1].isdigit() else 0
        nodes = {n["id"]: n for n in trace.get("nodes", [])}
        solved_below: set[str] = set()
        for n in nodes.values():
            if (n.get("value") or 0) > 0:
                cur: str | None = n["id"]
                while cur is not None and cur not in solved_below:
                    solved_below.add(cur)
                    cur = nodes[cur].get("parent")
        for n in nodes.values():
            if n.get("value") is None:
                continue
            rows.append({"id": f"{task}#{seed}:{n['id']}", "task": task, "seed": seed, "intent": trace.get("intent", ""),
                         "history": list(n.get("path") or []), "observation": n.get("excerpt", ""),
                         "reward": float(n["value"]), "success_reachable": n["id"] in solved_below,
                         "value_target": float(n["value"]), "url": n.get("url", "")})
    return rows
