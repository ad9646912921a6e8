#!/bin/bash
# Issue 15: derive the nested lower levels, then print the frontier (first 50 / last 50 / all 100,
# paired bootstrap 95% intervals against single-shot) and plot F1 against tokens per question.
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
$PY results/qa/derive_levels.py || exit 1
$PY -m ponder.cli.main qa frontier results/qa/scaling/*.jsonl --baseline single \
  --png docs/results/qa-f1-vs-tokens.png
