#!/bin/bash
# Session 5: width without side information (separates the two levers of bert-mlm-L50-d128-side), and
# XLNet + plm with both. One thread each, a time limit so both end inside the session.
cd /work/main && . .venv/bin/activate
python benchmarks/movielens.py --pair bert-mlm --name bert-mlm-L50-d128 -- --epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 50 > logs/bert-mlm-L50-d128.log 2>&1
# Started beside the run above:
# python benchmarks/movielens.py --pair xlnet-plm --name xlnet-plm-L50-d128-side -- --epochs 120 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap --max-minutes 55 > logs/xlnet-plm-L50-d128-side.log 2>&1
