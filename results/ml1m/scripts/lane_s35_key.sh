#!/bin/bash
# Session 35, one 1-thread lane beside two plm lanes: GPT-2 + clm at L=50 (the command of gpt2-clm-L50 and
# gpt2-clm-L50-attn0) with attention dropout per key (--attention-dropout-unit key), seeds 0, 1, 2
# one after another: does the cheaper attention dropout keep what attention dropout buys (issue 24)?
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate && mkdir -p logs
key="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --attention-dropout-unit key"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" >> logs/$name.log 2>&1; }
run gpt2-clm gpt2-clm-L50-keydrop $key --seed 0
run gpt2-clm gpt2-clm-L50-keydrop-seed1 $key --seed 1
run gpt2-clm gpt2-clm-L50-keydrop-seed2 $key --seed 2
