"""Leak tests of the general side features (issue 25): for every feature kind and source of the
synthetic shop (categorical, multi-valued, continuous, bucketed; item table, user table, interaction columns,
time) through one family per scheme, changing the target's features changes nothing the model
predicts for it, while changing them at a visible position changes the prediction (the feature is
read, so the test can fail). User attributes are visible at every position but the hidden one, unless
the model names them ``context_side_features``: then they are visible at hidden and target positions
too, predict mode's slot holds them, and prediction still scores what evaluation scored."""

import pytest
import torch

from hf_seqmask import SeqRecConfig, spec
from hf_seqmask.data import DataArguments, load_data

from .._shop import write_shop
from .._tiny import collator, tiny_model

SCHEMES = [("gpt2", "clm"), ("bert", "mlm"), ("xlnet", "plm"), ("electra", "rtd")]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    clicks, products, users = write_shop(tmp_path_factory.mktemp("shop"))
    args = DataArguments(
        dataset=str(clicks), item_column="product_id", session_column="session_id", item_features=str(products),
        user_features=str(users), interaction_features="paid,device", time_features="hour,weekday,gap",
        feature_kinds="tags=multi,paid=buckets", feature_buckets=5,
    )  # fmt: skip
    splits, _, _, _, side = load_data(args)
    assert {c.name: c.kind for c in side.features.columns}["paid"] == "buckets"
    rows = [row for split in splits.values() for row in split if len(row["input_ids"]) >= 3][:24]
    rows = [{key: value for key, value in row.items() if key != "user_id"} for row in rows]
    return rows, side


def _other(value, column):
    """A different valid value of ``column`` (a FeatureColumn)."""
    if column.kind == "continuous":
        return value + 3.0
    if column.kind == "multi":
        return value ^ 0b110 or 0b1
    count = column.cardinality - 2  # ids 2.. are values, 1 is unknown
    return 2 + (value - 1) % count if value >= 2 and count > 1 else (1 if value >= 2 else 2)


def _changed(rows, column, positions):
    """``rows`` with ``column``'s value changed at ``positions(length)``."""
    out = []
    for row in rows:
        values = list(row[column.name])
        for t in positions(len(values)):
            values[t] = _other(values[t], column)
        out.append({**row, column.name: values})
    return out


@pytest.mark.parametrize(("family", "scheme"), SCHEMES, ids=[f"{f}-{s}" for f, s in SCHEMES])
def test_the_targets_features_are_hidden_with_it_for_every_kind_and_source(shop, family, scheme):
    rows, side = shop
    names = tuple(side.cardinalities)
    model = tiny_model(family, scheme, side_features=dict(side.cardinalities),
                       multi_hot_side_features=list(side.multi_hot)).eval()  # fmt: skip
    evaluation = collator(scheme, "eval", side_feature_keys=names)
    with torch.no_grad():
        before = model(**evaluation(rows)).logits
        for column in side.features.columns:
            target = _changed(rows, column, lambda n: [n - 1])
            torch.testing.assert_close(model(**evaluation(target)).logits, before, rtol=0, atol=0, msg=column.name)
            visible = (lambda n: range(n - 1)) if column.source == "user" else (lambda n: [0])
            changed = model(**evaluation(_changed(rows, column, visible))).logits
            assert not torch.allclose(changed, before), f"{column.name} ({column.source}) is not read"
    kinds = {(c.kind, c.source) for c in side.features.columns}
    assert {k for k, _ in kinds} == {"categorical", "multi", "continuous", "buckets"}
    assert {s for _, s in kinds} == {"item", "user", "interaction", "time"}


@pytest.mark.parametrize(("family", "scheme"), SCHEMES, ids=[f"{f}-{s}" for f, s in SCHEMES])
def test_training_batches_hide_every_feature_at_hidden_positions(shop, family, scheme):
    rows, side = shop
    names = tuple(side.cardinalities)
    batch = collator(scheme, "train", side_feature_keys=names)(rows)
    hidden = batch["mask_positions"]
    assert hidden.any() or scheme == "clm"  # clm hides by causality: no position is replaced
    for name in names:
        assert batch[name].shape == batch["input_ids"].shape, name
        assert (batch[name][hidden] == 0).all(), name
        assert batch[name].dtype == (torch.float32 if side.cardinalities[name] == 0 else torch.int64), name


# ----------------------------------------------------------------- context features (issue 25 item 2)
def _context_model(side, family, scheme):
    context = [c.name for c in side.features.columns if c.source == "user"]
    model = tiny_model(family, scheme, side_features=dict(side.cardinalities), context_side_features=context,
                       multi_hot_side_features=list(side.multi_hot))  # fmt: skip
    return model.eval(), context


@pytest.mark.parametrize(("family", "scheme"), SCHEMES, ids=[f"{f}-{s}" for f, s in SCHEMES])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_context_features_stay_visible_at_hidden_and_target_positions(shop, family, scheme, mode):
    rows, side = shop
    model, context = _context_model(side, family, scheme)
    batch = model.data_collator(mode)(rows)
    real = batch["attention_mask"].bool()
    targets = batch["labels"] != -100
    hidden = batch["mask_positions"]
    assert targets.any() and ((mode == "train" and scheme == "clm") or (hidden & targets).any())
    for column in side.features.columns:
        original = torch.zeros_like(batch[column.name])
        for b, row in enumerate(rows):
            values = row[column.name][-original.shape[1] :]
            original[b, : len(values)] = torch.tensor(values, dtype=original.dtype)
        if column.name in context:
            assert torch.equal(batch[column.name], original), column.name  # targets and hidden ones included
        else:
            assert (batch[column.name][batch["mask_positions"]] == 0).all(), column.name
            assert torch.equal(
                batch[column.name][real & ~batch["mask_positions"]], original[real & ~batch["mask_positions"]]
            )
    if scheme == "rtd" and mode == "train":  # the discriminator reads the same user attributes as the generator
        for name in context:
            assert torch.equal(batch["unmasked_side_features"][name], batch[name])


