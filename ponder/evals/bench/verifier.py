"""``ponder bench verifier``: the learned value's ROC AUC on held-out states and its scoring cost.

Held-out states are the valued nodes of an oracle best-first run on the 60 held-out MiniWoB++
episodes (seeds 0-2 of the first 20 recommended tasks; their values are the environment's
rewards). ``auc_heldout``: AUC for "this state is solved"; ``auc_reachable``: for "a solved
state lies at or below it in that search tree". ``score_ms_per_state``: batched scoring on the
CPU with one torch thread. With ``judge=1`` (not in ``quick``), the LLM judge (graded, SmolLM2)
scores a few of the same states for its per-state time.
"""

from __future__ import annotations

import time
from pathlib import Path

from ponder.errors import ConfigError

DEFAULT_MODEL = "results/learning/value-minilm"
DEFAULT_TRACES = "results/web/traces/miniwob-best-first-c5-oracle"


def run(*, quick: bool = False, model: str = DEFAULT_MODEL, traces: str = DEFAULT_TRACES, judge: str = "0", **_: object) -> dict:
    from ponder.learning.dataset import trace_states
    from ponder.learning.train_value import heldout_metrics
    from ponder.learning.value_model import LearnedValue, check_heldout

    if not Path(traces).is_dir():
        raise ConfigError(f"bench verifier: no trace folder {traces}", hint="--set traces=DIR (an oracle run's traces)")
    rows = trace_states(traces)
    check_heldout(model, sorted({(r["task"], r["seed"]) for r in rows}))
    if quick:
        rows = rows[:64]
    value = LearnedValue(model, threads=1)
    value.predict([("warm", "up")])
    m = heldout_metrics(value, rows)
    metrics = {"auc_heldout": m["auc_solved"], "auc_reachable": m["auc_reachable"],
               "score_ms_per_state": m["score_ms_per_state"], "states": m["n"], "solved_states": m["positives_solved"],
               "parameters": value.parameters}
    if judge not in ("0", "", "false") and not quick:
        from ponder.agents.value import JudgeInput
        from ponder.agents.value_judge import JudgeConfig, ValueJudge
        from ponder.models.registry import load_model

        vj = ValueJudge(load_model("smollm2-135m"), JudgeConfig(graded=True, max_obs_chars=800, recent=1))
        sample = rows[:8]
        start = time.perf_counter()
        vj.score_many([JudgeInput(r["intent"], [r["observation"]], r["history"]) for r in sample], seed=0)
        metrics["judge_ms_per_state"] = round((time.perf_counter() - start) * 1000 / len(sample), 1)
    return metrics
