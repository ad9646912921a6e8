#!/usr/bin/env bash
# The runs behind docs/RESULTS.md (web agents section). Each job is resumable: rerun it to continue (rows
# already in its results file are skipped; a task killed midway resumes from its checkpoint).
# Usage: bash results/web/run.sh JOB [JOB ...]   (jobs run one after another)
# Environment: PONDER_MODEL (default smollm2-135m), EPISODES (seeded episodes per MiniWoB++ task, default 1;
# a rerun with more adds the new seeds to the same files), SITES/PART (see web-recheck-all).
# Jobs: web-greedy web-recheck web-bf5 web-bf10 web-bf5-oracle web-greedy-all web-recheck-all
#       mw-greedy mw-recheck mw-bf5 mw-bf10 mw-bf5-oracle mw-bf5-full (threshold 2: every search round spends all c value calls)
#       mw-bf5-graded (the judge's token probabilities as the value), mw-bf5-graded-gemma (the same, judged by gemma3-270m)
set -u
cd "$(dirname "$0")/../.."
P=".venv/bin/ponder"
M="${PONDER_MODEL:-smollm2-135m}"
R=results/web
T=${TRACES:-results/web/traces}
COMMON="--model $M --horizon 5 --candidates 4 --max-tokens 20 --max-obs-chars 800 --judge-samples 3 --seed 0"
MWC="--episodes ${EPISODES:-1} --model $M --horizon 4 --candidates 4 --max-tokens 20 --max-obs-chars 800 --judge-samples 3 --seed 0"
BF5="--strategy best-first -c 5 --branching 3 --depth 2 --search-rounds 1"
BF10="--strategy best-first -c 10 --branching 3 --depth 3 --search-rounds 1"
SUB="--per-site 10"
MW="$(.venv/bin/python -c 'from ponder.environments.miniwob import RECOMMENDED_TASKS as T; print(",".join(T[:20]))')"
for job in "$@"; do
  echo "== $job $(date -u +%H:%M:%S)"
  case "$job" in
  web-greedy) $P eval web $SUB --strategy greedy $COMMON --out $R/greedy.jsonl --trace-dir $T/greedy ;;
  web-recheck) $P eval web $SUB --strategy recheck --rechecks 1 $COMMON --out $R/recheck.jsonl --trace-dir $T/recheck ;;
  web-bf5) $P eval web $SUB $BF5 $COMMON --out $R/best-first-c5.jsonl --trace-dir $T/best-first-c5 ;;
  web-bf10) $P eval web $SUB $BF10 $COMMON --out $R/best-first-c10.jsonl --trace-dir $T/best-first-c10 ;;
  web-bf5-oracle) $P eval web $SUB $BF5 --value oracle $COMMON --out $R/best-first-c5-oracle.jsonl --trace-dir $T/best-first-c5-oracle ;;
  web-greedy-all) $P eval web --tasks all --strategy greedy $COMMON --out $R/greedy.jsonl --trace-dir $T/greedy ;;
  # SITES="shop forum" PART=-b splits this job over two processes (separate results files; `ponder report` merges them)
  web-recheck-all) for s in ${SITES:-all}; do $P eval web --tasks $s --strategy recheck --rechecks 1 $COMMON --out $R/recheck${PART:-}.jsonl --trace-dir $T/recheck; done ;;
  mw-greedy) $P eval miniwob --tasks "$MW" --strategy greedy $MWC --out $R/miniwob-greedy.jsonl --trace-dir $T/miniwob-greedy ;;
  mw-recheck) $P eval miniwob --tasks "$MW" --strategy recheck --rechecks 1 $MWC --out $R/miniwob-recheck.jsonl --trace-dir $T/miniwob-recheck ;;
  mw-bf5) $P eval miniwob --tasks "$MW" $BF5 $MWC --out $R/miniwob-best-first-c5.jsonl --trace-dir $T/miniwob-best-first-c5 ;;
  mw-bf10) $P eval miniwob --tasks "$MW" $BF10 $MWC --out $R/miniwob-best-first-c10.jsonl --trace-dir $T/miniwob-best-first-c10 ;;
  mw-bf5-full) $P eval miniwob --tasks "$MW" $BF5 --threshold 2 $MWC --out $R/miniwob-best-first-c5-full.jsonl --trace-dir $T/miniwob-best-first-c5-full ;;
  mw-bf5-graded) $P eval miniwob --tasks "$MW" $BF5 --graded-judge $MWC --out $R/miniwob-best-first-c5-graded.jsonl --trace-dir $T/miniwob-best-first-c5-graded ;;
  mw-bf5-graded-gemma) $P eval miniwob --tasks "$MW" $BF5 --graded-judge --judge-model gemma3-270m $MWC --out $R/miniwob-best-first-c5-graded-gemma.jsonl --trace-dir $T/miniwob-best-first-c5-graded-gemma ;;
  mw-bf5-oracle) $P eval miniwob --tasks "$MW" $BF5 --value oracle $MWC --out $R/miniwob-best-first-c5-oracle.jsonl --trace-dir $T/miniwob-best-first-c5-oracle ;;
  *) echo "unknown job $job"; exit 2 ;;
  esac
done
