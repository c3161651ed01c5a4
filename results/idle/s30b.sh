#!/bin/bash
# Session 30, second idle script: s30.sh's first step timed GPT-2 + clm on ML-100K (the recipes did not
# name ML-1M, and the main job's default is ML-100K; fixed in time_to_quality.py), so after its cost grid
# this one moves the /work/runs2 worktree to the fixed commit and reruns the CPU target on ML-1M, then the
# step guard, with nothing else running.
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
while pgrep -f "cost_growth|idle_machine" > /dev/null; do sleep 10; done
git checkout -q --detach "$1" && git log --oneline -1
rm -f docs/time_to_quality/gpt2-clm-L200.json docs/time_to_quality/gpt2-clm-L200.log
mv out/time_to_quality/gpt2-clm-L200 out/time_to_quality/gpt2-clm-L200-ml100k-mistake 2>/dev/null
uptime
bash benchmarks/idle_machine.sh step clm
if [ "$(date -u +%H%M)" -lt 1853 ]; then bash benchmarks/idle_machine.sh step guard; fi
uptime
