#!/bin/bash
# Session 33, two 1-thread lanes side by side. BERT + mlm at L=50, hidden 128 (the three-seed recipe
# bert-mlm-L50-d128) with --attention-dropout 0: the step lever measured 1.47x for BERT (docs/train_step.md),
# its quality not yet measured (issue 24), and a candidate for mlm >= 0.1516 (issue 21).
# Lane a: seeds 0 and 2; lane b: seed 1, then the same lever with side information (seed 0).
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
mlm="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 150"
side="--side-features genre,year,age,gender,occupation,hour,time_gap"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" > logs/$name.log 2>&1; }
if [ "$1" = a ]; then
  run bert-mlm bert-mlm-L50-d128-attn0 $mlm --attention-dropout 0 --seed 0
  run bert-mlm bert-mlm-L50-d128-attn0-seed2 $mlm --attention-dropout 0 --seed 2
else
  run bert-mlm bert-mlm-L50-d128-attn0-seed1 $mlm --attention-dropout 0 --seed 1
  run bert-mlm bert-mlm-L50-d128-side-attn0 $mlm $side --attention-dropout 0 --seed 0
fi
