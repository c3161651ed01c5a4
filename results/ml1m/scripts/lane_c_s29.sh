#!/bin/bash
# Outcome: the control (xlnet-mlm-L50) and the separate generator (xlnet-rtd-w2-gen32) ran; the lane was
# stopped before the batch-replacements run, whose core went to the fusion seeds (lane_d_s29.sh).
# Issue 21, session 29, lane C (after lane B's detection weights 10 and 2): first the control of the RTD
# ablation, XLNet + mlm at the same recipe (rtd = this masked-LM loss + the detection loss: RTD against
# mlm on the same backbone and budget), then the ablation's other two levers at the best detection weight
# by validation NDCG@10 (weights 1, 2, 5, 10 of lane_rtd.sh's recipe): a separate small generator
# (hidden 32) and replacements drawn from the batch instead of the catalogue.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
while pgrep -f lane_b_s29.sh > /dev/null; do sleep 20; done
base="--epochs 40 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet --max-minutes 90"
best=$(python - <<'PY'
import json, pathlib
runs = {}
for folder in (pathlib.Path("/work/main/docs/ml1m_runs"), pathlib.Path("out/ml1m")):
    for path in folder.glob("xlnet-rtd-w*"):
        file = path / "metrics.json" if path.is_dir() else path
        if file.exists() and path.name.removesuffix(".json")[len("xlnet-rtd-w"):].isdigit():
            runs[path.name.removesuffix(".json")] = json.loads(file.read_text())
best = max(runs, key=lambda n: runs[n]["validation"]["best"]["ndcg@10"])
print(f"{runs[best]['arguments']['discriminator_loss_weight']:g}")
PY
)
echo "best detection weight by validation among $(ls -d out/ml1m/xlnet-rtd-w* /work/main/docs/ml1m_runs/xlnet-rtd-w*.json | xargs -n1 basename | tr '\n' ' '): $best" > logs/rtd-best-weight.txt
run() { name=$1; shift; [ -f out/ml1m/$name/metrics.json ] && return; python benchmarks/movielens.py --pair xlnet-rtd --name $name -- $base "$@" > logs/$name.log 2>&1; }
[ -f out/ml1m/xlnet-mlm-L50/metrics.json ] || python benchmarks/movielens.py --pair xlnet-mlm --name xlnet-mlm-L50 -- $base > logs/xlnet-mlm-L50.log 2>&1
run xlnet-rtd-w$best-gen32 --discriminator-loss-weight $best --generator-hidden-size 32
run xlnet-rtd-w$best-batch --discriminator-loss-weight $best --replacements-from-batch
