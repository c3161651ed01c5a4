"""The main job: train a next-item recommender with one scheme, evaluate, recommend.

Run (also as ``hf-seqmask-train``):
    python examples/train.py                                   # BERT + mlm on ML-100K, a few minutes on 2 cores
    python examples/train.py --scheme clm --model gpt2 --dataset ml-1m --bf16 --dataloader_num_workers 2
    python examples/train.py --dataset "clicks/*.parquet" --user-column visitor --item-column sku
    python examples/train.py job.yaml --learning_rate 1e-3     # a JSON/YAML file of flags, then overrides

Flags: the data, model and masking options below, plus every ``transformers.TrainingArguments``
flag (``--bf16``, ``--dataloader_num_workers``, ``--report_to``, ``--save_strategy``,
``--resume_from_checkpoint``, ``--eval_strategy``, ...) with this job's defaults; ``--help`` lists them.

Protocol: leave-one-out per user (last item = test, second-to-last = validation), or with
``--session-column`` sessions split by time (the sessions that end last are the test split); every
item ranked (reserved ids excluded), Recall@10 / NDCG@10 / MRR@10 with the items already in the
history excluded (the headline) and included, next to a popularity baseline computed the same way.
The model's metrics come from ``trainer.evaluate`` (sharded over ranks). Writes ``metrics.json``,
``curves.png`` (with the ``plots`` extra) and the saved model (masking spec and item vocabulary
included) into ``--output-dir``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import datasets
import torch
from transformers import (
    BertConfig,
    EarlyStoppingCallback,
    ElectraConfig,
    GPT2Config,
    HfArgumentParser,
    PretrainedConfig,
    TrainerCallback,
    TrainingArguments,
    XLNetConfig,
)
from transformers.utils import logging as transformers_logging

from . import SeqRecConfig, SeqRecModel, SeqRecTrainer
from .data import (
    ML_1M_MIN_ITEM_RATINGS,
    ItemVocabulary,
    MovieLens,
    SideFeatureSpec,
    add_side_features,
    encode_sequences,
    group_into_sequences,
    keep_known_items,
    leave_one_out,
    load_interactions,
    load_movielens,
    parse_side_features,
    time_split,
)
from .metrics import WITH_HISTORY, evaluate_ranking, popularity_scorer
from .spec import SUPPORTED_PAIRS

FAMILIES = tuple(SUPPORTED_PAIRS)
MOVIELENS = ("ml-100k", "ml-1m")
METRICS = ("ndcg", "recall", "mrr")


@dataclass
class DataArguments:
    dataset: str = field(
        default="ml-100k",
        metadata={
            "help": "ml-100k, ml-1m, a GroupLens u.data / ratings.dat, or your interactions: CSV/TSV, Parquet or "
            "JSON-lines file(s), comma-separated or a glob"
        },
    )
    user_column: str = field(default="user_id", metadata={"help": "your data: the user column"})
    item_column: str = field(default="item_id", metadata={"help": "your data: the item column"})
    time_column: str = field(default="timestamp", metadata={"help": "your data: the time column (orders each history)"})
    session_column: str | None = field(
        default=None, metadata={"help": "your data: train on sessions instead of user histories, split by time"}
    )
    session_test_fraction: float = field(
        default=0.1, metadata={"help": "sessions: share of sessions (those ending last) in the test split"}
    )
    session_validation_fraction: float = field(
        default=0.1, metadata={"help": "sessions: share of sessions (ending just before those) in validation"}
    )
    min_item_ratings: int | None = field(
        default=None, metadata={"help": "keep items with at least this many interactions (default 5 on ML-1M, else 1)"}
    )
    cache_dir: str | None = field(default=None, metadata={"help": "where the MovieLens wheel is kept"})
    side_features: str = field(
        default="",
        metadata={
            "help": "MovieLens: comma-separated side features of each interaction, from genre, year, age, gender, "
            "occupation, hour, time_gap (hf_seqmask.data.side_features); hidden with their item when it is masked"
        },
    )


@dataclass
class ModelArguments:
    scheme: Literal["clm", "mlm", "plm", "rtd"] = "mlm"
    model: Literal["gpt2", "bert", "xlnet", "electra"] = "bert"
    hidden_size: int = 64
    layers: int = 2
    heads: int = 2
    dropout: float = 0.1
    loss: Literal["full", "sampled_softmax", "bce", "gbce"] = "full"
    num_negatives: int = field(default=0, metadata={"help": "negatives per batch for the sampled losses"})
    gbce_t: float = field(default=0.75, metadata={"help": "gBCE calibration t"})
    generator_loss_weight: float = field(default=1.0, metadata={"help": "rtd: weight of the masked-LM (item) loss"})
    discriminator_loss_weight: float = field(
        default=50.0, metadata={"help": "rtd: weight of the replaced-or-original loss (ELECTRA's 50)"}
    )
    generator_hidden_size: int = field(
        default=0,
        metadata={
            "help": "rtd: 0 = the main network is its own generator (Transformers4Rec); N = a separate, smaller "
            "generator of width N (ELECTRA), same family and depth"
        },
    )
    replacements_from_batch: bool = field(
        default=False, metadata={"help": "rtd: draw replacements among the batch's targets, not the whole catalogue"}
    )


@dataclass
class MaskingArguments:
    max_length: int = field(default=100, metadata={"help": "the model's max_seq_length: most recent items kept"})
    mlm_probability: float = 0.2
    mask_last_item_prob: float = field(
        default=0.0, metadata={"help": "mlm/rtd: chance of a row to have only its last item masked"}
    )


@dataclass
class JobArguments:
    validate_every: int = field(
        default=0,
        metadata={
            "help": "evaluate NDCG@10 on the validation split every N epochs, keep the best checkpoint and stop "
            "after --patience evaluations without improvement (transformers' EarlyStoppingCallback); 0: never"
        },
    )
    patience: int = field(default=3, metadata={"help": "validations without improvement before stopping (0: never)"})
    max_minutes: float = field(
        default=0,
        metadata={
            "help": "stop training after this many minutes (the best validation checkpoint, if any, is still "
            "restored and tested); 0: no limit"
        },
    )
    threads: int | None = field(default=None, metadata={"help": "torch intra-op threads (default: torch's)"})
    quiet: bool = field(default=False, metadata={"help": "no progress bars"})


@dataclass
class JobTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with this job's defaults (every Trainer flag still works)."""

    output_dir: str = field(default="out/train", metadata={"help": "metrics.json, curves.png, model/, checkpoints"})
    num_train_epochs: float = field(default=60, metadata={"aliases": ["--epochs"]})
    per_device_train_batch_size: int = field(default=64, metadata={"aliases": ["--batch-size"]})
    per_device_eval_batch_size: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: float = 0.05
    logging_steps: float = 0.1
    save_strategy: str = "no"
    log_level: str = "warning"
    seed: int = 0


