#!/bin/bash
# The QA methods on the HotpotQA questions with SmolLM2 (transformers backend, 32 questions
# in flight whose model calls are batched together), in rounds of growing size so every method has
# the same first questions done at any time; resumable (rows already in a file are skipped), so
# rerunning continues where it stopped.
#   results/qa/run.sh            all methods in turn
#   results/qa/run.sh iterative  only the methods named
# Environment: MODEL (default smollm2-135m), WORKERS (32; the committed rows: 16 for the first 20
# questions, 32 after), LIMITS ("10 20 50 100").
cd "$(dirname "$0")/../.."
methods=${*:-none single iterative adaptive-note-gain adaptive-note adaptive-note-graded}
for limit in ${LIMITS:-10 20 50 100}; do
  for method in $methods; do
    .venv/bin/ponder eval qa --dataset hotpotqa --method "$method" --model "${MODEL:-smollm2-135m}" \
      --workers "${WORKERS:-32}" --limit "$limit" --out "results/qa/$method.jsonl" || exit 1
  done
done
