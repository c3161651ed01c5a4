#!/bin/bash
# Session 38, issue 21 (rtd >= 0.1516, and RTD against mlm on the same backbone and budget): BERT + rtd at
# exactly the command of the masked recipe that passed (`bert-mlm-L50-d128-attn0-window`, three seeds:
# hidden 128, attention dropout 0, 120 epochs, random training windows; detection weight 1 and replacements
# from the batch are the job's defaults), three seeds. Prepared in session 37 with XLNet + rtd and an
# XLNet + mlm control; switched in session 38 before either had passed epoch 6, because XLNet's epoch takes
# ~1.6 minutes on this session's host (~190 per run) and BERT's three mlm seeds are already the control at
# the same budget. --max-minutes 170 (the mlm runs: 150) only so the limit cannot bind before epoch 120.
# Two 1-thread lanes: a runs seeds 0 and 1, b seed 2. `RESUME=1` resumes.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
rec="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 170 --attention-dropout 0 --train-window random"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  a) run bert-rtd bert-rtd-L50-d128-attn0-window $rec --seed 0
     run bert-rtd bert-rtd-L50-d128-attn0-window-seed1 $rec --seed 1 ;;
  b) run bert-rtd bert-rtd-L50-d128-attn0-window-seed2 $rec --seed 2 ;;
esac
