#!/bin/bash
# Session 32: seeds 1 and 2 of XLNet + rtd with replacements drawn from the batch (xlnet-rtd-w1-batch tested
# 0.1300 / validation 0.1358 at seed 0, the best validation of the ablation); started beside lane e's last run.
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
rtd="--epochs 40 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --max-minutes 90"
name=xlnet-rtd-w1-batch-seed$1
[ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair xlnet-rtd --name $name -- $rtd --discriminator-loss-weight 1 --replacements-from-batch --seed $1 > logs/$name.log 2>&1
