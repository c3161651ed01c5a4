#!/bin/bash
# Session 31's idle-machine script (nothing else heavy running): our two L=50 recipes on 2 threads
# (BERT + mlm: issue 24's CPU target, 0.14 in <= 20 min; GPT-2 + clm: the partner of RecBole's SASRec),
# then RecBole's SASRec and BERT4Rec at L=50 on the same clock, validated within the epoch
# (peers.py --validate-every-batches), 30 minutes each. Runs in the /work/runs worktree; the peers
# wait for the commit named in /tmp/peers_commit (the peers.py change of this session).
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
uptime | tee results/idle/load_at_start_s31.txt
python benchmarks/time_to_quality.py run bert-mlm-L50-d128 --threads 2 -- --max-minutes 25
python benchmarks/time_to_quality.py run gpt2-clm-L50 --threads 2 -- --max-minutes 15
while [ ! -s /tmp/peers_commit ]; do sleep 10; done
git checkout -q --detach "$(cat /tmp/peers_commit)" && git log --oneline -1
uptime
python benchmarks/time_to_quality.py run recbole-SASRec-L50 --threads 2 -- --minutes 30 --validate-every-batches 40
python benchmarks/time_to_quality.py run recbole-BERT4Rec-L50 --threads 2 -- --minutes 30 --validate-every-batches 30
uptime
