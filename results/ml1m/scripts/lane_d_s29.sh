#!/bin/bash
# Issue 25 item 3, session 29, lane D (after lane A's bert-mlm-L50-d128-side-seed1; lane A's seed 2 is
# left for a later session): the side-feature fusion measured like for like. The three-seed
# `gpt2-clm-L50-side` recipe (sum, the default) with --side-feature-combiner concat (Transformers4Rec's
# concatenation + projection), seeds 0, 1, 2.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
until pgrep -f "name bert-mlm-L50-d128-side-seed1 " > /dev/null; do sleep 20; done
pkill -f lane_a_s29.sh  # lane A's loop would start seed 2 next; its running seed 1 goes on
while pgrep -f "name bert-mlm-L50-d128-side-seed1 " > /dev/null; do sleep 20; done
clm="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
side="--side-features genre,year,age,gender,occupation,hour,time_gap --side-feature-combiner concat"
for seed in 0 1 2; do
  name=gpt2-clm-L50-side-concat$([ $seed = 0 ] || echo -seed$seed)
  [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair gpt2-clm --name $name -- $clm $side --seed $seed > logs/$name.log 2>&1
done
