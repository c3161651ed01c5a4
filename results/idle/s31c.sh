#!/bin/bash
# Session 31, after the peers (s31b.sh): issue 24's next lever for GPT-2 + clm at L=200 — the learning-rate
# schedule fitted to the 15-minute budget (13 scheduled epochs of ~1.1 min, so the linear decay ends
# inside the budget, instead of 40 epochs cut by the limit), 2 threads, alone on the machine.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
while pgrep -f "results/idle/s31b.sh" > /dev/null; do sleep 10; done
uptime
python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-epochs13 --threads 2 -- --epochs 13 --max-minutes 16
uptime
