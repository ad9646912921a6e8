#!/bin/bash
# The five QA methods on the HotpotQA questions with SmolLM2 (llama.cpp), in rounds of growing
# size so every method has the same first questions done at any time; resumable (rows already in
# a file are skipped), so rerunning continues where it stopped.
#   results/qa/run.sh            all methods in turn
#   results/qa/run.sh iterative  only the methods named
cd "$(dirname "$0")/../.."
methods=${*:-none single iterative adaptive-note-gain adaptive-note}
for limit in ${LIMITS:-10 20 50 100}; do
  for method in $methods; do
    .venv/bin/ponder eval qa --dataset hotpotqa --method "$method" --model llamacpp:smollm2-135m \
      --limit "$limit" --out "results/qa/$method.jsonl" || exit 1
  done
done