DATACLASSES = (DataArguments, ModelArguments, MaskingArguments, JobArguments, JobTrainingArguments)


def parse_args(argv: list[str] | None = None) -> Job:
    """The job's options from the command line: flags, or a JSON/YAML file of them first, then flags.

    Errors (an unsupported pair, a sampled loss without negatives, ...) exit with the flag named.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(cast(Any, DATACLASSES), description=(__doc__ or "").splitlines()[0])
    if argv and argv[0].endswith((".json", ".yaml", ".yml")):
        argv = _flags_from_file(parser, Path(argv[0])) + argv[1:]
    if not torch.cuda.is_available() and not any(flag in ("--use_cpu", "--use-cpu") for flag in argv):
        # Without a GPU the job runs on the CPU; said here, before TrainingArguments checks flags like --bf16.
        argv.append("--use_cpu")
    data, model, masking, job, training = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    if model.loss != "full" and model.num_negatives < 1:
        parser.error(f"--loss {model.loss} needs --num-negatives >= 1, got {model.num_negatives}")
    if masking.mask_last_item_prob and model.scheme not in ("mlm", "rtd"):
        parser.error(f"--mask-last-item-prob is for --scheme mlm|rtd, not {model.scheme}")
    rtd_flags = {
        "--generator-hidden-size": model.generator_hidden_size,
        "--replacements-from-batch": model.replacements_from_batch,
    }
    for flag, value in rtd_flags.items():
        if value and model.scheme != "rtd":
            parser.error(f"{flag} is for --scheme rtd, not {model.scheme}")
    if model.generator_hidden_size < 0 or (model.generator_hidden_size and model.generator_hidden_size % model.heads):
        parser.error(
            f"--generator-hidden-size must be 0 or a multiple of --heads ({model.heads}), "
            f"got {model.generator_hidden_size}"
        )
    for name in ("generator_loss_weight", "discriminator_loss_weight"):
        if not getattr(model, name) >= 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0, got {getattr(model, name)}")
    if not job.max_minutes >= 0:  # NaN too
        parser.error(f"--max-minutes must be >= 0 (0: no limit), got {job.max_minutes}")
    if model.scheme not in SUPPORTED_PAIRS[model.model]:
        supported = "|".join(SUPPORTED_PAIRS[model.model])
        parser.error(f"--model {model.model} supports --scheme {supported}, not {model.scheme}")
    return Job(data, model, masking, job, training)


def _flags_from_file(parser: HfArgumentParser, path: Path) -> list[str]:
    """A JSON/YAML file of ``{option: value}`` as flags (later flags on the command line win)."""
    if not path.is_file():
        parser.error(f"config file {str(path)!r} does not exist")
    if path.suffix == ".json":
        options = json.loads(path.read_text())
    else:
        import yaml

        options = yaml.safe_load(path.read_text())
    if not isinstance(options, dict):
        parser.error(f"config file {str(path)!r} must hold a mapping of option: value")
    flags: list[str] = []
    for key, value in options.items():
        values = value if isinstance(value, list) else [value]
        flags += [f"--{key}", *(str(v) for v in values)]
    return flags


@dataclass
class Job:
    """The parsed options; attribute access reaches every group (``job.scheme``, ``job.max_length``, ...)."""

    data_args: DataArguments
    model_args: ModelArguments
    masking_args: MaskingArguments
    job_args: JobArguments
    training: JobTrainingArguments

    def __getattr__(self, name: str) -> Any:
        for group in ("data_args", "model_args", "masking_args", "job_args"):
            values = self.__dict__.get(group)
            if values is not None and hasattr(values, name):
                return getattr(values, name)
        raise AttributeError(name)

    @classmethod
    def from_summary(cls, arguments: dict[str, Any]) -> Job:
        """The options of a finished run from its metrics.json ``arguments`` (older runs: today's
        defaults for what they lack)."""
        job = parse_args([])
        renamed = {"epochs": "num_train_epochs", "batch_size": "per_device_train_batch_size"}
        for key, value in arguments.items():
            for group in (job.data_args, job.model_args, job.masking_args, job.job_args, job.training):
                name = renamed.get(key, key) if group is job.training else key
                if name in group.__dataclass_fields__:
                    setattr(group, name, value)
                    break
        return job

    def summary(self) -> dict[str, Any]:
        """The options as recorded in metrics.json (the groups flattened, the main Trainer flags named)."""
        training = self.training
        return {
            **asdict(self.data_args),
            **asdict(self.model_args),
            **asdict(self.masking_args),
            **asdict(self.job_args),
            "epochs": training.num_train_epochs,
            "max_steps": training.max_steps,
            "batch_size": training.per_device_train_batch_size,
            "learning_rate": training.learning_rate,
            "seed": training.seed,
            "output_dir": training.output_dir,
        }


# -------------------------------------------------------------------------------------------- data
def load_data(args: Job) -> tuple[datasets.DatasetDict, ItemVocabulary, dict, str, SideFeatureSpec]:
    """Interactions -> vocabulary (min count per item) -> sequences (+ side features) -> splits, a
    one-line description and the side features' spec.

    MovieLens (by name or GroupLens file) or your own files; user histories split leave-one-out, or
    sessions (``--session-column``) split by the time they end. Side features (``--side-features``)
    come from MovieLens' item and user files and the timestamps, one column each beside ``input_ids``.
    """
    name, item_names = args.dataset, {}
    side_names = parse_side_features(args.side_features)
    movielens: MovieLens | None = None
    columns = [args.user_column, args.item_column, args.time_column]
    if name in MOVIELENS or Path(name).name in ("u.data", "ratings.dat"):
        path = None if name in MOVIELENS else Path(name)
        if path is not None:
            name = "ml-1m" if path.name == "ratings.dat" else "ml-100k"
        movielens = load_movielens(name, path=path, cache_dir=args.cache_dir)
        interactions, item_names = movielens.interactions, movielens.item_names
        user, item, when = "user_id", "item_id", "timestamp"
        min_count = args.min_item_ratings or (ML_1M_MIN_ITEM_RATINGS if name == "ml-1m" else 1)
    else:
        if side_names:
            raise ValueError(
                f"--side-features={args.side_features} is built from MovieLens' item and user files; "
                f"{name} is not MovieLens"
            )
        if args.session_column:
            columns.append(args.session_column)
        interactions = load_interactions(name, columns=list(dict.fromkeys(columns)))
        user, item, when = args.user_column, args.item_column, args.time_column
        min_count = args.min_item_ratings or 1
    vocabulary = ItemVocabulary.from_interactions(interactions, item_column=item, min_frequency=min_count)
    if len(vocabulary) == 0:
        raise ValueError(f"{name}: no item has >= {min_count} interactions (column {item!r}); lower --min-item-ratings")
    interactions = keep_known_items(interactions, vocabulary, item_column=item)
    group = args.session_column if args.session_column and name not in MOVIELENS else user
    sequences = group_into_sequences(interactions, user_column=group, item_column=item, time_column=when)
    sequences = encode_sequences(sequences, vocabulary, item_column=item)
    side_spec = SideFeatureSpec()
    if side_names and movielens is not None:
        sequences, side_spec = add_side_features(
            sequences, side_names, items=movielens.items, users=movielens.users, item_column=item, user_column=user,
            time_column=when,
        )  # fmt: skip
    unit = "sessions" if group != user else "users"
    description = (
        f"{Path(name).name if name not in MOVIELENS else name}: {len(sequences):,} {unit}, {len(vocabulary):,} items, "
        f"{len(interactions):,} interactions (items with >= {min_count} ratings; "
        f"{vocabulary.num_dropped_items:,} items dropped)"
    )
    sequences = sequences.rename_column(group, "user_id") if group != "user_id" else sequences
    if unit == "sessions":
        splits = _split_sessions_by_time(sequences, when, args.session_validation_fraction, args.session_test_fraction)
    else:
        splits = leave_one_out(sequences.select_columns(["user_id", "input_ids", *side_names]))
    return splits, vocabulary, item_names, description, side_spec


def _split_sessions_by_time(
    sequences: datasets.Dataset, time_column: str, validation_fraction: float, test_fraction: float
) -> datasets.DatasetDict:
    """Sessions by the time they end: the last ``test_fraction`` are the test split, the
    ``validation_fraction`` before them validation, the rest training (no training session reaches
    into the evaluation period)."""
    ends = sorted(times[-1] for times in sequences[time_column])
    count = len(ends)
    test_start = ends[min(count - 1, math.floor(count * (1 - test_fraction)))]
    validation_start = ends[min(count - 1, math.floor(count * (1 - test_fraction - validation_fraction)))]
    splits = time_split(
        sequences, time_column=time_column, validation_start=validation_start, test_start=test_start
    ).select_columns(["user_id", "input_ids"])
    for split, rows in splits.items():
        if len(rows) == 0:
            raise ValueError(
                f"the {split} split holds no session (session fractions validation={validation_fraction}, "
                f"test={test_fraction} of {count} sessions)"
            )
    return splits


# ------------------------------------------------------------------------------------------- model
def backbone_config(args: Job, vocab_size: int, hidden_size: int | None = None) -> PretrainedConfig:
    """The HF backbone's config from the job's flags (``hidden_size``: another width, for rtd's generator)."""
    width: Any = hidden_size or args.hidden_size
    positions = args.max_length  # predict keeps max_length - 1 items + the slot: no position goes untrained
    common: dict[str, Any] = dict(vocab_size=vocab_size, pad_token_id=ItemVocabulary.pad_token_id)
    if args.model == "gpt2":
        return GPT2Config(
            n_positions=positions, n_embd=width, n_layer=args.layers, n_head=args.heads,
            resid_pdrop=args.dropout, embd_pdrop=args.dropout, attn_pdrop=args.dropout,
            bos_token_id=None, eos_token_id=None, **common,
        )  # fmt: skip
    if args.model == "xlnet":
        return XLNetConfig(
            d_model=width, n_layer=args.layers, n_head=args.heads, d_inner=4 * width,
            dropout=args.dropout, bos_token_id=None, eos_token_id=None, **common,
        )  # fmt: skip
    config_class = BertConfig if args.model == "bert" else ElectraConfig
    extra = {"embedding_size": width} if args.model == "electra" else {}
    return config_class(
        hidden_size=width, num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=4 * width, max_position_embeddings=positions,
        hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout, **extra, **common,
    )  # fmt: skip


def model_config(args: Job, vocab_size: int, side_features: SideFeatureSpec | None = None) -> SeqRecConfig:
    """The model and its masking spec (the collators are built from it: ``model.data_collator``)."""
    masking: dict[str, Any] = {}
    if args.scheme in ("mlm", "rtd"):
        masking.update(mlm_probability=args.mlm_probability, mask_last_item_prob=args.mask_last_item_prob)
    if args.num_negatives:
        masking["num_negatives"] = args.num_negatives
    rtd: dict[str, Any] = {}
    if args.scheme == "rtd":
        rtd.update(
            generator_loss_weight=args.generator_loss_weight, discriminator_loss_weight=args.discriminator_loss_weight
        )
        if args.generator_hidden_size:
            rtd.update(
                tie_generator=False, generator_config=backbone_config(args, vocab_size, args.generator_hidden_size)
            )
        if args.replacements_from_batch:
            masking["sample_from_batch"] = True
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
        **rtd,
    )


