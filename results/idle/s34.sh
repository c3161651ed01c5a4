#!/bin/bash
# Session 34, issue 24: GPT-2 + clm L=200, batch 32, lr 3e-3, bf16, fused head+loss, validation every 2 epochs
# (a validation pass is ~7 s of a ~41 s epoch) and a 45-epoch schedule sized to spend the 30-minute budget.
# Timed alone on 2 threads: training lanes (if any) are paused with SIGSTOP for its duration.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-b32-bf16-fused-e45 --threads 2 \
  -- --batch-size 32 --learning-rate 3e-3 --bf16 --fused-loss --epochs 45 --validate-every 2 --max-minutes 30 > out/s34.out 2>&1
echo "RC=$?" >> out/s34.out
pkill -CONT -f "benchmarks/movielens.py"
