"""Held-out AUC of the LLM judge (sampled k=3, and graded) beside the learned value, on the same
states: the valued nodes of the oracle best-first run on the 60 held-out episodes. Resumable
(one JSONL row per state and judge). Usage: python results/learning/judge_auc.py [LIMIT]"""
import json
import random
import sys
from pathlib import Path

from ponder.agents.value import JudgeInput
from ponder.agents.value_judge import JudgeConfig, ValueJudge
from ponder.files import JsonlWriter, read_jsonl, write_json_atomic
from ponder.learning.dataset import trace_states
from ponder.learning.train_value import auc
from ponder.learning.value_model import LearnedValue, verifier_inputs
from ponder.models.registry import load_model

L = Path("results/learning")
rows = trace_states("results/web/traces/miniwob-best-first-c5-oracle")
limit = int(sys.argv[1]) if len(sys.argv) > 1 else len(rows)
pos = [r for r in rows if r["reward"] > 0]
neg = [r for r in rows if r["reward"] <= 0]
random.Random(0).shuffle(neg)
chosen = (pos + neg[: max(0, limit - len(pos))]) if limit < len(rows) else rows
out = L / "heldout-judge.jsonl"
done = {(r["id"], r["judge"]) for r in read_jsonl(out)}
w = JsonlWriter(out)
model = load_model("smollm2-135m")
judges = {"sampled": ValueJudge(model, JudgeConfig(k=3, max_obs_chars=800, recent=1)),
          "graded": ValueJudge(model, JudgeConfig(graded=True, max_obs_chars=800, recent=1))}
for r in chosen:
    for name, j in judges.items():
        if (r["id"], name) in done:
            continue
        (v,) = j.score_many([JudgeInput(r["intent"], [r["observation"]], r["history"])], seed=0)
        w.write({"id": r["id"], "judge": name, "value": v.value})
got = {(x["id"], x["judge"]): x["value"] for x in read_jsonl(out)}
learned = LearnedValue(L / "value-minilm")
lv = dict(zip([r["id"] for r in chosen], learned.predict([verifier_inputs(r["intent"], r["history"], r["observation"]) for r in chosen])))
summary = {"states": len(chosen), "solved": sum(r["reward"] > 0 for r in chosen)}
for label in ("solved", "reachable"):
    y = [int(r["reward"] > 0) if label == "solved" else int(r["success_reachable"]) for r in chosen]
    summary[f"auc_{label}"] = {"learned": auc(y, [lv[r["id"]] for r in chosen]),
                               **{n: auc(y, [got[(r["id"], n)] for r in chosen]) for n in judges}}
write_json_atomic(L / "heldout-auc.json", summary, indent=1)
print(json.dumps(summary, indent=1))
