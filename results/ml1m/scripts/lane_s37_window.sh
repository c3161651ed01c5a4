#!/bin/bash
# Training windows (`--train-window random`, session 36) against the most recent window, three seeds each,
# on two recipes whose baselines have three seeds: GPT-2 + clm L=50 20 epochs (`gpt2-clm-L50*`, 0.1587 ±
# 0.0020) and BERT + mlm L=50 hidden 128 without attention dropout (`bert-mlm-L50-d128-attn0*`, 0.1432 ±
# 0.0009; issue 21's id-only masked target 0.1516). Two 1-thread lanes: a runs the clm seeds then mlm
# seed 2, b the mlm seeds 0 and 1. Checkpoints every validation: `RESUME=1 bash lane_s37_window.sh a`.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
clm="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --train-window random"
mlm="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 150 --attention-dropout 0 --train-window random"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  a) run gpt2-clm gpt2-clm-L50-window $clm --seed 0
     run gpt2-clm gpt2-clm-L50-window-seed1 $clm --seed 1
     run gpt2-clm gpt2-clm-L50-window-seed2 $clm --seed 2
     run bert-mlm bert-mlm-L50-d128-attn0-window-seed2 $mlm --seed 2 ;;
  b) run bert-mlm bert-mlm-L50-d128-attn0-window $mlm --seed 0
     run bert-mlm bert-mlm-L50-d128-attn0-window-seed1 $mlm --seed 1 ;;
esac
