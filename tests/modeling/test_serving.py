"""One contract from training to serving: the model owns its masking spec, predict scores what eval
scored for every history length, foreign batches are refused, every path runs on the model's device,
recommend() after a save/load in a fresh process equals the eval-mode top-k, RTD has no shortcut."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict
from transformers import AutoConfig, AutoModel, BertConfig, ElectraConfig, GPT2Config, XLNetConfig

import hf_seqmask
from hf_seqmask import MaskedCollator, SeqRecConfig, SeqRecModel, collator_from_config
from hf_seqmask.data import ItemVocabulary
from hf_seqmask.metrics import top_k_items

from .._tiny import MASK, PAD, PAIRS, VOCAB, collator, sessions, tiny_model

MAX_LENGTH = 8


def _backbone(family, positions=MAX_LENGTH):
    """Tiny backbones whose position table is exactly ``max_length`` (no spare, untrained position)."""
    if family == "gpt2":
        return GPT2Config(vocab_size=VOCAB, n_positions=positions, n_embd=32, n_layer=2, n_head=2)
    if family in ("bert", "electra"):
        config_class = BertConfig if family == "bert" else ElectraConfig
        extra = {"embedding_size": 16} if family == "electra" else {}
        return config_class(
            vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=positions, **extra,
        )  # fmt: skip
    return XLNetConfig(vocab_size=VOCAB, d_model=32, n_layer=2, n_head=2, d_inner=64)


def _model(family, scheme, **config):
    torch.manual_seed(0)
    return SeqRecModel(
        SeqRecConfig(backbone_config=_backbone(family), scheme=scheme, max_seq_length=MAX_LENGTH, seed=0, **config)
    ).eval()


PAIR_IDS = [f"{family}-{scheme}" for family, scheme, _ in PAIRS]
UNIQUE_PAIRS = [(family, scheme) for family, scheme, _ in PAIRS]


@pytest.mark.parametrize(("family", "scheme"), UNIQUE_PAIRS, ids=PAIR_IDS)
def test_predict_on_a_history_scores_what_eval_scores_on_it_plus_its_next_item(family, scheme):
    model = _model(family, scheme, side_features={"category": 5})
    rng = np.random.default_rng(1)
    # Histories shorter than, equal to and longer than max_length (and max_length - 1, the edge).
    histories = [rng.integers(2, VOCAB, n).tolist() for n in (1, 2, 5, 7, 8, 9, 15, 30)]
    rows = [{"input_ids": h, "category": [i % 5 for i in h]} for h in histories]
    with_next = [{"input_ids": [*h, 7], "category": [*(i % 5 for i in h), 2]} for h in histories]
    predict, evaluation = model.data_collator("predict"), model.data_collator("eval")
    predict_batch = predict(rows)
    assert predict_batch["input_ids"].shape[1] <= MAX_LENGTH  # never a position training did not fill
    with torch.no_grad():
        predicted = model.score_batch(predict_batch)
        evaluated = model.score_batch(evaluation(with_next))
    torch.testing.assert_close(predicted, evaluated, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("family", "scheme"), UNIQUE_PAIRS, ids=PAIR_IDS)
def test_predictions_are_read_only_where_training_puts_targets(family, scheme):
    model = _model(family, scheme)
    train = model.data_collator("train", seed=0)
    long_rows = [{"input_ids": list(range(2, 2 + 30))}] * 64
    trained_reads = set()
    for _ in range(20):
        batch = train(long_rows)
        positions = (batch["labels"] != -100).nonzero()[:, 1]
        shift = scheme == "clm" and family != "xlnet"
        trained_reads |= set((positions - int(shift)).tolist())
    read = model.data_collator("predict")(long_rows[:1])["prediction_positions"].item()
    assert read in trained_reads, (read, sorted(trained_reads))


def test_the_collator_comes_from_the_config_and_per_run_options_only_may_differ():
    model = _model("bert", "mlm", masking={"mlm_probability": 0.3, "mask_last_item_prob": 0.1})
    train = model.data_collator(seed=5)
    assert (train.mlm_probability, train.mask_last_item_prob, train.max_length, train.seed) == (0.3, 0.1, 8, 5)
    assert train.vocab_size == VOCAB and (train.pad_token_id, train.mask_token_id) == (PAD, MASK)
    with pytest.raises(ValueError, match="collator option 'mlm_probability' is part of the model's masking spec"):
        model.data_collator(mlm_probability=0.5)
    with pytest.raises(ValueError, match="collator option 'max_length' is part of the model's masking spec"):
        collator_from_config(model.config, max_length=20)
    xlnet_clm = _model("xlnet", "clm").data_collator()
    assert xlnet_clm.causal_perm_mask and xlnet_clm.perm_format == "compact"


def test_the_family_scheme_table_lives_in_the_library():
    assert hf_seqmask.SUPPORTED_PAIRS["gpt2"] == ("clm",)
    assert {(f, s) for f, schemes in hf_seqmask.SUPPORTED_PAIRS.items() for s in schemes} == set(UNIQUE_PAIRS)


# ------------------------------------------------------------------------ foreign batches refused
FOREIGN = [
    ("bert", "mlm", "clm", {}, "train", "targets are visible"),
    ("bert", "mlm", "plm", {}, "train", "permutation inputs"),
    ("bert", "mlm", "clm", {}, "eval", "read at a visible item"),
    ("gpt2", "clm", "mlm", {}, "train", "hidden positions in training"),
    ("gpt2", "clm", "mlm", {}, "eval", "hidden position"),
    ("gpt2", "clm", "plm", {}, "train", "permutation inputs"),
    ("xlnet", "plm", "mlm", {}, "train", "given no permutation"),
    ("xlnet", "plm", "clm", {"causal_perm_mask": True}, "train", "targets are visible"),
    ("xlnet", "clm", "plm", {"perm_format": "compact"}, "train", "hidden positions in training"),
    ("xlnet", "mlm", "plm", {}, "train", "permutation inputs"),
    ("electra", "rtd", "clm", {}, "train", "targets are visible"),
]


@pytest.mark.parametrize(("family", "scheme", "other", "options", "mode", "message"), FOREIGN)
def test_a_batch_of_another_scheme_is_refused_naming_both(family, scheme, other, options, mode, message):
    model = _model(family, scheme)
    batch = collator(other, mode, max_length=MAX_LENGTH, **options)(sessions(16, max_length=MAX_LENGTH))
    with pytest.raises(ValueError, match=rf"does not fit the model \(scheme='{scheme}', {family}\).*{message}"):
        model(**batch)


def test_other_reserved_ids_or_a_wider_batch_are_refused():
    model = _model("bert", "mlm")
    rows = [{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}]
    other_pad = MaskedCollator(vocab_size=VOCAB, pad_token_id=3, mask_token_id=MASK, seed=0)(rows)
    with pytest.raises(ValueError, match="padding holds id 3 but the model's pad_token_id is 0"):
        model(**other_pad)
    other_mask = MaskedCollator(vocab_size=VOCAB, mask_token_id=4, seed=0)(rows)
    with pytest.raises(ValueError, match="hidden positions hold id 4 but the model's mask_token_id is 1"):
        model(**other_mask)
    with pytest.raises(ValueError, match="12 positions wide but the model's max_seq_length is 8"):
        model(**collator("mlm")([{"input_ids": list(range(2, 14))}]))


def test_the_model_own_collator_is_accepted_for_every_pair_and_mode():
    for family, scheme in UNIQUE_PAIRS:
        model = _model(family, scheme)
        for mode in ("train", "eval", "predict"):
            output = model(**model.data_collator(mode)(sessions(16, max_length=20)))
            assert output.logits is not None


# ------------------------------------------------------------------------------ one device rule
def test_every_serving_path_moves_the_batch_to_the_model_device(monkeypatch):
    """Each tensor the model receives must have gone through the device rule (a CPU machine cannot
    tell devices apart, so the rule marks what it moved and a pre-hook checks the mark)."""
    from hf_seqmask import _device

    moved: set[int] = set()
    original = _device.to_model_device

    def marking(batch, model):
        out = original(batch, model)
        moved.update(id(value) for value in out.values() if torch.is_tensor(value))
        return out

    monkeypatch.setattr(_device, "to_model_device", marking)
    model = _model("bert", "mlm")
    calls = []

    def check(module, args, kwargs):
        calls.append(1)
        unmoved = [k for k, v in kwargs.items() if torch.is_tensor(v) and id(v) not in moved]
        assert not unmoved, f"tensors {unmoved} reached the model without the device rule"

    model.register_forward_pre_hook(check, with_kwargs=True)
    model.set_vocabulary(ItemVocabulary(list(range(VOCAB - 2)), [1] * (VOCAB - 2)))
    rows = sessions(8, max_length=MAX_LENGTH)
    model.recommend([r["input_ids"] for r in rows], k=3)
    from hf_seqmask.evaluation import evaluate_test

    evaluate_test(model, DatasetDict({"train": Dataset.from_list(rows), "test": Dataset.from_list(rows)}))
    assert len(calls) >= 3


# ------------------------------------------------------------------------------------ recommend
def _trained_with_vocabulary():
    model = _model("bert", "mlm")
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(3)) * 0.05)
    raw = [f"item-{i}" for i in range(VOCAB - 2)]
    model.set_vocabulary(ItemVocabulary(raw, list(range(VOCAB - 2, 0, -1))))
    return model


@pytest.mark.slow
def test_recommend_after_loading_in_a_fresh_process_equals_the_eval_mode_top_k(tmp_path):
    model = _trained_with_vocabulary()
    model.save_pretrained(tmp_path)
    rng = np.random.default_rng(0)
    histories = [rng.choice(model.vocabulary.items, n, replace=False).tolist() for n in (1, 3, 7, 8, 12, 25)]
    script = textwrap.dedent(
        f"""
        import json, sys
        import hf_seqmask
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(tmp_path)!r})
        print(json.dumps({{"type": type(model).__name__, "top": model.recommend(json.loads(sys.argv[1]), k=10)}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(histories)], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["type"] == "SeqRecModel"
    # The reference: eval mode on each history plus a next item, seen items excluded, top 10.
    encoded = [model.vocabulary.encode(h) for h in histories]
    batch = model.data_collator("eval")([{"input_ids": [*ids, 2]} for ids in encoded])
    history = torch.nn.utils.rnn.pad_sequence([torch.tensor(ids) for ids in encoded], batch_first=True)
    top = top_k_items(model.score_batch(batch), 10, exclude_ids=[PAD, MASK], history=history)
    expected = [model.vocabulary.decode(row) for row in top.tolist()]
    assert [[item for item, _ in row] for row in loaded["top"]] == expected
    scores = model.score_batch(batch)
    for row, recommendations in enumerate(loaded["top"]):
        for item, score in recommendations:
            assert score == pytest.approx(scores[row, model.vocabulary.encode([item])[0]].item(), abs=1e-5)


def test_auto_classes_and_the_vocabulary_round_trip(tmp_path):
    model = _trained_with_vocabulary()
    model.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), SeqRecConfig)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert loaded.vocabulary == model.vocabulary and loaded.config.max_seq_length == MAX_LENGTH
    (ours,), (theirs,) = loaded.recommend([["item-3", "item-4"]]), model.recommend([["item-3", "item-4"]])
    assert [item for item, _ in ours] == [item for item, _ in theirs]
    assert [score for _, score in ours] == pytest.approx([score for _, score in theirs], abs=1e-5)


