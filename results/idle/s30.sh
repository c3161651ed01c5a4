#!/bin/bash
# Session 30: issue 24's idle-machine measurements, started by itself when the item-5 lanes
# (results/ml1m/scripts/lane_g_s30.sh) end, with nothing else running: the CPU target of GPT-2 + clm
# (L=200, item ids only, 2 threads), then the cost grid, the step guard (compile, bf16) and BERT + mlm's CPU target while
# they can end before ~19:05 UTC (the pre-stop CI needs the machine after that). Runs in the /work/runs2
# worktree (a fixed commit).
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
while pgrep -f "lane_g_s30.sh|pytest|pip install" > /dev/null; do sleep 15; done
uptime
bash benchmarks/idle_machine.sh step clm
if [ "$(date -u +%H%M)" -lt 1845 ]; then bash benchmarks/idle_machine.sh step cost; fi
if [ "$(date -u +%H%M)" -lt 1855 ]; then bash benchmarks/idle_machine.sh step guard; fi
if [ "$(date -u +%H%M)" -lt 1835 ]; then bash benchmarks/idle_machine.sh step mlm; fi
uptime
