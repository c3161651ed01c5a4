#!/bin/bash
# Session 28 outcome: seed 1 resumed and finished; seed 2 was not started (no room left in the session: the machine was shared with helpers and tests).
# Issue 21, session 28, lane B continued: the machine was shared 3x, so seed 1 of `bert-mlm-L50-d128`
# hit its 50-minute limit at epoch ~55 of 120; resume it exactly from its last complete checkpoint to
# the end of its schedule (--max-minutes is not part of the recipe), then seed 2 with room to finish.
# Runs the code with the resume fixes (validation record kept across a resume, early-stopping state restored).
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
mlm="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128"
echo "=== resumed $(date -u) with --resume_from_checkpoint true --max-minutes 150 (code $(git rev-parse --short HEAD))" >> logs/bert-mlm-L50-d128-seed1.log
python benchmarks/movielens.py --pair bert-mlm --name bert-mlm-L50-d128-seed1 -- $mlm --max-minutes 150 --seed 1 --resume_from_checkpoint true >> logs/bert-mlm-L50-d128-seed1.log 2>&1
name=bert-mlm-L50-d128-seed2
[ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair bert-mlm --name $name -- $mlm --max-minutes 150 --seed 2 > logs/$name.log 2>&1
