#!/bin/bash
# Prepared in session 37 for the next session (issue 21, rtd >= 0.1516): XLNet + rtd at the masked recipe that
# passed with random training windows (hidden 128, 120 epochs, `--train-window random`; detection weight 1 and
# replacements from the batch are the job's defaults), three seeds, and its mlm control on the same backbone.
# Two 1-thread lanes: a runs rtd seeds 0 and 1, b rtd seed 2 then the xlnet-mlm control. `RESUME=1` resumes.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
rec="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 170 --train-window random"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  a) run xlnet-rtd xlnet-rtd-L50-d128-window $rec --seed 0
     run xlnet-rtd xlnet-rtd-L50-d128-window-seed1 $rec --seed 1 ;;
  b) run xlnet-rtd xlnet-rtd-L50-d128-window-seed2 $rec --seed 2
     run xlnet-mlm xlnet-mlm-L50-d128-window $rec --seed 0 ;;
esac
