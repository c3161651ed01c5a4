#!/bin/bash
# Issue 21, RTD ablation on ML-1M: XLNet + rtd at the `xlnet-rtd` recipe (L=50, hidden 64, 40 epochs,
# validation every 2, patience 3), one lever at a time. One thread, beside lane_mlm.sh.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
base="--epochs 40 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --max-minutes 90"
run() { name=$1; shift; [ -f out/ml1m/$name/metrics.json ] && return; python benchmarks/movielens.py --pair xlnet-rtd --name $name -- $base "$@" > logs/$name.log 2>&1; }
for w in 1 5 10 2; do run xlnet-rtd-w$w --discriminator-loss-weight $w; done
best=$(python - <<'PY'
import json, pathlib
runs = {p.parent.name: json.loads(p.read_text()) for p in pathlib.Path("out/ml1m").glob("xlnet-rtd-w*/metrics.json")}
best = max(runs, key=lambda n: runs[n]["validation"]["best"]["ndcg@10"])
print(runs[best]["arguments"]["discriminator_loss_weight"])
PY
)
echo "best weight by validation: $best" > logs/rtd-best-weight.txt
w=${best%.0}
run xlnet-rtd-w$w-gen32 --discriminator-loss-weight $best --generator-hidden-size 32
run xlnet-rtd-w$w-batch --discriminator-loss-weight $best --replacements-from-batch
run xlnet-rtd-w50 --discriminator-loss-weight 50