def test_recommend_rules_exclusions_allow_and_block_lists():
    model = _trained_with_vocabulary()
    history = ["item-1", "item-2", "item-3"]
    top = model.recommend([history], k=5)[0]
    assert len(top) == 5 and not {item for item, _ in top} & set(history)
    scores = [score for _, score in top]
    assert scores == sorted(scores, reverse=True)
    allowed = ["item-1", "item-7", "item-9"]
    only = model.recommend([history], k=5, allow=allowed)[0]
    assert sorted(item for item, _ in only) == ["item-7", "item-9"]  # item-1 is seen; fewer than k remain
    blocked = model.recommend([history], k=5, block=[top[0][0]])[0]
    assert top[0][0] not in {item for item, _ in blocked} and blocked[0] == top[1]
    with_seen = model.recommend([history], k=40, exclude_seen=False)[0]
    assert {"item-1", "item-2", "item-3"} <= {item for item, _ in with_seen}
    assert model.recommend([[]], k=3) == [[]]
    with pytest.raises(KeyError, match="item 'nope' at position 1 is not in the vocabulary"):
        model.recommend([["item-1", "nope"]])
    assert model.recommend([["item-1", "nope"]], unknown_items="drop") == model.recommend([["item-1"]])


def test_the_vocabulary_must_match_the_model():
    model = _model("bert", "mlm")
    with pytest.raises(ValueError, match=f"the vocabulary has 5 ids but the model's vocab_size is {VOCAB}"):
        model.set_vocabulary(ItemVocabulary.build(["a", "b", "c"]))


