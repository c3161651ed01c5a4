#!/bin/bash
# Session 32, after the timed run (results/idle/s32.sh), two 1-thread lanes side by side.
# Lane e: issue 21's last RTD lever, replacements drawn from the batch (xlnet-rtd-w1 + --replacements-from-batch),
# then seed 2 of the attention-dropout probe. Lane f: GPT-2 + clm, L=50 (the three-seed recipe gpt2-clm-L50) with
# --attention-dropout 0 (issue 24's cheaper-dropout lever: no (B, heads, L, L) masks), seeds 0 and 1.
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
rtd="--epochs 40 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --max-minutes 90"
clm="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" > logs/$name.log 2>&1; }
if [ "$1" = e ]; then
  run xlnet-rtd xlnet-rtd-w1-batch $rtd --discriminator-loss-weight 1 --replacements-from-batch
  run gpt2-clm gpt2-clm-L50-attn0-seed2 $clm --attention-dropout 0 --seed 2
else
  run gpt2-clm gpt2-clm-L50-attn0 $clm --attention-dropout 0 --seed 0
  run gpt2-clm gpt2-clm-L50-attn0-seed1 $clm --attention-dropout 0 --seed 1
fi
