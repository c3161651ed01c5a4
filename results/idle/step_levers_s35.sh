#!/bin/bash
# Session 35, issue 24: the step levers again, now with attention dropout per key (--attention-dropout-unit
# key), timed in turns against the step's matmuls. Timed alone: the training lanes are paused (SIGSTOP)
# for its duration and resumed after.
cd /work/main && . .venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
start=$(date +%s)
python benchmarks/step_levers.py --rounds 10 --backend inductor > results/idle/step_levers_s35.txt 2>&1
echo "RC=$? seconds=$(( $(date +%s) - start ))" >> results/idle/step_levers_s35.txt
pkill -CONT -f "benchmarks/movielens.py"
