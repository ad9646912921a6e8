"""How often a run's first action on the stratified 40 is the reference solution's first action
(written with element ids on the start page, as the demonstrations are). Usage:
python results/learning/web_first_step.py RESULTS.jsonl [RESULTS.jsonl ...]"""

import json
import sys

from ponder.environments.tasks import get_task
from ponder.environments.webenv import WebEnv
from ponder.learning.collect import actor_action, web_eval_tasks

tasks = web_eval_tasks()
first = {}
with WebEnv() as env:
    for t in tasks:
        task = get_task(t)
        first[t] = actor_action(task.reference[0], env.reset(task).text)
for path in sys.argv[1:]:
    rows = {r["id"]: r for r in map(json.loads, open(path))}
    hits = [t for t in tasks if t in rows and (rows[t].get("actions") or [None])[0] == first[t]]
    print(json.dumps({"results": path, "tasks": sum(t in rows for t in tasks), "first_step_matches_reference": len(hits),
                      "which": hits}))
