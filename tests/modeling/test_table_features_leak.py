"""Leak tests of the general side features (issue 25): for every feature kind and source of the
synthetic shop (categorical, multi-valued, continuous; item table, user table, interaction columns,
time) through one family per scheme, changing the target's features changes nothing the model
predicts for it, while changing them at a visible position changes the prediction (the feature is
read, so the test can fail). User attributes are visible at every position but the hidden one."""

import pytest
import torch

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
        feature_kinds="tags=multi",
    )  # fmt: skip
    splits, _, _, _, side = load_data(args)
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
    assert {k for k, _ in kinds} == {"categorical", "multi", "continuous"}
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
