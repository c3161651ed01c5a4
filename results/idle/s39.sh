#!/bin/bash
# Session 39, issue 24: GPT-2 + clm L=200 to validation 0.19 in <= 30 minutes on this session's host, a Zen 3
# EPYC (AVX2, no bf16 units: float32 is the fast path, so no --bf16). Session 37's levers on session 34's
# fused recipe (batch 32, lr 3e-3, fused head + loss, validation every 2 epochs): attention dropout per key
# and random training windows. The step levers on this host (results/idle/step_levers_s38.txt): fused + key
# 461 ms, about the e45 run's bf16 step on the Zen 4. A first start with 46 epochs was stopped at epoch 8: an
# epoch took 0.87 minutes here (0.62-0.70 in the Zen 4 runs), so the time limit would have cut the linear
# schedule at ~epoch 34 with a quarter of the learning rate left; 33 epochs end inside 30 minutes.
# Timed alone on 2 threads: training lanes (if any) are paused with SIGSTOP for its duration.
cd /work/main && . .venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-b32-fused-key-window-e33 --threads 2 \
  -- --batch-size 32 --learning-rate 3e-3 --fused-loss --attention-dropout-unit key --train-window random \
  --epochs 33 --validate-every 2 --max-minutes 30 > results/idle/s39.out 2>&1
echo "RC=$?" >> results/idle/s39.out
pkill -CONT -f "benchmarks/movielens.py"
