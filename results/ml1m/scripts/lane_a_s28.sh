#!/bin/bash
# Session 28 outcome: the four clm runs ran (xlnet-clm-L50-side-seed2 via lane_a2_s28.sh); the lane was stopped before the BERT + mlm side run.
# Issue 21, session 28, lane A: third seeds of the L=50 clm recipes, then BERT + mlm with side information.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
clm="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
side="--side-features genre,year,age,gender,occupation,hour,time_gap"
mlm="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] && return; python benchmarks/movielens.py --pair $pair --name $name -- "$@" > logs/$name.log 2>&1; }
run gpt2-clm gpt2-clm-L50-seed2 $clm --seed 2
run gpt2-clm gpt2-clm-L50-side-seed2 $clm --seed 2 $side
run xlnet-clm xlnet-clm-L50-seed2 $clm --seed 2
run xlnet-clm xlnet-clm-L50-side-seed2 $clm --seed 2 $side
run bert-mlm bert-mlm-L50-d128-side-seed1 $mlm --side-features genre,year,age,gender,occupation,hour,time_gap --max-minutes 100 --seed 1
