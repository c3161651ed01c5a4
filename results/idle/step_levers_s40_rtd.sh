#!/bin/bash
# Session 40, issue 24: BERT + rtd's step with the last layer of its masked pass at the scored positions,
# eager, 20 rounds in turns, 2 threads; the session's training lanes paused meanwhile.
cd "$(dirname "$0")/../.." && . .venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
python benchmarks/step_levers.py --models bert-rtd --backend none --rounds 20 > results/idle/step_levers_s40_rtd.txt 2>&1
pkill -CONT -f "benchmarks/movielens.py"
