"""Collection of the training states (issue 12): oracle best-first on training seeds (>= 1000)
of the first 20 RECOMMENDED_TASKS; seed-major, resumable (rerun to continue)."""
import sys

from ponder.environments.miniwob import RECOMMENDED_TASKS
from ponder.evals.web import agent_config
from ponder.learning.collect import collect_miniwob

seeds = list(range(1000, 1000 + int(sys.argv[1] if len(sys.argv) > 1 else 10)))
cfg = agent_config(horizon=4, candidates=4, temperature=0.8, max_tokens=20, max_obs_chars=800, judge_samples=3,
                   graded_judge=False, rechecks=1, branching=3, depth=3, value_budget=10, threshold=1.0, trajectories=4,
                   search_rounds=1, value="oracle", seed=0)
collect_miniwob("results/learning/data/train", tasks=list(RECOMMENDED_TASKS[:20]), seeds=seeds, role="train",
                strategy="best-first", config=cfg, model="smollm2-135m")
