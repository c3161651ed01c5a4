"""Tiny HF configs and synthetic sessions shared by the model tests (nothing downloaded)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, ElectraConfig, GPT2Config, XLNetConfig

from hf_seqmask import SCHEMES, SeqRecConfig, SeqRecModel
from hf_seqmask.data.movielens import default_cache_dir

VOCAB, PAD, MASK = 48, 0, 1

# (family, scheme, extra collator options): every pair the wrapper supports and the tests train.
PAIRS = [
    ("gpt2", "clm", {}),
    ("bert", "mlm", {}),
    ("bert", "rtd", {}),
    ("xlnet", "plm", {}),
    ("xlnet", "clm", {"causal_perm_mask": True}),
    ("xlnet", "mlm", {}),
    ("xlnet", "rtd", {}),
    ("electra", "mlm", {}),
    ("electra", "rtd", {}),
]


def backbone_config(family, vocab=VOCAB):
    if family == "gpt2":
        return GPT2Config(
            vocab_size=vocab, n_positions=40, n_embd=32, n_layer=2, n_head=2, bos_token_id=2, eos_token_id=2
        )
    if family == "bert":
        return BertConfig(
            vocab_size=vocab,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=40,
            pad_token_id=PAD,
        )
    if family == "electra":
        return ElectraConfig(
            vocab_size=vocab,
            embedding_size=16,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=40,
            pad_token_id=PAD,
        )
    return XLNetConfig(vocab_size=vocab, d_model=32, n_layer=2, n_head=2, d_inner=64, pad_token_id=PAD)


def tiny_model(family, scheme, **config):
    return SeqRecModel(SeqRecConfig(backbone_config=backbone_config(family), scheme=scheme, seed=0, **config))


def collator(scheme, mode="train", **options):
    options = {"seed": 0, **options}
    return SCHEMES[scheme](vocab_size=VOCAB, mask_token_id=MASK, pad_token_id=PAD, mode=mode, **options)


def sessions(count, max_length=16, seed=0, with_category=False):
    """Real-looking sessions of 1..max_length items: popular items are frequent (Zipf-like) and an item
    is often followed by the next id, so a model learns something within a few dozen steps."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, VOCAB - 1)
    popularity /= popularity.sum()
    rows = []
    for _ in range(count):
        length = int(rng.integers(1, max_length + 1))
        items = rng.choice(np.arange(2, VOCAB), size=length, p=popularity)
        follows = rng.random(length) < 0.5
        for t in range(1, length):
            if follows[t]:
                items[t] = (items[t - 1] - 1) % (VOCAB - 2) + 2
        row = {"input_ids": items.tolist()}
        if with_category:
            row["category"] = (items % 5).tolist()
        rows.append(row)
    return rows


def assert_same_batch(a, b):
    """Two batches hold the same keys in the same order and equal tensors of equal dtypes (nested dicts too)."""
    assert list(a) == list(b)
    for key in a:
        if isinstance(a[key], dict):
            assert_same_batch(a[key], b[key])
        else:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key


def _package_index_reachable() -> bool:
    if any(default_cache_dir().glob("recbole*.whl")):
        return True
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "recbole"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


needs_index = pytest.mark.skipif(not _package_index_reachable(), reason="the package index (PyPI) is unreachable")


ROOT = Path(__file__).resolve().parents[1]


def load_script(relative_path):
    """A repository script (``benchmarks/faults.py``, ``examples/serve.py``) imported as a module,
    registered in ``sys.modules`` under its stem (dataclasses look their module up there)."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
