#!/bin/bash
# Prepared in session 40 (issue 24), run in session 41 (docs/train_step.md): BERT + mlm at the masked recipe that passed
# (`bert-mlm-L50-d128-attn0-window`: three seeds 0.1573 ± 0.0058) with its last layer computed at the
# scored positions only (`--last-layer-at-scored-positions`: the same outputs where read and the same
# distribution of dropout masks, another random stream, a cheaper step), three seeds: the lever's quality
# and its minutes per epoch against the three committed runs. `a`: seeds 0 and 1, `b`: seed 2 (1 thread
# each, two lanes); `RESUME=1` resumes from the last checkpoint.
cd /work/runs && export PYTHONPATH=/work/runs && . /work/main/.venv/bin/activate
resume=${RESUME:+--resume_from_checkpoint true}
rec="--epochs 120 --mask-last-item-prob 0.1 --max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 5 --patience 6 --threads 1 --quiet --hidden-size 128 --max-minutes 150 --attention-dropout 0 --train-window random --last-layer-at-scored-positions"
run() { name=$1; shift; [ -f out/ml1m/$name/metrics.json ] || python benchmarks/movielens.py --pair bert-mlm --name $name -- "$@" $resume >> logs/$name.log 2>&1; }
case "$1" in
  a) run bert-mlm-L50-d128-attn0-window-lastlayer $rec --seed 0
     run bert-mlm-L50-d128-attn0-window-lastlayer-seed1 $rec --seed 1 ;;
  b) run bert-mlm-L50-d128-attn0-window-lastlayer-seed2 $rec --seed 2 ;;
esac
