#!/bin/bash
# Outcome: the four seed runs ran, lanes c and d side by side; both lanes were stopped before
# xlnet-rtd-w1-batch, which ran later in lane_e_s32.sh (the timed run of results/idle/s32.sh needed the machine alone).
# Issue 21, session 32, lane C: seed 1 of XLNet + mlm and XLNet + rtd (weight 1) at the rtd recipe (L=50,
# hidden 64), then rtd with replacements drawn from the batch. Commands identical to the committed seed-0 runs
# (xlnet-mlm-L50, xlnet-rtd-w1) apart from --seed / --replacements-from-batch.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
base="--epochs 40 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --max-minutes 90"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- $base "$@" > logs/$name.log 2>&1; }
lane=${1:-c}
if [ "$lane" = c ]; then
  run xlnet-mlm xlnet-mlm-L50-seed1 --seed 1
  run xlnet-rtd xlnet-rtd-w1-seed1 --discriminator-loss-weight 1 --seed 1
  run xlnet-rtd xlnet-rtd-w1-batch --discriminator-loss-weight 1 --replacements-from-batch
else
  run xlnet-mlm xlnet-mlm-L50-seed2 --seed 2
  run xlnet-rtd xlnet-rtd-w1-seed2 --discriminator-loss-weight 1 --seed 2
fi
