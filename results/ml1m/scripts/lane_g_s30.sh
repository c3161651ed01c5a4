#!/bin/bash
# Issue 25 item 5, session 30: MovieLens' side features through the general path (commit 30fde7b on),
# like for like with the committed gpt2-clm-L50-side* runs (the MovieLens-only encoding): the same
# command, seeds 0, 1, 2 (`-general`), and the release year as a number instead of 5-year buckets
# (`-release-year`). Two queues, one thread each, started when the plm lanes (lane_b_s30.sh) were stopped
# (17:15, on commit 970f761).
#   bash results/ml1m/scripts/lane_g_s30.sh A   # and B
cd /work/runs2 && export PYTHONPATH=/work/runs2 && . /work/main/.venv/bin/activate
while pgrep -f "xlnet-plm-L50-d128-side-seed" > /dev/null; do sleep 20; done
base="--epochs 20 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
categorical="genre,year,age,gender,occupation,hour,time_gap"
number="genre,release_year,age,gender,occupation,hour,time_gap"
run() {  # name seed features
  [ -f out/ml1m/$1/metrics.json ] || python benchmarks/movielens.py --pair gpt2-clm --name $1 -- $base --seed $2 \
    --side-features $3 > logs/$1.log 2>&1
}
if [ "$1" = A ]; then
  run gpt2-clm-L50-side-general 0 $categorical
  run gpt2-clm-L50-side-general-seed1 1 $categorical
  run gpt2-clm-L50-side-release-year-seed2 2 $number
else
  run gpt2-clm-L50-side-release-year 0 $number
  run gpt2-clm-L50-side-release-year-seed1 1 $number
  run gpt2-clm-L50-side-general-seed2 2 $categorical
fi
