"""Train plain HF models on synthetic sessions with each of the four collators.

Run:
    python examples/quickstart.py            # ~45 s on 2 CPU cores
    python examples/quickstart.py --steps 5  # the size the tests run

Each scheme is paired with the HF model it is meant for (tiny configs built here, nothing downloaded);
the sessions follow a simple hidden rule (each item tends to be followed by the next id), so the loss
falls as the model learns it.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import (
    BertConfig,
    BertForMaskedLM,
    ElectraConfig,
    ElectraForMaskedLM,
    GPT2Config,
    GPT2LMHeadModel,
    XLNetConfig,
    XLNetLMHeadModel,
)

from hf_seqmask import keep_model_inputs, make_collator

VOCAB, PAD, MASK, FIRST_ITEM = 64, 0, 1, 2


def synthetic_sessions(count: int, max_length: int, seed: int) -> list[dict]:
    """Sessions of 1..max_length items where item i is mostly followed by item i + 1."""
    rng = np.random.default_rng(seed)
    sessions = []
    for _ in range(count):
        length = int(rng.integers(1, max_length + 1))
        start = int(rng.integers(FIRST_ITEM, VOCAB))
        noise = rng.random(length) < 0.1
        steps = np.where(noise, rng.integers(FIRST_ITEM, VOCAB, length), 0)
        items = (start - FIRST_ITEM + np.arange(length)) % (VOCAB - FIRST_ITEM) + FIRST_ITEM
        sessions.append({"input_ids": np.where(noise, steps, items).tolist()})
    return sessions


def tiny_model(family: str) -> torch.nn.Module:
    if family == "gpt2":
        return GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_positions=64, n_embd=32, n_layer=2, n_head=2))
    if family == "bert":
        config = BertConfig(
            vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
        )
        return BertForMaskedLM(config)
    if family == "electra":
        config = ElectraConfig(
            vocab_size=VOCAB,
            embedding_size=16,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
        )
        return ElectraForMaskedLM(config)
    return XLNetLMHeadModel(XLNetConfig(vocab_size=VOCAB, d_model=32, n_layer=2, n_head=2, d_inner=64))


PAIRS = [
    ("clm", "gpt2", {}),
    ("mlm", "bert", {"mlm_probability": 0.3}),
    ("plm", "xlnet", {}),
    ("rtd", "electra", {"mlm_probability": 0.3}),
]


def train(scheme: str, family: str, options: dict, *, steps: int, seed: int) -> tuple[float, float]:
    """Mean loss of the first and of the last quarter of ``steps`` Adam steps."""
    torch.manual_seed(seed)
    collator = make_collator(scheme, vocab_size=VOCAB, mask_token_id=MASK, pad_token_id=PAD, seed=seed, **options)
    loader = DataLoader(synthetic_sessions(64 * steps, 20, seed), batch_size=64, collate_fn=collator)
    model = tiny_model(family)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for batch in loader:
        loss = model(**keep_model_inputs(batch, model)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    quarter = max(len(losses) // 4, 1)
    return float(np.mean(losses[:quarter])), float(np.mean(losses[-quarter:]))


def main(argv: list[str] | None = None) -> list[tuple[str, str, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="optimizer steps per scheme")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = []
    print(f"{'scheme':<7}{'model':<9}{'first loss':>11}{'last loss':>11}")
    for scheme, family, options in PAIRS:
        first, last = train(scheme, family, options, steps=args.steps, seed=args.seed)
        rows.append((scheme, family, first, last))
        print(f"{scheme:<7}{family:<9}{first:>11.3f}{last:>11.3f}")
    return rows


if __name__ == "__main__":
    main()
