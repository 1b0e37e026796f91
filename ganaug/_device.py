"""The default device of every training and inference entry point."""
from __future__ import annotations

import platform
import warnings

import torch


def default_device() -> torch.device:
    """cuda when available, else cpu."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def native_cpu_bf16() -> bool | None:
    """Whether this CPU has native bf16 math (x86: AVX512-BF16 or AMX); None where torch cannot tell."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes
        return None


def warn_if_emulated_bf16(arg: str, stacklevel: int = 3) -> None:
    """Warn that bf16 autocast requested through ``arg`` will be emulated (slower) on this CPU."""
    if native_cpu_bf16() is False:
        warnings.warn(f"{arg}=True: this CPU has no native bf16 math (neither AVX512-BF16 nor AMX), so bf16 "
                      f"autocast is emulated and usually slower than float32. Pass {arg}=False.",
                      RuntimeWarning, stacklevel=stacklevel)
