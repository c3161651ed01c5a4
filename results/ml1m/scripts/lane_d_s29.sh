#!/bin/bash
# Issue 25 item 3, session 29, lanes D and E: the side-feature fusion measured like for like. The
# three-seed `gpt2-clm-L50-side` recipe (sum, the default) with --side-feature-combiner concat
# (Transformers4Rec's concatenation + projection), seeds 0, 1, 2. Two copies run, each after one of
# the runs then in progress (argument: the run to wait for); each seed is claimed once (mkdir).
# They replaced lane A's bert-mlm-L50-d128-side-seed2 and lane C's replacements-from-batch run
# (left for a later session) so that the three seeds finish within the session.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
while pgrep -f "name $1 " > /dev/null; do sleep 20; done
clm="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
side="--side-features genre,year,age,gender,occupation,hour,time_gap --side-feature-combiner concat"
mkdir -p claims
for seed in 0 1 2; do
  name=gpt2-clm-L50-side-concat$([ $seed = 0 ] || echo -seed$seed)
  mkdir claims/$name 2> /dev/null || continue
  python benchmarks/movielens.py --pair gpt2-clm --name $name -- $clm $side --seed $seed > logs/$name.log 2>&1
done
