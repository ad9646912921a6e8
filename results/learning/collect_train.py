"""Collection of the training states (issue 12): oracle best-first on training seeds (>= 1000)
of the first 20 RECOMMENDED_TASKS; seed-major, resumable (rerun to continue).

    python results/learning/collect_train.py [SEEDS]                   round 1: seeds 1000.., base actor
    python results/learning/collect_train.py SEEDS FIRST MODEL LABEL    e.g. round 2 with a cloned actor:
        python results/learning/collect_train.py 2 1008 hf:results/learning/actor-bc-v2 "round 2 bc-v2"
"""
import sys

from ponder.environments.miniwob import RECOMMENDED_TASKS
from ponder.evals.web import agent_config
from ponder.learning.collect import collect_miniwob

args = sys.argv[1:]
count = int(args[0]) if args else 10
first = int(args[1]) if len(args) > 1 else 1000
model = args[2] if len(args) > 2 else "smollm2-135m"
cfg = agent_config(horizon=4, candidates=4, temperature=0.8, max_tokens=20, max_obs_chars=800, judge_samples=3,
                   graded_judge=False, rechecks=1, branching=3, depth=3, value_budget=10, threshold=1.0, trajectories=4,
                   search_rounds=1, value="oracle", seed=0)
label = f"{args[3]}: best-first c=10 b=3 oracle" if len(args) > 3 else None
collect_miniwob("results/learning/data/train", tasks=list(RECOMMENDED_TASKS[:20]), seeds=list(range(first, first + count)),
                role="train", strategy="best-first", config=cfg, model=model, label=label)
