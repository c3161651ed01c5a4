#!/bin/bash
# Session 32, issue 24: GPT-2 + clm L=200 with the recipe levers found by the epoch-curve probes
# (batch 32 at lr 3e-3: ~2 epochs ahead of batch 64 at 2e-3 by epoch 9) plus bf16 autocast (14% off
# the step on this avx512_bf16 CPU), timed alone on 2 threads; 32 minutes cover both targets (0.18 in 15, 0.19 in 30).
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-b32-bf16 --threads 2 \
  -- --batch-size 32 --learning-rate 3e-3 --bf16 --max-minutes 32 > out/s32.out 2>&1
