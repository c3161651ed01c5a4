"""From the job's options to what the library takes: the HF backbone's config, the ``SeqRecConfig``
(masking spec included) and the Trainer's arguments."""

from __future__ import annotations

from typing import Any

from transformers import BertConfig, ElectraConfig, GPT2Config, PretrainedConfig, TrainingArguments, XLNetConfig

from .. import SeqRecConfig
from ..data import ItemVocabulary, SideFeatureSpec
from ..resume import updates_per_epoch
from .arguments import Job


def backbone_config(args: Job, vocab_size: int, hidden_size: int | None = None) -> PretrainedConfig:
    """The HF backbone's config from the job's flags (``hidden_size``: another width, for rtd's generator)."""
    width = hidden_size or args.hidden_size
    positions = args.max_length  # predict keeps max_length - 1 items + the slot: no position goes untrained
    common: dict[str, Any] = dict(vocab_size=vocab_size, pad_token_id=ItemVocabulary.pad_token_id)
    attention = args.dropout if args.attention_dropout is None else args.attention_dropout
    if args.model == "gpt2":
        return GPT2Config(
            n_positions=positions, n_embd=width, n_layer=args.layers, n_head=args.heads,
            resid_pdrop=args.dropout, embd_pdrop=args.dropout, attn_pdrop=attention,
            bos_token_id=None, eos_token_id=None, **common,
        )  # fmt: skip
    if args.model == "xlnet":
        return XLNetConfig(
            d_model=width, n_layer=args.layers, n_head=args.heads, d_inner=4 * width,
            dropout=args.dropout, bos_token_id=None, eos_token_id=None, **common,
        )  # fmt: skip
    config_class = BertConfig if args.model == "bert" else ElectraConfig
    extra: dict[str, Any] = {"embedding_size": width} if args.model == "electra" else {}
    return config_class(
        hidden_size=width, num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=4 * width, max_position_embeddings=positions,
        hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=attention, **extra, **common,
    )  # fmt: skip


def model_config(args: Job, vocab_size: int, side_features: SideFeatureSpec | None = None) -> SeqRecConfig:
    """The model and its masking spec (the collators are built from it: ``model.data_collator``)."""
    masking: dict[str, Any] = {}
    if args.scheme in ("mlm", "rtd"):
        masking.update(mlm_probability=args.mlm_probability, mask_last_item_prob=args.mask_last_item_prob)
    if args.num_negatives:
        masking["num_negatives"] = args.num_negatives
    if args.train_window != "recent":  # saved configs of the default stay as they were
        masking["train_window"] = args.train_window
    rtd: dict[str, Any] = {}
    if args.scheme == "rtd":
        rtd.update(
            generator_loss_weight=args.generator_loss_weight, discriminator_loss_weight=args.discriminator_loss_weight
        )
        if args.generator_hidden_size:
            rtd.update(
                tie_generator=False, generator_config=backbone_config(args, vocab_size, args.generator_hidden_size)
            )
        masking["sample_from_batch"] = args.replacements_from_batch
    return SeqRecConfig(
        backbone_config=backbone_config(args, vocab_size),
        scheme=args.scheme,
        pad_token_id=ItemVocabulary.pad_token_id,
        mask_token_id=ItemVocabulary.mask_token_id,
        max_seq_length=args.max_length,
        masking=masking,
        seed=args.training.seed,
        loss=args.loss,
        gbce_t=args.gbce_t,
        side_features=dict(side_features.cardinalities) if side_features else None,
        multi_hot_side_features=side_features.multi_hot if side_features else (),
        context_side_features=side_features.context if side_features else (),
        side_feature_combiner=args.side_feature_combiner,
        fused_loss=args.fused_loss,
        attention_dropout_unit=args.attention_dropout_unit,
        last_layer_at_scored_positions=args.last_layer_at_scored_positions,
        **rtd,
    )


def training_arguments(args: Job, train_rows: int) -> TrainingArguments:
    """The Trainer's arguments: the user's, plus validation every ``--validate-every`` epochs with the
    best checkpoint kept (``metric_for_best_model="eval_ndcg@10"``) when asked for."""
    training = args.training
    changes: dict[str, Any] = {}
    if args.quiet:
        changes["disable_tqdm"] = True
    # forward takes side features as **kwargs, which the Trainer cannot see
    if args.side_features or args.data_args.feature_sources():
        changes["remove_unused_columns"] = False
    if args.validate_every:
        batches = -(-train_rows // (training.per_device_train_batch_size * max(training.world_size, 1)))
        every = args.validate_every * updates_per_epoch(batches, training.gradient_accumulation_steps)
        changes.update(
            eval_strategy="steps", eval_steps=every, save_strategy="steps", save_steps=every, save_total_limit=2,
            load_best_model_at_end=True, metric_for_best_model="eval_ndcg@10", greater_is_better=True,
        )  # fmt: skip
        if args.patience:  # a resumed run goes on counting validations without improvement where it stopped
            changes["restore_callback_states_from_checkpoint"] = True
    if not changes:
        return training
    values = {f.name: getattr(training, f.name) for f in training.__dataclass_fields__.values() if f.init}
    return TrainingArguments(**{**_as_init_values(values), **changes})


def _as_init_values(values: dict[str, Any]) -> dict[str, Any]:
    """TrainingArguments' fields as its ``__init__`` takes them back (enums to their values)."""
    return {
        k: (v.value if hasattr(v, "value") and not isinstance(v, (int, float, str)) else v) for k, v in values.items()
    }
