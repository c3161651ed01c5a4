#!/bin/bash
# Outcome: bert-mlm-L50-d128-seed2 and bert-mlm-L50-d128-side-seed1 ran; the lane was stopped before
# bert-mlm-L50-d128-side-seed2, whose core went to the fusion seeds (lane_d_s29.sh).
# Issue 21, session 29, lane A: the third seed of BERT + mlm (hidden 128, item ids only), then seeds 1 and 2
# of the same recipe with side information (seed 0 = bert-mlm-L50-d128-side). Commands identical to the
# committed seeds apart from --seed and the wall-clock limit (not part of the recipe).
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
mlm="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128"
side="--side-features genre,year,age,gender,occupation,hour,time_gap"
name=bert-mlm-L50-d128-seed2
[ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair bert-mlm --name $name -- $mlm --max-minutes 150 --seed 2 > logs/$name.log 2>&1
for seed in 1 2; do
  name=bert-mlm-L50-d128-side-seed$seed
  [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair bert-mlm --name $name -- $mlm $side --max-minutes 150 --seed $seed > logs/$name.log 2>&1
done