# ------------------------------------------------------------------------------------------- RTD
def test_rtd_side_features_give_the_discriminator_no_shortcut():
    """A rule that reads only the discriminator's side features (the best one: the majority label per
    value) must not beat the constant predictor by more than noise."""
    model = tiny_model("electra", "rtd", side_features={"category": 6})
    seen = {}
    embed = model.embed

    def capture(input_ids, side_features, mask_positions=None):
        if mask_positions is None:  # the discriminator's pass
            seen["category"] = side_features["category"]
        return embed(input_ids, side_features, mask_positions)

    model.embed = capture
    train = collator("rtd", side_feature_keys=("category",), mlm_probability=0.4)
    rows = [dict(r, category=[1 + i % 5 for i in r["input_ids"]]) for r in sessions(512, seed=5)]
    batch = train(rows)
    output = model(**batch)
    real = batch["attention_mask"].bool()
    labels = output.discriminator_labels[real].long().numpy()
    values = seen["category"][real].numpy()
    constant = max(labels.mean(), 1 - labels.mean())
    best_rule = sum(max((labels[values == v] == 1).sum(), (labels[values == v] == 0).sum()) for v in set(values))
    assert labels.mean() > 0.2  # enough replaced positions to find a shortcut if there is one
    assert best_rule / len(labels) <= constant + 0.01, (best_rule / len(labels), constant)
