#!/bin/bash
# Session 36: seeds 1 and 2 of xlnet-plm-L50-d128-side-e120 (issue 21), two 1-thread lanes from the start
# of the session so both finish inside it (checkpoints outside the repository die with the session).
# The command is seed 0's (docs/ml1m_runs/xlnet-plm-L50-d128-side-e120.json) with --seed 1 / --seed 2.
# Lane b: seed 1; c: seed 2. `RESUME=1 bash lane_s36.sh b` goes on from the newest checkpoint.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
plm="--epochs 120 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap --max-minutes 170"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  b) run xlnet-plm xlnet-plm-L50-d128-side-e120-seed1 $plm --seed 1 ;;
  c) run xlnet-plm xlnet-plm-L50-d128-side-e120-seed2 $plm --seed 2 ;;
esac