def training_arguments(args: Job, train_rows: int) -> TrainingArguments:
    """The Trainer's arguments: the user's, plus validation every ``--validate-every`` epochs with the
    best checkpoint kept (``metric_for_best_model="eval_ndcg@10"``) when asked for."""
    training = args.training
    changes: dict[str, Any] = {}
    if args.quiet:
        changes["disable_tqdm"] = True
    if args.side_features:  # forward takes side features as **kwargs, which the Trainer cannot see
        changes["remove_unused_columns"] = False
    if args.validate_every:
        batches = -(-train_rows // (training.per_device_train_batch_size * max(training.world_size, 1)))
        updates_per_epoch = max(-(-batches // training.gradient_accumulation_steps), 1)
        every = args.validate_every * updates_per_epoch
        changes.update(
            eval_strategy="steps", eval_steps=every, save_strategy="steps", save_steps=every, save_total_limit=2,
            load_best_model_at_end=True, metric_for_best_model="eval_ndcg@10", greater_is_better=True,
        )  # fmt: skip
    if not changes:
        return training
    values = {f.name: getattr(training, f.name) for f in training.__dataclass_fields__.values() if f.init}
    return TrainingArguments(**{**_as_init_values(values), **changes})


def _as_init_values(values: dict[str, Any]) -> dict[str, Any]:
    """TrainingArguments' fields as its ``__init__`` takes them back (enums to their values)."""
    return {
        k: (v.value if hasattr(v, "value") and not isinstance(v, (int, float, str)) else v) for k, v in values.items()
    }


class ValidationReport(TrainerCallback):
    """Prints each validation NDCG@10 on rank 0 and keeps the records for metrics.json."""

    def __init__(self, updates_per_epoch: int, show: bool) -> None:
        self.updates_per_epoch, self.show = updates_per_epoch, show
        self.history: list[dict[str, Any]] = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not metrics or "eval_ndcg@10" not in metrics:
            return control
        epoch = round(state.global_step / self.updates_per_epoch, 2)
        record = {"epoch": epoch, "step": state.global_step}
        record.update({key.removeprefix("eval_"): value for key, value in metrics.items() if "@" in key})
        self.history.append(record)
        if self.show:
            print(f"validation, epoch {epoch:g}: ndcg@10 {record['ndcg@10']:.4f}")
        return control


class TimeLimit(TrainerCallback):
    """Stops training once ``minutes`` have passed since it began (checked every ``check_every`` updates).

    Under a multi-process launch rank 0's clock decides and is broadcast, so every rank stops at the
    same update (ranks that stopped apart would wait on each other's gradients forever).
    """

    def __init__(self, minutes: float, check_every: int = 10) -> None:
        if not minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {minutes!r}")
        self.seconds, self.check_every = minutes * 60, check_every
        self.started = time.monotonic()
        self.stopped_at_step: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.check_every:
            return control
        decision = [time.monotonic() - self.started > self.seconds]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast_object_list(decision, src=0)
        if decision[0]:
            control.should_training_stop = True
            self.stopped_at_step = state.global_step
        return control


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.time()
    if args.quiet:
        datasets.disable_progress_bars()
        transformers_logging.disable_progress_bar()
    # A process of a multi-process launch prints only on rank 0 (the Trainer reads the same variable).
    show = int(os.environ.get("RANK", "0") or 0) == 0
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.training.seed)
    try:
        splits, vocabulary, item_names, description, side_spec = load_data(args)
    except (FileNotFoundError, ValueError) as error:  # bad data: the error names the file and column
        raise SystemExit(f"error: {error}") from None
    if show:
        print(description)
    model = SeqRecModel(model_config(args, vocabulary.vocab_size, side_spec))
    model_columns = model_input_columns(model)
    model.set_vocabulary(vocabulary)
    training = training_arguments(args, len(splits["train"]))
    output_dir = Path(training.output_dir or "out/train")
    callbacks: list[TrainerCallback] = []
    updates_per_epoch = max(-(-len(splits["train"]) // (training.per_device_train_batch_size * training.world_size)), 1)
    report = ValidationReport(updates_per_epoch, show)
    callbacks.append(report)
    if args.validate_every and args.patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=args.patience))
    time_limit = TimeLimit(args.max_minutes) if args.max_minutes else None
    if time_limit:
        callbacks.append(time_limit)
    trainer = SeqRecTrainer(
        model=model,
        args=training,
        train_dataset=splits["train"].select_columns(model_columns),
        eval_dataset=splits["validation"].select_columns(model_columns),
        data_collator=model.data_collator("train"),
        eval_data_collator=model.data_collator("eval"),
        callbacks=callbacks,
    )
    resume: str | bool | None = training.resume_from_checkpoint
    if resume in ("true", "True", "last"):
        resume = True
    trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.time() - started
    trainer.remove_callback(EarlyStoppingCallback)  # it watches validation only
    # Every rank evaluates its shard of the test users (the Trainer gathers them: each user once).
    test_metrics = trainer.evaluate(splits["test"].select_columns(model_columns), metric_key_prefix="test")
    if not trainer.is_world_process_zero():
        return {}
    rows = evaluate_test(model, splits, test_metrics)
    print(format_table(rows))

    model.save_pretrained(output_dir / "model")  # with its masking spec and item vocabulary
    best = max(report.history, key=lambda r: r["ndcg@10"]) if report.history else None
    summary = {
        "data": description,
        "arguments": args.summary(),
        "train_seconds": round(train_seconds, 1),
        "world_size": trainer.args.world_size,
        "device": torch.cuda.get_device_name(trainer.args.device) if trainer.args.device.type == "cuda" else "cpu",
        "epochs_trained": round(trainer.state.epoch or 0, 2),
        "stopped_by": _stop_reason(trainer, time_limit),
        "validation": {"history": report.history, "best": best} if report.history else None,
        "test": rows,
        "log_history": trainer.state.log_history,  # what curves.png shows
    }
    (output_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    print(f"saved the model to {output_dir / 'model'} and the metrics to {output_dir / 'metrics.json'}")
    from .plots import plot_training_curves

    if plot_training_curves(trainer.state.log_history, output_dir / "curves.png", title=description):
        print(f"the loss and validation curves are in {output_dir / 'curves.png'}")
    print_recommendations(model, splits["test"][0], item_names)
    return summary


def _stop_reason(trainer: SeqRecTrainer, time_limit: TimeLimit | None) -> str:
    """Why training ended: the epochs ran out, early stopping, or the time limit."""
    if time_limit and time_limit.stopped_at_step == trainer.state.global_step:
        return "time limit"
    if trainer.state.global_step < trainer.state.max_steps:
        return "early stopping"
    return "schedule"


def format_table(rows: list[dict[str, Any]], ks: tuple[int, ...] = (10,)) -> str:
    columns = ["scheme", "model", "history", *[f"{m}@{k}" for k in ks for m in ("ndcg", "recall", "mrr")]]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row[c]) if isinstance(row[c], str) else f"{row[c]:.4f}" for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@torch.no_grad()
def evaluate_test(
    model: SeqRecModel, splits: datasets.DatasetDict, test_metrics: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """The test rows of the table: the model and the popularity baseline, history excluded and included.

    The model's rows come from ``trainer.evaluate``'s ``test_metrics`` (sharded over ranks) when given,
    else from scoring each test row here through the model's eval-mode collator, on its device.
    """
    evaluation = model.data_collator("eval")
    exclude_ids = model.reserved_ids.tolist()
    popularity = popularity_scorer(splits["train"]["input_ids"], model.config.backbone_config.vocab_size)
    test = splits["test"].select_columns(model_input_columns(model))
    scheme, family = model.config.scheme, model.config.backbone_config.model_type
    rows = []
    for history, suffix in (("excluded", ""), ("included", WITH_HISTORY)):
        exclude = history == "excluded"
        if test_metrics is None:
            ours = evaluate_ranking(
                model.score_batch, test, evaluation, exclude_ids=exclude_ids, exclude_history=exclude
            )
        else:
            ours = {"rows": test_metrics["test_rows"], "rows_without_target": test_metrics["test_rows_without_target"]}
            ours.update({f"{m}@10": test_metrics[f"test_{m}@10{suffix}"] for m in METRICS})
        baseline = evaluate_ranking(popularity, test, evaluation, exclude_ids=exclude_ids, exclude_history=exclude)
        rows.append({"scheme": scheme, "model": family, "history": history, **ours})
        rows.append({"scheme": "-", "model": "popularity", "history": history, **baseline})
    return rows


def model_input_columns(model: SeqRecModel) -> list[str]:
    """The dataset columns the model's collators read: the items and the configured side features."""
    return ["input_ids", *model.config.side_features]


def print_recommendations(model: SeqRecModel, example: dict[str, Any], item_names: dict) -> None:
    """Top-10 next items for one user, through ``model.recommend`` (the whole history as input; the
    model reads its ``max_seq_length - 1`` most recent items; every seen item excluded)."""
    if model.vocabulary is None:
        raise ValueError("the model has no vocabulary to name its recommendations (model.set_vocabulary)")
    history = model.vocabulary.decode(example["input_ids"])
    side = {name: example[name] for name in model.config.side_features}  # beside each item of the history
    recommendations = model.recommend([{"input_ids": history, **side}], k=10)[0]
    print(f"user {example['user_id']}: last watched {', '.join(str(item_names.get(i, i)) for i in history[-3:])}")
    for rank, (item, _) in enumerate(recommendations, start=1):
        print(f"{rank:>3}. {item_names.get(item, item)}")


if __name__ == "__main__":
    main()
