#!/bin/bash
# Issue 21, session 29, lane B. Planned: seeds 1 and 2 of XLNet + plm (hidden 128, side information),
# --max-minutes 65. Outcome: the machine was shared with a 10M-row input benchmark and test suites, so
# seed 1 reached epoch ~14 of 120 in 28 minutes (seed 0 needed 55 minutes for 106 epochs); stopped by
# hand at 14:23 (its partial log is results/ml1m/logs/xlnet-plm-L50-d128-side-seed1-partial-s29.log) and
# replaced by the two missing detection weights of the RTD ablation (lane_rtd.sh's recipe, weights 10, 2).
# The plm command for a later session (seed 0 = xlnet-plm-L50-d128-side; ~55 min each on a core of its own):
#   python benchmarks/movielens.py --pair xlnet-plm --name xlnet-plm-L50-d128-side-seed$S -- --epochs 120 \
#     --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 \
#     --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap \
#     --max-minutes 120 --seed $S
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
base="--epochs 40 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --max-minutes 90"
for w in 10 2; do
  name=xlnet-rtd-w$w
  [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair xlnet-rtd --name $name -- $base --discriminator-loss-weight $w > logs/$name.log 2>&1
done
