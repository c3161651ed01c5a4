#!/bin/bash
# Issue 21, session 30: seeds 1 and 2 of XLNet + plm (hidden 128, side information), the exact command of
# seed 0 (xlnet-plm-L50-d128-side, --max-minutes 55), one lane per seed, each on a core of its own
# (sched_autogroup off; the session's own test runs shared the machine lightly).
# Outcome: stopped by hand after 25 epochs each (21 minutes): two single-thread lanes side by side ran an
# epoch in ~47 s where seed 0 had needed ~31 s (validation passes 16-18 s against 10 s), so under the
# 55-minute limit they would have trained ~70 of seed 0's 106 epochs: not the same budget. The two cores
# behave like one core and a half for two lanes; a time-limited recipe needs the machine alone (or an
# epoch budget). Partial logs: results/ml1m/logs/xlnet-plm-L50-d128-side-seed{1,2}-partial-s30.log.
#   bash results/ml1m/scripts/lane_b_s30.sh 1   # and 2
S=$1
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
name=xlnet-plm-L50-d128-side-seed$S
python benchmarks/movielens.py --pair xlnet-plm --name $name -- --epochs 120 \
  --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 \
  --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap \
  --max-minutes 55 --seed $S > logs/$name.log 2>&1
