#!/bin/bash
# Session 35: after lane_s35_key.sh (GPT-2 + clm with attention dropout per key), one 1-thread run of the
# masked recipe (bert-mlm-L50-d128 / -attn0: L=50, hidden 128, 120 epochs, item ids only) with attention
# dropout per key, seed 0, beside the plm lane: one seed, a first look at whether key dropout keeps what
# dropping attention dropout gained BERT + mlm (0.1432 +- 0.0009 against 0.1406 +- 0.0019 per weight).
# Stopped at epoch 25 of 120 so that the plm lane could finish in the session (log:
# results/ml1m/logs/bert-mlm-L50-d128-keydrop-partial-s35.log; validation 0.1110 at epoch 25, against
# 0.1113 per weight and 0.1139 without attention dropout at seed 0: no difference yet). Next session.
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate && mkdir -p logs
while [ ! -f out/ml1m/gpt2-clm-L50-keydrop-seed2/metrics.json ]; do sleep 20; done
name=bert-mlm-L50-d128-keydrop
python benchmarks/movielens.py --pair bert-mlm --name $name -- --epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 150 --attention-dropout-unit key --seed 0 >> logs/$name.log 2>&1
