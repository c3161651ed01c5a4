"""NegativeSampling: the negatives options as one object, the deprecated flat keywords, and both forms
of SeqRecConfig.masking (flat keys of configs saved before it, and the "negatives" dict)."""

import warnings

import pytest
import torch

from hf_seqmask import NegativeSampling, SeqRecConfig, collators, spec

from .._tiny import VOCAB, backbone_config, collator, sessions, tiny_model

FLAT = {
    "num_negatives": 6,
    "negative_sampling": "uniform",
    "shared_negatives": False,
    "exclude_history_from_negatives": True,
}
OBJECT = NegativeSampling(6, shared=False, exclude_history=True)


def test_exported_from_the_package_and_the_collators():
    assert collators.NegativeSampling is NegativeSampling
    assert "NegativeSampling" in collators.__all__


def test_the_object_and_the_flat_keywords_give_the_same_batches():
    with pytest.warns(DeprecationWarning, match=r"the flat negative-sampling keywords .* are deprecated"):
        flat = collator("mlm", **FLAT)
    new = collator("mlm", negatives=OBJECT)
    assert flat.negatives == new.negatives == OBJECT
    assert flat.num_negatives is None and flat.shared_negatives is None  # folded: one source of truth
    old_batch, new_batch = flat(sessions(8)), new(sessions(8))
    assert set(old_batch) == set(new_batch) >= {"negative_ids", "negative_log_q", "target_log_q"}
    for key in old_batch:
        assert torch.equal(old_batch[key], new_batch[key]), key


def test_no_warning_for_the_object_and_with_mode_keeps_it():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train = collator("clm", negatives=NegativeSampling(4))
        evaluation = train.with_mode("eval")
    assert evaluation.negatives == NegativeSampling(4)
    assert "negative_ids" in train(sessions(4)) and "negative_ids" not in evaluation(sessions(4))


def test_popularity_frequencies_travel_in_the_object():
    frequencies = torch.zeros(VOCAB)
    frequencies[7] = 1.0
    negatives = NegativeSampling(50, distribution="popularity", item_frequencies=frequencies)
    batch = collator("clm", negatives=negatives)(sessions(4))
    assert set(batch["negative_ids"].tolist()) == {7}
    assert negatives == NegativeSampling(
        50, distribution="popularity", item_frequencies=torch.ones(VOCAB)
    )  # not compared


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"num_negatives": -1}, ValueError, r"Invalid num_negatives=-1; must be >= 0"),
        ({"num_negatives": 2.0}, TypeError, r"Invalid num_negatives=2.0; must be an int"),
        (
            {"distribution": "zipf"},
            ValueError,
            r"Invalid distribution='zipf'; must be one of \('uniform', 'popularity'\)",
        ),
        ({"distribution": "popularity"}, ValueError, r"distribution='popularity' needs item_frequencies"),
        ({"shared": 1}, TypeError, r"Invalid shared=1; must be a bool"),
        ({"exclude_history": True}, ValueError, r"exclude_history=True needs shared=False"),
    ],
)
def test_the_object_validates_itself_naming_its_fields(options, error, match):
    with pytest.raises(error, match=match):
        NegativeSampling(**options)


def test_the_collator_refuses_both_forms_and_a_wrong_type():
    with pytest.raises(ValueError, match=r"negatives=NegativeSampling\(.*\) and the flat keywords \['num_negatives'\]"):
        collator("clm", negatives=NegativeSampling(2), num_negatives=3)
    with pytest.raises(TypeError, match=r"Invalid negatives=4; must be a NegativeSampling or None"):
        collator("clm", negatives=4)
    with pytest.raises(ValueError, match=r"Invalid item_frequencies of shape \(2,\)"):
        collator("clm", negatives=NegativeSampling(2, distribution="popularity", item_frequencies=[1, 2]))


def _config(masking):
    return SeqRecConfig(backbone_config=backbone_config("gpt2"), scheme="clm", seed=0, masking=masking)


def test_configs_with_the_flat_keys_load_unchanged_and_the_nested_form_is_the_same(tmp_path):
    flat = {"num_negatives": 6, "shared_negatives": False}  # what configs saved before hold (and the main job sets)
    nested = {"negatives": {"num_negatives": 6, "shared": False}}
    expected = NegativeSampling(6, shared=False)
    for masking in (flat, nested):
        model = tiny_model("gpt2", "clm", masking=masking)
        model.save_pretrained(tmp_path / str(len(masking)))
        loaded = type(model).from_pretrained(tmp_path / str(len(masking)))
        assert loaded.config.masking == masking
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # converting a saved config is not deprecated use
            assert loaded.data_collator().negatives == expected
    assert spec.collator_from_config(_config({})).negatives is None


def test_a_config_refuses_an_unsaveable_or_mixed_negatives_entry():
    with pytest.raises(
        TypeError, match=r"Invalid masking\['negatives'\]=NegativeSampling\(.*must be a dict .* e\.g\. \{'num"
    ):
        _config({"negatives": NegativeSampling(4)})
    with pytest.raises(ValueError, match=r"Invalid masking\['negatives'\] key 'item_frequencies'"):
        _config({"negatives": {"num_negatives": 4, "item_frequencies": [1] * VOCAB}})
    with pytest.raises(
        ValueError, match=r"masking holds both 'negatives' and the flat negatives keys \['num_negatives'\]"
    ):
        _config({"negatives": {"num_negatives": 4}, "num_negatives": 4})
    with pytest.raises(ValueError, match=r"Invalid negative_sampling='zipf'"):  # flat keys: errors name them
        _config({"num_negatives": 4, "negative_sampling": "zipf"})


def test_popularity_counts_come_per_run_in_either_form():
    counts = [0] * VOCAB
    counts[9] = 1
    config = _config({"num_negatives": 20, "negative_sampling": "popularity"})
    flat = spec.collator_from_config(config, item_frequencies=counts)
    config.masking = {"negatives": {"num_negatives": 20, "distribution": "popularity"}}
    nested = spec.collator_from_config(config, item_frequencies=counts)
    assert flat.negatives == nested.negatives == NegativeSampling(20, "popularity", item_frequencies=counts)
    assert set(nested(sessions(4))["negative_ids"].tolist()) == {9}
    assert spec.needs_item_frequencies(config.masking)
    assert not spec.needs_item_frequencies({"negatives": {"num_negatives": 3}})


def test_a_config_with_nested_popularity_negatives_builds():
    config = _config({"negatives": {"num_negatives": 20, "distribution": "popularity"}})
    assert spec.collator_from_config(config, item_frequencies=[1] * VOCAB).negatives.distribution == "popularity"
