#!/bin/bash
# Session 37, issue 24: GPT-2 + clm L=200 to validation 0.19 in <= 30 minutes, the fused recipe of session 34
# (batch 32, lr 3e-3, bf16, fused head + loss, validation every 2 epochs) with two levers more:
# attention dropout per key (the step at ~1.26x its matmuls instead of ~1.70x: more epochs in the budget, the
# quality of per-weight dropout at L=50) and random training windows (rows longer than 200 train on a window
# drawn anywhere in their history, not only the most recent). 50 epochs sized to end inside 30 minutes.
# Timed alone on 2 threads: training lanes (if any) are paused with SIGSTOP for its duration.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-b32-bf16-fused-key-window-e50 --threads 2 \
  -- --batch-size 32 --learning-rate 3e-3 --bf16 --fused-loss --attention-dropout-unit key --train-window random \
  --epochs 50 --validate-every 2 --max-minutes 30 > out/s37.out 2>&1
echo "RC=$?" >> out/s37.out
pkill -CONT -f "benchmarks/movielens.py"
