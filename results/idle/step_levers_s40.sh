#!/bin/bash
# Session 40, issue 24: BERT + mlm's step with the last layer at the scored positions only, eager (traced,
# that layer runs whole), 20 rounds in turns, 2 threads; the session's training lanes paused meanwhile.
cd "$(dirname "$0")/../.." && . .venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
python benchmarks/step_levers.py --models bert-mlm --backend none --rounds 20 > results/idle/step_levers_s40.txt 2>&1
pkill -CONT -f "benchmarks/movielens.py"
