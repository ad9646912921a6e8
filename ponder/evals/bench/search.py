"""``ponder bench search``: the tree search's own overhead per expanded node.

Best-first search runs on a real :class:`~ponder.environments.webenv.WebEnv` (the shop site in
Chromium) with a scripted model that proposes real links, so every expansion does real steps,
snapshots and restores. The overhead is the run's wall time minus the model's and the
environment's time (both measured by the usage ledger), divided by the expanded nodes: graph
bookkeeping, prompt building, parsing, checkpoint writes. Measured with LangGraph's synchronous
SQLite checkpointer (as ``ponder eval`` runs) and in memory, as wall time and as this process's
CPU time (the latter barely moves when other processes load the machine). Target: <= 5 ms per
node.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from pathlib import Path


def _link_policy():
    from ponder.models.scripted import ScriptedChatModel

    asked: Counter[str] = Counter()
    link = re.compile(r"\[(\d+)\] link '")

    def reply(messages) -> str:
        if messages[0]["content"].startswith("You check"):
            return "on track"
        prompt = messages[-1]["content"]
        ids = link.findall(prompt.split("Page:", 1)[-1])[:4] or ["1"]
        i = asked[prompt]
        asked[prompt] += 1
        return f"Action: click [{ids[i % len(ids)]}]"

    return ScriptedChatModel(default=reply, name="scripted-links")


class _CpuMeter:
    """Process CPU time spent inside wrapped calls (the environment's and the model's)."""

    def __init__(self):
        self.inside = 0.0

    def wrap(self, obj, names):
        for name in names:
            fn = getattr(obj, name)

            def timed(*a, _fn=fn, **kw):
                start = time.process_time()
                try:
                    return _fn(*a, **kw)
                finally:
                    self.inside += time.process_time() - start

            setattr(obj, name, timed)


def run(*, quick: bool = False, value_budget: str | int | None = None, **_: str) -> dict:
    from ponder.agents.web_actor import ActorConfig
    from ponder.environments.tasks import builtin_tasks
    from ponder.environments.webenv import WebEnv
    from ponder.graphs.web_agent import WebAgentConfig, run_web

    c = int(value_budget or (9 if quick else 24))
    task = next(t for t in builtin_tasks() if (t.sites or [""])[0] == "shop")
    config = WebAgentConfig(actor=ActorConfig(n=4), branching=3, depth=3, value_budget=c, threshold=2.0, search_rounds=1, horizon=6)
    metrics: dict = {}
    with WebEnv() as env, tempfile.TemporaryDirectory() as tmp:
        # warm up: the browser, the imports, the SQLite checkpointer's file and tables (not
        # measured); as in `ponder eval`, where one checkpoint file holds every task's thread
        warm = WebAgentConfig(actor=ActorConfig(n=2), branching=2, depth=1, value_budget=2, threshold=2.0, search_rounds=1, horizon=2)
        run_web(env, task, _link_policy(), strategy="best-first", config=warm, checkpoint=Path(tmp) / "bench.sqlite", thread_id="warm")
        for mode in ("checkpoint", "memory"):
            ckpt = Path(tmp) / "bench.sqlite" if mode == "checkpoint" else None
            model = _link_policy()
            meter = _CpuMeter()
            meter.wrap(model, ["generate_batch"])
            meter.wrap(env, ["reset", "step", "snapshot", "restore", "replay", "evaluate"])
            start, cpu0 = time.perf_counter(), time.process_time()
            result = run_web(env, task, model, strategy="best-first", config=config, checkpoint=ckpt, thread_id=f"bench-{mode}")
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            for name in ["reset", "step", "snapshot", "restore", "replay", "evaluate"]:
                del env.__dict__[name]
            expanded = sum(1 for n in result.trace["nodes"] if n.get("expanded"))
            u = result.usage
            overhead = (wall - u["seconds"] - u["env_seconds"]) / max(1, expanded)
            suffix = "" if mode == "checkpoint" else "_memory"
            metrics[f"overhead_ms_per_node{suffix}"] = round(overhead * 1000, 3)
            # CPU time is far less sensitive than wall time to other processes on a shared machine
            metrics[f"overhead_cpu_ms_per_node{suffix}"] = round((cpu - meter.inside) / max(1, expanded) * 1000, 3)
            if mode == "checkpoint":
                metrics.update(
                    expanded_nodes=expanded,
                    tree_nodes=len(result.trace["nodes"]),
                    value_calls=result.trace["stats"].get("total_value_calls", 0),
                    env_ms_per_node=round(u["env_seconds"] / max(1, expanded) * 1000, 2),
                    model_ms_per_node=round(u["seconds"] / max(1, expanded) * 1000, 3),
                    restores=result.runtime.counts["restore"],
                    replays=result.runtime.counts["replay"],
                    wall_s=round(wall, 3),
                )
    metrics["target_overhead_ms_per_node"] = 5.0
    metrics["overhead_ratio_to_target"] = round(metrics["overhead_ms_per_node"] / 5.0, 3)
    return metrics