@pytest.mark.parametrize(("family", "scheme"), SCHEMES, ids=[f"{f}-{s}" for f, s in SCHEMES])
def test_with_context_features_the_targets_item_features_still_change_nothing(shop, family, scheme):
    rows, side = shop
    model, context = _context_model(side, family, scheme)
    evaluation = model.data_collator("eval")
    with torch.no_grad():
        before = model(**evaluation(rows)).logits
        for column in side.features.columns:
            if column.name in context:  # one value per row: changed at the target alone it is refused
                with pytest.raises(ValueError, match=f"context feature '{column.name}' changes along row"):
                    evaluation(_changed(rows, column, lambda n: [n - 1]))
                everywhere = model(**evaluation(_changed(rows, column, range))).logits
                assert not torch.allclose(everywhere, before), f"{column.name} (user) is not read"
                continue
            changed = model(**evaluation(_changed(rows, column, lambda n: [n - 1]))).logits
            torch.testing.assert_close(changed, before, rtol=0, atol=0, msg=column.name)
            visible = model(**evaluation(_changed(rows, column, lambda n: [0]))).logits
            assert not torch.allclose(visible, before), f"{column.name} ({column.source}) is not read"


@pytest.mark.parametrize(("family", "scheme"), SCHEMES, ids=[f"{f}-{s}" for f, s in SCHEMES])
def test_predict_with_context_features_scores_what_evaluation_scored(shop, family, scheme):
    rows, side = shop
    model, context = _context_model(side, family, scheme)
    histories = [{key: values[:-1] for key, values in row.items()} for row in rows]
    evaluated = model.score_batch(model.data_collator("eval")(rows))  # (B, V)
    predict = model.data_collator("predict")(histories)
    if model.data_collator("predict").predict_slot:  # the slot holds the user's attributes, not the pad value
        slot = predict["attention_mask"].sum(dim=1) - 1
        for name in context:
            assert torch.equal(
                predict[name][torch.arange(len(rows)), slot], predict[name][torch.arange(len(rows)), slot - 1]
            )
    torch.testing.assert_close(model.score_batch(predict), evaluated, rtol=1e-5, atol=1e-5)
    top = model.recommend(histories[:3], k=5, exclude_seen=False)
    for b, pairs in enumerate(top):
        for item, score in pairs:
            torch.testing.assert_close(score, evaluated[b, item].item(), rtol=1e-5, atol=1e-5)


def test_context_options_are_checked_naming_the_option_and_the_bad_key():
    with pytest.raises(ValueError, match=r"Invalid context_feature_keys entry 'age'; must be one of side_feature_keys"):
        collator("mlm", side_feature_keys=("genre",), context_feature_keys=("age",))
    with pytest.raises(TypeError, match=r"Invalid context_feature_keys='genre'"):
        collator("mlm", side_feature_keys=("genre",), context_feature_keys="genre")
    with pytest.raises(ValueError, match=r"Invalid context_feature_keys=\('genre', 'genre'\); names repeat"):
        collator("mlm", side_feature_keys=("genre",), context_feature_keys=("genre", "genre"))
    with pytest.raises(ValueError, match=r"Invalid context_side_features entry 'age'; must be one of side_features"):
        tiny_model("bert", "mlm", side_features={"genre": 4}, context_side_features=["age"])
    model = tiny_model("bert", "mlm", side_features={"genre": 4, "age": 3}, context_side_features=["age"])
    with pytest.raises(ValueError, match=r"collator option 'context_feature_keys' is part of the model's masking spec"):
        model.data_collator("eval", context_feature_keys=())


@pytest.mark.parametrize("mode", ["train", "eval", "predict"])
def test_a_context_feature_that_changes_along_a_row_is_refused_naming_it(mode):
    """A value per interaction shown at a hidden target would leak it (and predict would differ)."""
    collate = collator("mlm", side_feature_keys=("device",), context_feature_keys=("device",), mode=mode)
    rows = [{"input_ids": [5, 6], "device": [3, 3]}, {"input_ids": [5, 6, 7], "device": [1, 1, 2]}]
    with pytest.raises(ValueError, match=r"context feature 'device' changes along row 1 of the batch \(\[1, 1, 2\]\)"):
        collate(rows)
    collate(rows[:1])  # one value per row: accepted


def test_a_config_saved_before_context_features_hides_every_feature(tmp_path):
    model = tiny_model("bert", "mlm", side_features={"genre": 4, "age": 3}, context_side_features=["age"])
    model.save_pretrained(tmp_path)
    assert SeqRecConfig.from_pretrained(tmp_path).context_side_features == ["age"]
    old = model.config.to_dict()
    del old["context_side_features"]
    config = SeqRecConfig.from_dict(old)
    assert config.context_side_features == [] and spec.collator_from_config(config).context_feature_keys == ()
