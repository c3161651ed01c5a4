"""The main job's options: four ``HfArgumentParser`` dataclasses beside ``TrainingArguments``, their
parsing (flags, or a JSON/YAML file of them first) and ``Job``, which holds the parsed groups."""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import torch
from transformers import HfArgumentParser, TrainingArguments

from .._device import cpu_has_native_bf16
from ..data import DataArguments
from ..modeling.configuration import DISCRIMINATOR_LOSS_WEIGHT, REPLACEMENTS_FROM_BATCH
from ..spec import SUPPORTED_PAIRS

DESCRIPTION = "The main job: train a next-item recommender with one scheme, evaluate, recommend."


@dataclass
class ModelArguments:
    scheme: Literal["clm", "mlm", "plm", "rtd"] = "mlm"
    model: Literal["gpt2", "bert", "xlnet", "electra"] = "bert"
    hidden_size: int = 64
    layers: int = 2
    heads: int = 2
    dropout: float = 0.1
    attention_dropout: float | None = field(
        default=None,
        metadata={
            "help": "dropout on the attention weights (GPT-2, BERT, ELECTRA; XLNet has one rate), default: "
            "--dropout. 0 skips the (B, heads, L, L) random masks and lets SDPA use its fused kernel on the CPU"
        },
    )
    attention_dropout_unit: Literal["weight", "key"] = field(
        default="weight",
        metadata={
            "help": "what attention dropout drops: each attention weight (HF's own) or each key's value per "
            "head, for every query (same expectation; SDPA keeps its fused kernel on the CPU; GPT-2, BERT, ELECTRA)"
        },
    )
    loss: Literal["full", "sampled_softmax", "bce", "gbce"] = "full"
    num_negatives: int = field(default=0, metadata={"help": "negatives per batch for the sampled losses"})
    gbce_t: float = field(default=0.75, metadata={"help": "gBCE calibration t"})
    generator_loss_weight: float = field(default=1.0, metadata={"help": "rtd: weight of the masked-LM (item) loss"})
    discriminator_loss_weight: float = field(
        default=DISCRIMINATOR_LOSS_WEIGHT,
        metadata={"help": "rtd: weight of the replaced-or-original loss (ELECTRA's 50 swamps a shared generator)"},
    )
    generator_hidden_size: int = field(
        default=0,
        metadata={
            "help": "rtd: 0 = the main network is its own generator (Transformers4Rec); N = a separate, smaller "
            "generator of width N (ELECTRA), same family and depth"
        },
    )
    replacements_from_batch: bool | None = field(
        default=None,
        metadata={
            "nargs": "?",  # the bare flag means true (as for a plain bool); absent: the scheme's default
            "const": True,
            "help": "rtd: draw replacements among the batch's targets (rtd's default, docs/rtd_ablation.md); "
            "'--replacements-from-batch false': from the whole catalogue",
        },
    )
    fused_loss: bool | None = field(
        default=None,
        metadata={
            "nargs": "?",  # the bare flag means true; absent: on with --loss full
            "const": True,
            "help": "--loss full: the item head and the cross-entropy fused, a block of targets at a time with the "
            "gradients computed in the forward (same loss to float rounding, a faster step: docs/train_step.md); "
            "on by default with --loss full, '--fused-loss false' materialises the (targets x items) logits",
        },
    )
    last_layer_at_scored_positions: bool = field(
        default=False,
        metadata={
            "help": "mlm/rtd on BERT or ELECTRA: the last layer computes its queries, attention output and "
            "feed-forward block at the masked targets (and prediction positions) only, the same outputs where "
            "read and the same dropout distribution for a cheaper step (docs/train_step.md); another random stream"
        },
    )
    side_feature_combiner: Literal["sum", "concat"] = field(
        default="sum",
        metadata={"help": "side features: added to the item embedding, or concatenated with it and projected back"},
    )


