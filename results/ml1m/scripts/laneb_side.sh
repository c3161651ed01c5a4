#!/bin/bash
# Side information, like for like with gpt2-clm-L50: GPT-2 + clm at L=50, 20 epochs, 1 thread.
cd /work/main && . .venv/bin/activate
COMMON="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
SIDE="genre,year,age,gender,occupation,hour,time_gap"
python benchmarks/movielens.py --pair gpt2-clm --name gpt2-clm-L50-side -- $COMMON --side-features $SIDE > logs/gpt2-clm-L50-side.log 2>&1
