#!/bin/bash
# Session 34, two 1-thread lanes side by side. XLNet + plm at L=50, hidden 128, side information: the
# command of xlnet-plm-L50-d128-side (0.1527, seed 0) with an epoch budget instead of its 55-minute cut
# (120 epochs, --max-minutes 150 only as a guard), so its three seeds are one command (issue 21).
# Lane a: seed 1; lane b: seed 2. Seed 0 of this command is the next session's (one lane).
# Checkpoints every validation (5 epochs): `RESUME=1 bash lane_s34.sh a` goes on from the newest one.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
plm="--epochs 120 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --side-features genre,year,age,gender,occupation,hour,time_gap --max-minutes 150"
run() { pair=$1; name=$2; shift 2; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair $pair --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
if [ "$1" = a ]; then
  run xlnet-plm xlnet-plm-L50-d128-side-e120-seed1 $plm --seed 1
elif [ "$1" = b ]; then
  run xlnet-plm xlnet-plm-L50-d128-side-e120-seed2 $plm --seed 2
else
  run xlnet-plm xlnet-plm-L50-d128-side-e120 $plm --seed 0
fi
