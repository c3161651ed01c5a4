"""One device rule: every path that runs a model (evaluation, early stopping, recommendations, the
main job) moves its batch to the model's device through :func:`to_model_device`; and what the CPU can
do fast (:func:`cpu_facts`), recorded beside every timing because hosts of one name differ."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import send_to_device


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's parameters (a model without parameters: CPU)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def to_model_device(batch: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """``batch`` with every tensor (nested in dicts too) on ``model``'s device; other values as they are.

    Example:
        >>> batch = to_model_device({"input_ids": torch.tensor([[5, 6]]), "name": "a"}, torch.nn.Linear(1, 1))
        >>> batch["input_ids"].device.type, batch["name"]
        ('cpu', 'a')
    """
    return send_to_device(batch, model_device(model), non_blocking=True)


# CPU flags (torch.cpu.get_capabilities()) of hardware bf16 arithmetic: x86 (AVX512-BF16, AMX, AVX-NE-CONVERT), Arm.
_BF16_UNITS = ("avx512_bf16", "amx_bf16", "avx_ne_convert", "bf16")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 arithmetic units (AVX512-BF16, AMX-BF16, AVX-NE-CONVERT or Arm's BF16).

    Without them bf16 matmuls are emulated: 18-38x slower than float32 on a Zen 3 EPYC (AVX2), where a
    Zen 4 EPYC of the same name gains 14-25% from ``--bf16`` (docs/time_to_quality.md). False when torch
    cannot say (a build without the query).
    """
    try:
        capabilities = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):
        return False
    return any(capabilities.get(flag, False) for flag in _BF16_UNITS)


def cpu_facts() -> dict[str, Any]:
    """The CPU a timing ran on: its model name, the widest vector unit torch dispatches to, native bf16.

    Example:
        >>> sorted(cpu_facts())
        ['capability', 'model', 'native_bf16']
    """
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        model = names[0] if names else model
    return {
        "model": model,
        "capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": cpu_has_native_bf16(),
    }
