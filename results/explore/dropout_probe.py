"""Session-32 probe: GPT-2 + clm at the guard's size (batch 64 x 200, hidden 64, 3,418 items), one step
with dropout 0.2 everywhere, without attention dropout, and without any; 1 thread, on a machine busy
with two training runs (ratios only). Output: dropout_probe.txt. The repeatable form is
``python benchmarks/train_step.py --guard --dropout-variants``.

    python results/explore/dropout_probe.py gpt2
"""

import statistics
import sys
import time
from pathlib import Path

import torch
from transformers import BertConfig, GPT2Config

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]
from train_step import ml1m_model_and_batches  # noqa: E402

from hf_seqmask import SeqRecConfig, SeqRecModel  # noqa: E402

VOCAB = 3_420
VARIANTS = {"all 0.2": (0.2, 0.2), "attn 0, rest 0.2": (0.0, 0.2), "all 0": (0.0, 0.0)}


def build(family: str, attention: float, rest: float):
    torch.manual_seed(0)
    if family == "gpt2":
        backbone = GPT2Config(
            vocab_size=VOCAB, n_positions=200, n_embd=64, n_layer=2, n_head=2,
            resid_pdrop=rest, embd_pdrop=rest, attn_pdrop=attention,
        )  # fmt: skip
        scheme = "clm"
    else:
        backbone = BertConfig(
            vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
            max_position_embeddings=200, hidden_dropout_prob=rest, attention_probs_dropout_prob=attention,
        )  # fmt: skip
        scheme = "mlm"
    model = SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme=scheme, max_seq_length=200))
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


def main(family: str) -> None:
    torch.set_num_threads(1)
    _, batches = ml1m_model_and_batches(family, "clm" if family == "gpt2" else "mlm", 200, 64, 6)
    models = {name: build(family, *rates) for name, rates in VARIANTS.items()}
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(4):  # interleaved, so the busy machine weighs on every variant alike
        for name, (model, optimizer) in models.items():
            for batch in batches:
                start = time.perf_counter()
                loss = model(**batch).loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        print(family, name, round(1000 * statistics.median(values[3:]), 1), "ms")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "gpt2")