@dataclass
class MaskingArguments:
    max_length: int = field(
        default=100,
        metadata={"help": "the model's max_seq_length: items a row keeps (the most recent; see --train-window)"},
    )
    mlm_probability: float = 0.2
    mask_last_item_prob: float = field(
        default=0.0, metadata={"help": "mlm/rtd: chance of a row to have only its last item masked"}
    )
    train_window: Literal["recent", "random"] = field(
        default="recent",
        metadata={
            "help": "which --max-length items of a longer history a training row keeps: the most recent, or a "
            "window drawn uniformly anywhere in the history for every batch (every item trained on over the epochs "
            "at the same cost, the most recent ones less often; evaluation keeps the most recent)"
        },
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
    """``TrainingArguments`` with this job's defaults (the other flags reach the Trainer as they are)."""

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
    ddp_timeout: int = field(
        default=120,
        metadata={
            "help": "seconds a collective waits for the other ranks of a multi-process launch before this rank "
            "exits with an error naming the lost peer (transformers' default: 1800; the job sets it on the CPU too)"
        },
    )


DATACLASSES = (DataArguments, ModelArguments, MaskingArguments, JobArguments, JobTrainingArguments)


def parse_args(argv: list[str] | None = None) -> Job:
    """The job's options from the command line: flags, or a JSON/YAML file of them first, then flags.

    Errors (an unsupported pair, a sampled loss without negatives, ...) exit with the flag named.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(cast(Any, DATACLASSES), description=DESCRIPTION)
    if argv and argv[0].endswith((".json", ".yaml", ".yml")):
        argv = _flags_from_file(parser, Path(argv[0])) + argv[1:]
    if not torch.cuda.is_available() and not any(flag in ("--use_cpu", "--use-cpu") for flag in argv):
        # Without a GPU the job runs on the CPU; said here, before TrainingArguments checks flags like --bf16.
        argv.append("--use_cpu")
    data, model, masking, job, training = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    _check_flags(parser, model, masking, job)
    if training.bf16 and training.use_cpu and not cpu_has_native_bf16():
        warnings.warn(
            f"--bf16 on a CPU without bf16 units ({torch.backends.cpu.get_cpu_capability()}, no AVX512-BF16 or "
            "AMX): its bf16 matmuls are emulated, many times slower than float32 (18-38x on an AVX2 EPYC); "
            "drop --bf16 on this machine",
            stacklevel=2,
        )
    # Defaults that depend on other options, resolved here so that metrics.json records what the run did.
    if model.replacements_from_batch is None:
        model.replacements_from_batch = model.scheme == "rtd" and REPLACEMENTS_FROM_BATCH
    if model.fused_loss is None:
        model.fused_loss = model.loss == "full"
    return Job(data, model, masking, job, training)


def _check_flags(parser: HfArgumentParser, model: ModelArguments, masking: MaskingArguments, job: JobArguments) -> None:
    """Exit (``parser.error``) on flags that do not fit together, naming the flag."""
    if model.loss != "full" and model.num_negatives < 1:
        parser.error(f"--loss {model.loss} needs --num-negatives >= 1, got {model.num_negatives}")
    if model.fused_loss is True and model.loss != "full":
        parser.error(f"--fused-loss fuses the full softmax with the item head: it needs --loss full, not {model.loss}")
    if masking.mask_last_item_prob and model.scheme not in ("mlm", "rtd"):
        parser.error(f"--mask-last-item-prob is for --scheme mlm|rtd, not {model.scheme}")
    rtd_flags = {
        "--generator-hidden-size": model.generator_hidden_size != 0,
        "--replacements-from-batch": model.replacements_from_batch is not None,
    }
    for flag, given in rtd_flags.items():
        if given and model.scheme != "rtd":
            parser.error(f"{flag} is for --scheme rtd, not {model.scheme}")
    if model.generator_hidden_size < 0 or (model.generator_hidden_size and model.generator_hidden_size % model.heads):
        parser.error(
            f"--generator-hidden-size must be 0 or a multiple of --heads ({model.heads}), "
            f"got {model.generator_hidden_size}"
        )
    for name in ("dropout", "attention_dropout"):
        rate = getattr(model, name)
        if rate is not None and not 0 <= rate < 1:
            parser.error(f"--{name.replace('_', '-')} must be in [0, 1), got {rate}")
    if model.attention_dropout is not None and model.model == "xlnet":
        parser.error("--attention-dropout is not separate in XLNet (one rate, --dropout), got --model xlnet")
    if model.last_layer_at_scored_positions and (
        model.scheme not in ("mlm", "rtd") or model.model not in ("bert", "electra")
    ):
        parser.error(
            "--last-layer-at-scored-positions needs --scheme mlm or rtd on --model bert or electra (clm and plm "
            f"score every position), got --scheme {model.scheme} --model {model.model}"
        )
    if model.attention_dropout_unit == "key" and model.model == "xlnet":
        parser.error("--attention-dropout-unit key needs GPT-2, BERT or ELECTRA (XLNet has its own attention)")
    for name in ("generator_loss_weight", "discriminator_loss_weight"):
        if not getattr(model, name) >= 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0, got {getattr(model, name)}")
    if not job.max_minutes >= 0:  # NaN too
        parser.error(f"--max-minutes must be >= 0 (0: no limit), got {job.max_minutes}")
    if model.scheme not in SUPPORTED_PAIRS[model.model]:
        supported = "|".join(SUPPORTED_PAIRS[model.model])
        parser.error(f"--model {model.model} supports --scheme {supported}, not {model.scheme}")


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
