#!/bin/bash
# Session 28 outcome: the 50-minute limit stopped seed 1 at epoch ~55 (machine shared 3x); lane_b2_s28.sh resumed it.
# Issue 21, session 28, lane B: seeds 1 and 2 of BERT + mlm with item ids only (`bert-mlm-L50-d128`),
# then seed 1 of XLNet + plm with side information.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
mlm="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128"
plm="--epochs 120 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap --max-minutes 55"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] && return; python benchmarks/movielens.py --pair $pair --name $name -- "$@" > logs/$name.log 2>&1; }
run bert-mlm bert-mlm-L50-d128-seed1 $mlm --max-minutes 50 --seed 1
run bert-mlm bert-mlm-L50-d128-seed2 $mlm --max-minutes 50 --seed 2
run xlnet-plm xlnet-plm-L50-d128-side-seed1 $plm --seed 1
