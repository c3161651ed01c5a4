"""Invariants of the batch contract on many random ragged batches (property-based)."""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hf_seqmask import IGNORE_INDEX, SCHEMES, expand_perm_order

VOCAB, PAD, MASK = 30, 0, 1

rows_strategy = st.lists(st.lists(st.integers(2, VOCAB - 1), max_size=12), min_size=1, max_size=8)


@st.composite
def collator_cases(draw):
    scheme = draw(st.sampled_from(sorted(SCHEMES)))
    mode = draw(st.sampled_from(["train", "eval", "predict"]))
    options = dict(
        vocab_size=VOCAB,
        mask_token_id=MASK,
        pad_token_id=PAD,
        mode=mode,
        seed=draw(st.integers(0, 2**32)),
        max_length=draw(st.one_of(st.none(), st.integers(1, 12))),
        pad_to_multiple_of=draw(st.one_of(st.none(), st.integers(1, 8))),
    )
    if scheme == "clm":
        options["train_on_last_item_only"] = draw(st.booleans())
        options["causal_perm_mask"] = draw(st.booleans())
        options["eval_on_last_item_only"] = draw(st.booleans())
    if scheme in ("mlm", "rtd"):
        options["mlm_probability"] = draw(st.sampled_from([0.0, 0.15, 0.5, 1.0]))
        options["mask_last_item_prob"] = draw(st.sampled_from([0.0, 0.5]))
    if scheme == "plm":
        options["plm_probability"] = draw(st.sampled_from([1 / 6, 0.5, 1.0]))
        options["max_span_length"] = draw(st.integers(1, 6))
        options["permute_all"] = draw(st.booleans())
        options["eval_on_last_item_only"] = draw(st.booleans())
    return scheme, options


def _expected_items(rows, limit):
    """Each row's kept items: the ``limit`` most recent (``max_length``; ``max_length - 1`` in predict mode)."""
    if limit is None:
        return rows
    return [row[-limit:] if limit else [] for row in rows]


def _check_common(rows, options, batch, slot):
    max_length = options.get("max_length")
    limit = max_length - 1 if max_length is not None and options["mode"] == "predict" else max_length
    items = _expected_items(rows, limit)
    lengths = torch.tensor([len(r) for r in items])
    width = batch["input_ids"].shape[1]
    assert width >= max(1, int(lengths.max()) + slot)
    if max_length is not None:
        assert width <= max_length, "never wider than the model takes"
    if options.get("pad_to_multiple_of"):
        # A multiple of it, unless the next multiple would pass max_length: then capped there (issue 26).
        assert width % options["pad_to_multiple_of"] == 0 or width == max_length
    real = torch.arange(width)[None, :] < lengths[:, None]
    slot_mask = (torch.arange(width)[None, :] == lengths[:, None]) & (lengths > 0)[:, None] & bool(slot)
    assert torch.equal(batch["attention_mask"], (real | slot_mask).long())
    original = torch.full((len(items), width), PAD)
    for b, row in enumerate(items):
        original[b, : len(row)] = torch.tensor(row, dtype=torch.long)
    ids, hidden = batch["input_ids"], batch["mask_positions"]
    assert hidden.dtype == torch.bool and ids.dtype == torch.int64
    assert torch.equal(ids == MASK, hidden), "mask ids exactly at hidden positions"
    assert not (hidden & ~(real | slot_mask)).any(), "padding is never hidden"
    assert (ids[~real & ~slot_mask] == PAD).all()
    assert (ids[real] != PAD).all(), "no pad id (or reserved id) inside a row"
    return original, real, lengths, slot_mask


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=collator_cases(), rows=rows_strategy)
def test_batch_invariants(case, rows):
    scheme, options = case
    mode = options["mode"]
    collator = SCHEMES[scheme](**options)
    batch = collator([{"input_ids": list(r)} for r in rows])
    slot = int(mode == "predict" and collator.predict_slot)
    original, real, lengths, slot_mask = _check_common(rows, options, batch, slot)
    hidden, ids = batch["mask_positions"], batch["input_ids"]
    eligible = lengths >= 2

    if mode == "predict":
        assert "labels" not in batch
        expected = torch.where(lengths >= 1, lengths + collator.prediction_offset, -1)
        assert torch.equal(batch["prediction_positions"], expected)
        assert torch.equal(hidden, slot_mask)
        targets = slot_mask
    else:
        labels = batch["labels"]
        targets = labels != IGNORE_INDEX
        assert not (targets & ~real).any(), "targets only on real items"
        assert torch.equal(labels[targets], original[targets]), "labels hold the original items"
        assert not targets[~eligible].any(), "rows with < 2 items get no target"
        counts, num_real = targets.sum(1), real.sum(1)
        last = torch.zeros_like(real)
        last[eligible, lengths[eligible] - 1] = True
        next_items = real.clone()
        next_items[:, 0] = False
        if mode == "eval" and options.get("eval_on_last_item_only", True):
            assert torch.equal(targets, last), "eval targets = last real item"
            assert torch.equal(hidden, last), "the eval target never reaches the model"
        elif mode == "eval" or (scheme == "clm" and not options.get("train_on_last_item_only")):
            assert torch.equal(targets, next_items)
            assert not hidden.any()
        elif scheme == "clm":
            assert torch.equal(targets, last)
        else:
            assert (counts[eligible] >= 1).all() and (counts[eligible] < num_real[eligible]).all()
            assert torch.equal(hidden, targets), "hidden positions are exactly the targets"
        if mode == "eval":
            last_target = torch.where(targets, torch.arange(targets.shape[1]), -1).amax(1)
            expected = torch.where(last_target >= 0, last_target + collator.prediction_offset, -1)
            assert torch.equal(batch["prediction_positions"], expected)
        assert (ids[~hidden & real] == original[~hidden & real]).all()

    if "perm_mask" in batch:
        _check_perm_mask(
            batch["perm_mask"],
            batch["target_mapping"],
            targets if mode != "predict" else slot_mask,
            batch["attention_mask"].bool(),
            scheme,
            mode,
            options,
        )


