#!/bin/bash
# Session 31, the peers' half of s31.sh (whose peer lines named a batch-count option that became
# --validate-every-minutes before they ran, so they fail at once): waits for s31.sh to end, then runs
# RecBole's SASRec and BERT4Rec at L=50 (batch 256, lr 1e-3, 2 threads), validated every 3 minutes
# within the epoch as well, 30 minutes each, alone on the machine, in the /work/runs worktree.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
while pgrep -f "results/idle/s31.sh" > /dev/null; do sleep 10; done
git checkout -q --detach "$1" && git log --oneline -1
uptime
python benchmarks/time_to_quality.py run recbole-SASRec-L50 --threads 2 -- --minutes 30 --validate-every-minutes 3
python benchmarks/time_to_quality.py run recbole-BERT4Rec-L50 --threads 2 -- --minutes 30 --validate-every-minutes 3
uptime
