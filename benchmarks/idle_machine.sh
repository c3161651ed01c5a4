#!/bin/bash
# The measurements of issue 24 that need the 2-core CPU to itself (nothing else running: no training
# lanes, helpers or test suites), in priority order, each writing its report under docs/ and its raw
# output under results/idle/. About 2 hours in all; each step can be run alone.
#   bash benchmarks/idle_machine.sh            # every step
#   bash benchmarks/idle_machine.sh step cost  # one step: guard | cost | clm | clm-bf16 | mlm | peers
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results/idle docs/time_to_quality
only=${2:-all}  # "step NAME" runs one step
want() { [ "$only" = all ] || [ "$only" = "$1" ]; }
uptime | tee results/idle/load_at_start.txt
# 1. The step against its matmuls, compiled (static and dynamic targets) and under bf16 autocast (~10 min).
want guard && python benchmarks/train_step.py --guard --steps 10 --profile 12 --compile inductor --bf16 | tee results/idle/train_step.txt
# 2. Step time and memory against length and batch (~15 min).
want cost && python benchmarks/cost_growth.py --output docs/cost_growth.json | tee results/idle/cost_growth.txt
# 3. CPU targets: GPT-2 + clm, L=200, item ids only, 2 threads: validation 0.18 in <= 15 min, 0.19 in <= 30.
want clm && python benchmarks/time_to_quality.py run gpt2-clm-L200 --threads 2 -- --max-minutes 35
want clm-bf16 && python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-bf16 --threads 2 -- --bf16 --max-minutes 35
# 4. BERT + mlm to validation 0.14 in <= 20 minutes.
want mlm && python benchmarks/time_to_quality.py run bert-mlm-L50-d128 --threads 2 -- --max-minutes 25
# 5. The time-matched peers on the same clock (RecBole's venv: see benchmarks/peers.py), L=50, 30 minutes
#    each, validated every 3 minutes within RecBole's ~20-40-minute epoch as well; then ours at L=50.
want peers && python benchmarks/time_to_quality.py run recbole-SASRec-L50 --threads 2 -- --minutes 30 --validate-every-minutes 3
want peers && python benchmarks/time_to_quality.py run recbole-BERT4Rec-L50 --threads 2 -- --minutes 30 --validate-every-minutes 3
want peers && python benchmarks/time_to_quality.py run gpt2-clm-L50 --threads 2 -- --max-minutes 15
python benchmarks/time_to_quality.py report | tee results/idle/time_to_quality_table.md
python benchmarks/time_to_quality.py report --runs "*L50*" --picture docs/peers.png
