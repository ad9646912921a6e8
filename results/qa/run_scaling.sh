#!/bin/bash
# Issue 15: the test-time scaling methods at their compute levels on the HotpotQA questions with
# SmolLM2 (transformers backend, one torch thread, WORKERS questions in flight whose model calls
# are batched together). Resumable: rows already in a file are skipped.
#   results/qa/run_scaling.sh "vote:samples=4 vote:samples=8" 50     runs on the first 50 questions
# Each run is METHOD[:KEY=VALUE[,KEY=VALUE]]; its file is results/qa/scaling/METHOD[-KEY-VALUE...].jsonl.
cd "$(dirname "$0")/../.."
export PONDER_THREADS=${PONDER_THREADS:-1}
runs=${1:?runs}
limit=${2:-100}
mkdir -p results/qa/scaling
for run in $runs; do
  method=${run%%:*}
  sets=()
  name=$method
  if [[ $run == *:* ]]; then
    IFS=, read -ra kv <<< "${run#*:}"
    for pair in "${kv[@]}"; do
      if [[ $pair == budget=* ]]; then sets+=(--budget "${pair#budget=}"); else sets+=(--set "$pair"); fi
      name="$name-${pair//=/-}"
    done
  fi
  ${PYTHON:-.venv/bin/python} -m ponder.cli.main eval qa --dataset hotpotqa --method "$method" \
    --model "${MODEL:-smollm2-135m}" --workers "${WORKERS:-32}" --limit "$limit" \
    --out "results/qa/scaling/$name.jsonl" "${sets[@]}" || exit 1
done
