#!/bin/bash
# Session 38, issue 21 (every number in docs/results.md has its metrics.json and log): the ML-100K loss
# comparison quoted in docs/results.md ("gBCE / BCE with sampled negatives did not learn at these
# budgets"), rerun with the command the page gives, seed 0, 1 thread: full CE, sampled softmax (logQ
# correction), gBCE (t = 0.75), BCE, 256 shared uniform negatives for the sampled losses. metrics.json
# of each in docs/ml100k_runs/NAME.json, the console in results/ml100k/logs/NAME.log.
cd /work/main && . .venv/bin/activate
mkdir -p docs/ml100k_runs results/ml100k/logs
for loss in full sampled_softmax gbce bce; do
  negatives=""; [ $loss = full ] || negatives="--num-negatives 256"
  name=gpt2-clm-L50-$loss
  python examples/train.py --model gpt2 --scheme clm --epochs 20 --max-length 50 --learning-rate 2e-3 \
    --loss $loss $negatives --threads 1 --quiet --output-dir /tmp/ml100k_losses/$name > results/ml100k/logs/$name.log 2>&1
  cp /tmp/ml100k_losses/$name/metrics.json docs/ml100k_runs/$name.json
done
