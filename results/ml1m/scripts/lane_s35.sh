#!/bin/bash
# Session 35: the runs worktree of session 34 was gone with its checkpoints, so the three seeds of
# xlnet-plm-L50-d128-side-e120 start again, as three 1-thread lanes side by side (issue 21): the command
# of xlnet-plm-L50-d128-side (0.1527, seed 0, cut by its 55-minute limit) with an epoch budget
# (120 epochs; --max-minutes 170 only as a guard). Lane a: seed 0; b: seed 1; c: seed 2.
# Lanes c and b were stopped at epochs ~7 and ~11: with three lanes (then two beside a third, shorter
# lane) on the 2 cores an epoch took ~2 minutes (the VM had ~20% steal time that day), too slow to finish
# in the session. Seed 0 (lane a) runs on; seeds 1 and 2 are the next session's, two lanes from its start.
# Checkpoints every validation (5 epochs): `RESUME=1 bash lane_s35.sh a` goes on from the newest one.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
plm="--epochs 120 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap --max-minutes 170"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  a) run xlnet-plm xlnet-plm-L50-d128-side-e120 $plm --seed 0 ;;
  b) run xlnet-plm xlnet-plm-L50-d128-side-e120-seed1 $plm --seed 1 ;;
  c) run xlnet-plm xlnet-plm-L50-d128-side-e120-seed2 $plm --seed 2 ;;
esac
