set -x
C="--max-length 50 --learning-rate 2e-3 --batch-size 64 --dropout 0.2 --validate-every 2 --patience 3 --threads 1 --quiet"
python benchmarks/movielens.py --pair xlnet-clm -- --epochs 20 $C
python benchmarks/movielens.py --pair xlnet-mlm -- --epochs 40 --mask-last-item-prob 0.1 $C
python benchmarks/movielens.py --pair xlnet-plm -- --epochs 40 $C
python benchmarks/movielens.py --pair electra-rtd -- --epochs 40 --mask-last-item-prob 0.1 $C
python benchmarks/movielens.py --pair bert-mlm -- --epochs 60 --mask-last-item-prob 0.1 $C