def _check_perm_mask(perm_mask, target_mapping, targets, attended, scheme, mode, options):
    """XLNet rules, read off the dense mask: 1 = position i may NOT attend to j."""
    assert perm_mask.dtype == torch.float32 and target_mapping.dtype == torch.float32
    width = perm_mask.shape[1]
    assert torch.equal(target_mapping, torch.eye(width).expand_as(target_mapping))
    sees = perm_mask == 0  # (B, L, L)
    assert not (sees & ~attended[:, None, :]).any(), "padding is never attended to"
    causal = scheme == "clm" or (mode == "eval" and not options.get("eval_on_last_item_only", True))
    if causal:
        allowed = torch.tril(torch.ones(width, width, dtype=torch.bool), diagonal=-1)
        allowed[:, 0] = True  # the first item is context: no history to predict it from
        rows = attended[:, :, None]  # what padding rows see does not matter
        assert torch.equal(sees & rows, allowed & attended[:, None, :] & rows), (
            "causal: i sees exactly j < i (and the first item)"
        )
        return
    diag = sees.diagonal(dim1=1, dim2=2)
    assert not (diag & targets).any(), "no target sees itself"
    for b in range(perm_mask.shape[0]):
        t = targets[b].nonzero().flatten()
        context = (attended[b] & ~targets[b]).nonzero().flatten()
        assert sees[b][:, context].all() or context.numel() == 0, "every position sees the context items"
        non_targets = (~targets[b]).nonzero().flatten()
        assert not sees[b][non_targets][:, t].any(), "context never sees a target"
        among = sees[b][t][:, t]  # (T, T) i sees j among targets: a strict total order
        assert not (among & among.T).any()
        assert (among | among.T | torch.eye(len(t), dtype=torch.bool)).all()
        assert torch.equal((among.float() @ among.float() > 0) & ~among, torch.zeros_like(among)), "transitive"


@settings(max_examples=100, deadline=None)
@given(rows=rows_strategy, seed=st.integers(0, 2**32), mode=st.sampled_from(["train", "eval", "predict"]))
def test_compact_perm_order_expands_to_the_dense_mask(rows, seed, mode):
    features = [{"input_ids": list(r)} for r in rows]
    options = dict(vocab_size=VOCAB, mask_token_id=MASK, seed=seed, mode=mode)
    dense = SCHEMES["plm"](**options)(features)
    compact = SCHEMES["plm"](perm_format="compact", **options)(features)
    assert set(compact) == set(dense) - {"perm_mask", "target_mapping"} | {"perm_order"}
    assert compact["perm_order"].dtype == torch.int64
    expanded = expand_perm_order(compact["perm_order"], compact["attention_mask"])
    assert torch.equal(expanded, dense["perm_mask"])
    for key in set(compact) - {"perm_order"}:
        assert torch.equal(compact[key], dense[key]), key


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, seed=st.integers(0, 2**32))
def test_random_replacements_are_real_item_ids(rows, seed):
    collator = SCHEMES["mlm"](
        vocab_size=VOCAB,
        mask_token_id=MASK,
        special_token_ids=(2, 3),
        seed=seed,
        mlm_probability=1.0,
        mask_replace_prob=0.0,
        random_replace_prob=1.0,
    )
    features = [{"input_ids": [v for v in r if v not in (2, 3)]} for r in rows]
    batch = collator(features)
    replaced = batch["labels"] != IGNORE_INDEX
    assert not batch["mask_positions"].any()
    drawn = batch["input_ids"][replaced]
    assert ((drawn >= 4) & (drawn < VOCAB)).all(), "never pad, mask or special ids"
