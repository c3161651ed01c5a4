#!/bin/bash
# Issue 21, session 29, lane F (the lanes done, beside the pre-stop CI run): the third seed of BERT + mlm
# with side information (seed 0 = bert-mlm-L50-d128-side), the command of lane_a_s29.sh.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
mlm="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128"
side="--side-features genre,year,age,gender,occupation,hour,time_gap"
name=bert-mlm-L50-d128-side-seed2
[ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair bert-mlm --name $name -- $mlm $side --max-minutes 150 --seed 2 > logs/$name.log 2>&1
