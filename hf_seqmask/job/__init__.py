"""The main job's library side: its options and their parsing (``arguments``), the configs built from
them (``configs``), its Trainer callbacks (``callbacks``), its collective timeout and lost-peer error
(``peers``) and where a relaunched job resumes (``resuming``). ``hf_seqmask.cli`` is the script over them."""

from .arguments import (
    DATACLASSES,
    Job,
    JobArguments,
    JobTrainingArguments,
    MaskingArguments,
    ModelArguments,
    parse_args,
)
from .callbacks import LogAtCheckpoints, TimeLimit, ValidationReport, stop_reason
from .configs import backbone_config, model_config, training_arguments
from .peers import apply_collective_timeout, leave_process_group, peers_watched

__all__ = [
    "DATACLASSES",
    "Job",
    "JobArguments",
    "JobTrainingArguments",
    "LogAtCheckpoints",
    "MaskingArguments",
    "ModelArguments",
    "TimeLimit",
    "ValidationReport",
    "apply_collective_timeout",
    "backbone_config",
    "leave_process_group",
    "model_config",
    "parse_args",
    "peers_watched",
    "stop_reason",
    "training_arguments",
]
