#!/bin/bash
# Session 39, issue 21 target 3 (best mean >= 0.19 over three seeds of one command): seeds 1 and 2 of the
# CPU command of `gpt2-clm-L200-side` (GPT-2 + clm, L=200, hidden 64, side information, 40 epochs; seed 0
# tested at 0.1896 in session 26, 70 train minutes at 1 thread). The code has since made the fused item head
# + loss the default (the same loss and gradients to float rounding); nothing else in this command changed.
# One 1-thread process per seed (`a`: seed 1, `b`: seed 2); `RESUME=1` resumes from the last checkpoint.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
rec="--epochs 40 --max-length 200 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --side-features genre,year,age,gender,occupation,hour,time_gap"
run() { name=$1; shift; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair gpt2-clm --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  a) run gpt2-clm-L200-side-seed1 $rec --seed 1 ;;
  b) run gpt2-clm-L200-side-seed2 $rec --seed 2 ;;
esac
