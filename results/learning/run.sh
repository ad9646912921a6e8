#!/usr/bin/env bash
# The runs behind docs/RESULTS.md (issue 12: learning from the environments' rewards). Each job is
# resumable: rerun it to continue. Usage: bash results/learning/run.sh JOB [JOB ...]
# Jobs: collect (training states: oracle best-first on seeds 1000+ of the first 20 tasks; SEEDS=10),
#       collect-round2 (the same search with the actor cloned in round 1, ATAG=v2, on seeds 1008-1009),
#       train-value, bench, mw-bf5-learned, mw-bf10-learned, mw-bf20-learned, mw-bf10-oracle,
#       mw-bon4-learned, mw-bon8-learned, mw-bon16-learned, u13-greedy-bc,
#       mw-bf20-oracle, mw-bf10-judge (seeds 0 of results/web/miniwob-best-first-c10.jsonl copied in first), mw-bf20-judge,
#       train-actor, mw-greedy-bc, mw-bf5-bc-learned,
#       u13-greedy, u13-bf5-learned, u13-bf5-oracle (the 13 never-trained tasks, seeds 0-2)
#       web-demos (the local sites' reference solutions replayed on the 81 training tasks: every local
#       task outside the stratified 40), train-actor-web (LoRA BC on them; WEB_STEPS=40 steps of 4 = 160
#       example passes, about half an epoch of the 296 examples, caps it at ~25 min on 2 busy CPU cores
#       (~37 s/step); WEB_STEPS=148 is the full 2 epochs), web-greedy-bc (greedy with the
#       cloned actor on the stratified 40, the settings of results/web/greedy.jsonl), web-bf5-bc-learned (best-first c=5
#       with the cloned actor and the MiniWoB++-trained verifier VTAG, on the same 40)
set -u
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
[ -x "$PY" ] || PY=.venv/bin/python
P="$PY -m ponder.cli.main"
M="${PONDER_MODEL:-smollm2-135m}"
L=results/learning
T=$L/traces
# VTAG=v2 names a second verifier (value-minilm-v2) and suffixes the files of its runs; ATAG likewise the actor
S=${VTAG:+-$VTAG}
V=$L/value-minilm$S
A=$L/actor-bc${ATAG:+-$ATAG}
SA=${ATAG:+-$ATAG}
MWC="--episodes 3 --horizon 4 --candidates 4 --max-tokens 20 --max-obs-chars 800 --judge-samples 3 --seed 0"
BF5="--strategy best-first -c 5 --branching 3 --depth 2 --search-rounds 1"
BF10="--strategy best-first -c 10 --branching 3 --depth 3 --search-rounds 1"
BF20="--strategy best-first -c 20 --branching 3 --depth 4 --search-rounds 1"
MW="$($PY -c 'from ponder.environments.miniwob import RECOMMENDED_TASKS as T; print(",".join(T[:20]))')"
WEBC="--per-site 10 --horizon 5 --candidates 4 --max-tokens 20 --max-obs-chars 800 --judge-samples 3 --seed 0"
U13="$($PY -c 'from ponder.environments.miniwob import RECOMMENDED_TASKS as T; print(",".join(T[20:]))')"
for job in "$@"; do
  echo "== $job $(date -u +%H:%M:%S)"
  case "$job" in
  collect) $PY $L/collect_train.py ${SEEDS:-10} ;;
  collect-round2) $PY $L/collect_train.py 2 1008 hf:$L/actor-bc-v2 "round 2 bc-v2" ;;  # expert iteration: the cloned actor collects
  train-value) $P train value --data $L/data/train --out $V --epochs ${EPOCHS:-3} --batch-size 16 --save-steps 25 \
                 --heldout-traces results/web/traces/miniwob-best-first-c5-oracle ;;
  bench) $P bench verifier --json --set model=$V --set judge=1 --out $L/bench-verifier$S.json ;;
  mw-bf5-learned) $P eval miniwob --tasks "$MW" $BF5 --value learned:$V --model $M $MWC --out $L/miniwob-best-first-c5-learned$S.jsonl --trace-dir $T/bf5-learned$S ;;
  mw-bf20-learned) $P eval miniwob --tasks "$MW" $BF20 --value learned:$V --model $M $MWC --out $L/miniwob-best-first-c20-learned$S.jsonl --trace-dir $T/bf20-learned$S ;;
  mw-bf20-oracle) $P eval miniwob --tasks "$MW" $BF20 --value oracle --model $M $MWC --out $L/miniwob-best-first-c20-oracle.jsonl --trace-dir $T/bf20-oracle ;;
  mw-bf10-judge) [ -e $L/miniwob-best-first-c10-judge.jsonl ] || cp results/web/miniwob-best-first-c10.jsonl $L/miniwob-best-first-c10-judge.jsonl
                 $P eval miniwob --tasks "$MW" $BF10 --model $M $MWC --out $L/miniwob-best-first-c10-judge.jsonl --trace-dir $T/bf10-judge ;;
  mw-bf20-judge) $P eval miniwob --tasks "$MW" $BF20 --model $M $MWC --out $L/miniwob-best-first-c20-judge.jsonl --trace-dir $T/bf20-judge ;;
  mw-bf10-oracle) $P eval miniwob --tasks "$MW" $BF10 --value oracle --model $M $MWC --out $L/miniwob-best-first-c10-oracle.jsonl --trace-dir $T/bf10-oracle ;;
  u13-greedy-bc) $P eval miniwob --tasks "$U13" --strategy greedy --label "greedy bc-actor" --model hf:$A $MWC --out $L/unseen13-greedy-bc$SA.jsonl --trace-dir $T/u13-greedy-bc$SA ;;
  mw-bf10-learned) $P eval miniwob --tasks "$MW" $BF10 --value learned:$V --model $M $MWC --out $L/miniwob-best-first-c10-learned$S.jsonl --trace-dir $T/bf10-learned$S ;;
  mw-bon4-learned) $P eval miniwob --tasks "$MW" --strategy best-of-n --trajectories 4 --value learned:$V --model $M $MWC --out $L/miniwob-best-of-n4-learned$S.jsonl --trace-dir $T/bon4-learned$S ;;
  mw-bon8-learned) $P eval miniwob --tasks "$MW" --strategy best-of-n --trajectories 8 --value learned:$V --model $M $MWC --out $L/miniwob-best-of-n8-learned$S.jsonl --trace-dir $T/bon8-learned$S ;;
  mw-bon16-learned) $P eval miniwob --tasks "$MW" --strategy best-of-n --trajectories 16 --value learned:$V --model $M $MWC --out $L/miniwob-best-of-n16-learned$S.jsonl --trace-dir $T/bon16-learned$S ;;
  train-actor) $P train actor --data $L/data/train --out $A --epochs ${ACTOR_EPOCHS:-2} --batch-size 4 --save-steps 25 ;;
  mw-greedy-bc) $P eval miniwob --tasks "$MW" --strategy greedy --label "greedy bc-actor" --model hf:$A $MWC --out $L/miniwob-greedy-bc$SA.jsonl --trace-dir $T/greedy-bc$SA ;;
  mw-bf5-bc-learned) $P eval miniwob --tasks "$MW" $BF5 --value learned:$V --model hf:$A $MWC --out $L/miniwob-best-first-c5-bc$SA-learned$S.jsonl --trace-dir $T/bf5-bc$SA-learned$S ;;
  u13-greedy) $P eval miniwob --tasks "$U13" --strategy greedy --model $M $MWC --out $L/unseen13-greedy.jsonl --trace-dir $T/u13-greedy ;;
  u13-bf5-learned) $P eval miniwob --tasks "$U13" $BF5 --value learned:$V --model $M $MWC --out $L/unseen13-best-first-c5-learned$S.jsonl --trace-dir $T/u13-bf5-learned$S ;;
  u13-bf5-oracle) $P eval miniwob --tasks "$U13" $BF5 --value oracle --model $M $MWC --out $L/unseen13-best-first-c5-oracle.jsonl --trace-dir $T/u13-bf5-oracle ;;
  web-demos) $P collect demos --out $L/data/web-demos --tasks train ;;
  train-actor-web) $P train actor --data $L/data/web-demos --out $L/actor-bc-web --epochs 2 --max-steps ${WEB_STEPS:-40} \
                     --batch-size 4 --save-steps 10 --threads 1 ;;
  web-bf5-bc-learned) $P eval web $WEBC $BF5 --value learned:$V --label "best-first c=5 bc-web-actor learned$S" --model hf:$L/actor-bc-web \
                   --out $L/web-best-first-c5-bc-learned$S.jsonl --trace-dir $T/web-bf5-bc-learned$S ;;
  web-greedy-bc) $P eval web $WEBC --strategy greedy --label "greedy bc-web-actor" --model hf:$L/actor-bc-web \
                   --out $L/web-greedy-bc.jsonl --trace-dir $T/web-greedy-bc ;;
  *) echo "unknown job $job"; exit 2 ;;
  esac
done
