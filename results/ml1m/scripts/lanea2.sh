#!/bin/bash
# The headline run with side information: GPT-2 + clm at L=200, the gpt2-clm row's command + --side-features.
# Checkpoints every 2 epochs under out/ml1m/gpt2-clm-L200-side; continue with --resume_from_checkpoint last.
cd /work/main && . .venv/bin/activate
python benchmarks/movielens.py --pair gpt2-clm --name gpt2-clm-L200-side -- --epochs 40 --max-length 200 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --side-features genre,year,age,gender,occupation,hour,time_gap "$@" > logs/gpt2-clm-L200-side.log 2>&1
