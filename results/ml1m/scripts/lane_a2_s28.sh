#!/bin/bash
# Issue 21, session 28, lane A continued: after xlnet-clm-L50-seed2 (started by lane_a.sh), the third
# seed of XLNet + clm with side information; BERT + mlm with side information is left for a later session.
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
while pgrep -f "name xlnet-clm-L50-seed2 " > /dev/null; do sleep 20; done
clm="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
name=xlnet-clm-L50-side-seed2
[ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair xlnet-clm --name $name -- $clm --seed 2 --side-features genre,year,age,gender,occupation,hour,time_gap > logs/$name.log 2>&1
