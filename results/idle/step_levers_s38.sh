#!/bin/bash
# Session 38, issue 24: the step levers of session 35 again on this session's host, a Zen 3 EPYC (AVX2, no
# AVX512, no bf16 units) under the same "AMD EPYC" name as the Zen 4 of sessions 30-35: where the matmuls
# run on narrower vector units, what share of the step is theirs? Timed alone: the training lanes are
# paused (SIGSTOP) for its duration and resumed after.
cd /work/main && . .venv/bin/activate
pkill -STOP -f "benchmarks/movielens.py"
start=$(date +%s)
python -c "import torch; print('cpu:', torch.backends.cpu.get_cpu_capability(), 'bf16 units:', torch.ops.mkldnn._is_mkldnn_bf16_supported())" > results/idle/step_levers_s38.txt 2>&1
python benchmarks/step_levers.py --rounds 10 --backend inductor >> results/idle/step_levers_s38.txt 2>&1
echo "RC=$? seconds=$(( $(date +%s) - start ))" >> results/idle/step_levers_s38.txt
pkill -CONT -f "benchmarks/movielens.py"
