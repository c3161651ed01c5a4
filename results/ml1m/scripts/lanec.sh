#!/bin/bash
# Side information with/without, like for like: XLNet + clm at L=50, 20 epochs, 1 thread each.
cd /work/main && . .venv/bin/activate
COMMON="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
SIDE="genre,year,age,gender,occupation,hour,time_gap"
python benchmarks/movielens.py --pair xlnet-clm --name xlnet-clm-L50-side -- $COMMON --side-features $SIDE > logs/xlnet-clm-L50-side.log 2>&1
python benchmarks/movielens.py --pair xlnet-clm --name xlnet-clm-L50 -- $COMMON > logs/xlnet-clm-L50.log 2>&1
