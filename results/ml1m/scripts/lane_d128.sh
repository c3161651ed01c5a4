#!/bin/bash
# Session 5: does width help the masked scheme? BERT + mlm at L=50, hidden 128, with side information,
# the bert-mlm-120ep recipe otherwise (one thread, at most 100 minutes of training).
cd /work/main && . .venv/bin/activate
python benchmarks/movielens.py --pair bert-mlm --name bert-mlm-L50-d128-side -- --epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap --max-minutes 100 "$@" > logs/bert-mlm-L50-d128-side.log 2>&1
