#!/bin/bash
# Session 40, issue 21 target 3 (best mean >= 0.19 over three seeds of one command). The CPU command of
# `gpt2-clm-L200-side` (GPT-2 + clm, L=200, hidden 64, side information, 40 epochs; three seeds 0.1886 ± 0.0009)
# plus the two levers of issue 24's 30-minute run: training windows drawn at random from longer histories
# (`--train-window random`) and attention dropout per key (`--attention-dropout-unit key`).
# One 1-thread process per seed (`a`: seed 0, `b`: seed 1, `c`: seed 2); `RESUME=1` resumes from the last checkpoint.
# `d`: seed 2 alone on 2 threads (the machine otherwise idle; --threads is not part of the recipe), which is
# how seed 2 ran in session 40, after a first 1-thread start had been paused at epoch 2 beside the others.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
rec="--epochs 40 --max-length 200 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --side-features genre,year,age,gender,occupation,hour,time_gap --train-window random --attention-dropout-unit key"
run() { name=$1; shift; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair gpt2-clm --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  a) run gpt2-clm-L200-side-window-key $rec --seed 0 ;;
  b) run gpt2-clm-L200-side-window-key-seed1 $rec --seed 1 ;;
  c) run gpt2-clm-L200-side-window-key-seed2 $rec --seed 2 ;;
  d) run gpt2-clm-L200-side-window-key-seed2 $rec --seed 2 --threads 2 ;;
esac
