#!/bin/bash
# Session 34, issue 24: the step levers together (fused item head + loss, attention dropout 0, no dropout;
# eager and compiled with inductor), timed in turns against the step's matmuls. Timed alone: the
# training lanes are paused (SIGSTOP) for its duration and resumed after.
cd /work/main && . .venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
python benchmarks/step_levers.py --rounds 10 --backend inductor > results/idle/step_levers_s34.txt 2>&1
echo "RC=$?" >> results/idle/step_levers_s34.txt
pkill -CONT -f "benchmarks/movielens.py"
