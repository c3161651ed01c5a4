"""The main job: train on MovieLens, evaluate against all items, print a metrics table and recommendations.

Run:
    python examples/train.py                       # BERT + mlm on ML-100K (a few minutes on 2 CPU cores)
    python examples/train.py --scheme clm --model gpt2 --dataset ml-1m --epochs 20
    python examples/train.py --help                # every flag

The same job is installed as the ``hf-seqmask-train`` command; the code lives in ``hf_seqmask/cli.py``.
"""

from hf_seqmask.cli import main

if __name__ == "__main__":
    main()
