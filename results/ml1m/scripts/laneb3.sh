#!/bin/bash
# Seed spread of the side-information comparison: XLNet + clm at L=50, 20 epochs, seed 1, 1 thread.
cd /work/main && . .venv/bin/activate
COMMON="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --seed 1"
SIDE="genre,year,age,gender,occupation,hour,time_gap"
python benchmarks/movielens.py --pair xlnet-clm --name xlnet-clm-L50-side-seed1 -- $COMMON --side-features $SIDE > logs/xlnet-clm-L50-side-seed1.log 2>&1
python benchmarks/movielens.py --pair xlnet-clm --name xlnet-clm-L50-seed1 -- $COMMON > logs/xlnet-clm-L50-seed1.log 2>&1
