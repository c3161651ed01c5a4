#!/bin/bash
# Session 33, issue 24: GPT-2 + clm L=200 with session 32's recipe levers (batch 32, lr 3e-3, bf16 autocast)
# plus the fused item head + cross-entropy (--fused-loss: the step 2x faster under bf16 at the guard's size),
# timed alone on 2 threads. The two 1-thread lanes of results/ml1m/scripts/lane_s33.sh are paused (SIGSTOP)
# for its duration and resumed after, so nothing else runs while it is timed.
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-b32-bf16-fused --threads 2 \
  -- --batch-size 32 --learning-rate 3e-3 --bf16 --fused-loss --max-minutes 32 > out/s33.out 2>&1
pkill -CONT -f "benchmarks/movielens.py"
