#!/bin/bash
# Session 32 exploration lanes: epoch curves of GPT-2 + clm L=200 recipe variants (1 thread each, two side by side; not timed)
cd /work/runs; export PYTHONPATH=/work/runs; . /work/main/.venv/bin/activate
python benchmarks/time_to_quality.py run gpt2-clm-L200 --name $1 --threads 1 --output out/explore --work out/explore-work -- "${@:2}" > out/explore/$1.stdout 2>&1
