#!/bin/bash
# Issue 21, session 30: seeds 1 and 2 of XLNet + plm (hidden 128, side information), the exact command of
# seed 0 (xlnet-plm-L50-d128-side, --max-minutes 55), one lane per seed, each on a core of its own
# (sched_autogroup off; the session's own test runs shared the machine lightly).
#   bash results/ml1m/scripts/lane_b_s30.sh 1   # and 2
S=$1
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
name=xlnet-plm-L50-d128-side-seed$S
python benchmarks/movielens.py --pair xlnet-plm --name $name -- --epochs 120 \
  --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 \
  --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap \
  --max-minutes 55 --seed $S > logs/$name.log 2>&1
