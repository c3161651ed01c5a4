#!/bin/bash
# Issue 21: seeds 1 and 2 of `bert-mlm-L50-d128` (BERT + mlm, item ids only), then BERT + rtd at the
# same recipe and budget with the best discriminator weight found so far by lane_rtd.sh.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
base="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 150"
for seed in 1 2; do
  name=bert-mlm-L50-d128-seed$seed
  [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair bert-mlm --name $name -- $base --seed $seed > logs/$name.log 2>&1
done
best=$(python - <<'PY'
import json, pathlib
runs = {p.parent.name: json.loads(p.read_text()) for p in pathlib.Path("out/ml1m").glob("xlnet-rtd-w*/metrics.json")}
runs = {n: r for n, r in runs.items() if "gen" not in n and "batch" not in n}
print(runs[max(runs, key=lambda n: runs[n]["validation"]["best"]["ndcg@10"])]["arguments"]["discriminator_loss_weight"] if runs else 5)
PY
)
w=${best%.0}
name=bert-rtd-L50-d128-w$w
[ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair bert-rtd --name $name -- $base --discriminator-loss-weight $best > logs/$name.log 2>&1
