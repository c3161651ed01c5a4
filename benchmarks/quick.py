"""A quick side-by-side: our collators vs transformers' on identical inputs (sequences per second).

Run:
    python benchmarks/quick.py              # 256x50 and 1024x200, median of 20 calls
    python benchmarks/quick.py --calls 2 --grid 8x10   # the size the tests run

Inputs are lists of dicts of Python lists, lengths uniform in 2..L, item ids below 50,000. For
transformers' collators an offline word-level tokenizer maps token id = item id; its PLM collator
needs even lengths, so it gets every row cut to an even length. The full benchmark (numpy inputs,
DataLoader workers, bytes per batch, floors) is benchmarks/collate.py's job.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    DataCollatorForLanguageModeling,
    DataCollatorForPermutationLanguageModeling,
    PreTrainedTokenizerFast,
)

from hf_seqmask import CausalCollator, MaskedCollator, PermutationCollator, ReplacementCollator

VOCAB, PAD, MASK = 50_003, 0, 1


def item_tokenizer() -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose token id is the item id (built offline)."""
    vocab = {str(i): i for i in range(VOCAB)} | {"[PAD]": PAD, "[MASK]": MASK}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[PAD]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", mask_token="[MASK]")


def sequences_per_second(collate, features, calls: int) -> float:
    collate(features)  # warm-up
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        collate(features)
        times.append(time.perf_counter() - start)
    return len(features) / statistics.median(times)


def run(grid: list[tuple[int, int]], calls: int) -> list[dict[str, float]]:
    tokenizer = item_tokenizer()
    ours = {
        "clm": CausalCollator(vocab_size=VOCAB, mask_token_id=MASK, seed=0),
        "mlm": MaskedCollator(vocab_size=VOCAB, mask_token_id=MASK, seed=0),
        "plm dense": PermutationCollator(vocab_size=VOCAB, mask_token_id=MASK, seed=0),
        "plm compact": PermutationCollator(vocab_size=VOCAB, mask_token_id=MASK, seed=0, perm_format="compact"),
        "rtd": ReplacementCollator(vocab_size=VOCAB, mask_token_id=MASK, seed=0),
    }
    theirs = {
        "transformers mlm=False": DataCollatorForLanguageModeling(tokenizer, mlm=False),
        "transformers mlm=True": DataCollatorForLanguageModeling(tokenizer, mlm=True),
    }
    results = []
    for batch, length in grid:
        rng = random.Random(0)
        features = [
            {"input_ids": [rng.randrange(2, VOCAB) for _ in range(rng.randint(2, length))]} for _ in range(batch)
        ]
        even = [{"input_ids": f["input_ids"][: len(f["input_ids"]) // 2 * 2]} for f in features]
        row = {"grid": f"{batch}x{length}"}
        for name, collate in {**ours, **theirs}.items():
            row[name] = sequences_per_second(collate, features, calls)
        plm = DataCollatorForPermutationLanguageModeling(tokenizer)
        row["transformers PLM"] = sequences_per_second(plm, even, max(calls // 4, 1))
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--grid", nargs="+", default=["256x50", "1024x200"], help="BATCHxLENGTH")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    grid = [tuple(int(v) for v in cell.split("x")) for cell in args.grid]
    results = run(grid, args.calls)
    names = [k for k in results[0] if k != "grid"]
    print("| collator | " + " | ".join(r["grid"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{r[name] / 1000:.1f}k" for r in results) + " |")
    return results


if __name__ == "__main__":
    main()
