#!/bin/bash
# Issue 15: derive the nested lower levels, then print the frontier (first 50 / last 50 / all 100,
# paired bootstrap 95% intervals against single-shot) and plot F1 against tokens per question.
# QA_SCALING=scaling-prompt1 does the same for the runs with the first answer prompt.
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
DIR=${QA_SCALING:-scaling}
PNG=docs/results/qa-f1-vs-tokens${DIR#scaling}.png
$PY results/qa/derive_levels.py || exit 1
$PY -m ponder.cli.main qa frontier results/qa/$DIR/*.jsonl --baseline single --png "$PNG"
