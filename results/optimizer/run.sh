#!/bin/sh
# The real optimisation run behind docs/RESULTS.md (collaboration section) (resumable: re-run the same command).
cd "$(dirname "$0")/../.." && exec .venv/bin/python -m ponder.cli.main optimize \
  --tasks synthetic:30 --budget 5 --pool smollm2-135m,gemma3-270m \
  --evals 5 --minibatch 6 --test 8 --max-width 3 --max-depth 2 --max-tokens 8 \
  --method agent-reinforce --concurrency 8 --seed 0 --no-compare-singles --out results/optimizer/best.json
