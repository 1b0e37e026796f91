"""Argument checks that fail with one readable sentence: what, expected, received, fix."""
from __future__ import annotations

import numbers
from collections.abc import Iterable


def fail(arg: str, expected: str, got: object, fix: str, exc: type[Exception] = ValueError):
    raise exc(f"{arg}: expected {expected}, got {_short(got)}. {fix}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_int(arg: str, value: object, minimum: int | None = None, fix: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(arg, "an integer", value, fix or f"Pass a whole number for {arg}.", TypeError)
    if minimum is not None and value < minimum:
        fail(arg, f"an integer >= {minimum}", value, fix or f"Pass {arg} >= {minimum}.")
    return int(value)


def check_bool(arg: str, value: object) -> bool:
    if not isinstance(value, bool):
        fail(arg, "True or False", value, f"Pass {arg}=True or {arg}=False.", TypeError)
    return value


def check_float(arg: str, value: object, low: float | None = None, high: float | None = None,
                fix: str = "", low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(arg, "a number", value, fix or f"Pass a number for {arg}.", TypeError)
    value = float(value)
    bad = value != value or (low is not None and (value <= low if low_open else value < low)) or (
        high is not None and value > high)
    if bad:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        bracket = "(" if low_open else "["
        fail(arg, f"a number in {bracket}{lo}, {hi}]", value, fix or f"Pass {arg} inside that range.")
    return value


def check_choice(arg: str, value: object, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        hint = did_you_mean(value, choices)
        fail(arg, "one of " + ", ".join(repr(c) for c in choices), value,
             f"{hint + ' ' if hint else ''}Pick one of the supported names for {arg}.")
    return value  # type: ignore[return-value]


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """``"Did you mean 'x'?"`` for the closest of ``choices`` (difflib), or ``""`` when none is close."""
    import difflib

    if not isinstance(value, str):
        return ""
    choices = [str(c) for c in choices]
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return f"Did you mean {lowered[close[0]]!r}?" if close else ""


def check_device(arg: str, value: object) -> None:
    """``None`` or a device string torch understands and this machine has (``cpu``, ``cuda``, ``cuda:1``)."""
    if value is None:
        return
    import torch

    if not isinstance(value, (str, torch.device)):
        fail(arg, "a device name such as 'cpu' or 'cuda'", value, f"Pass {arg}='cpu' or {arg}='cuda'.", TypeError)
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        fail(arg, "a device name such as 'cpu', 'cuda' or 'cuda:1'", value,
             f"{did_you_mean(str(value), ['cpu', 'cuda', 'mps'])} Pass {arg}='cpu' or {arg}='cuda'.".strip())
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index is not None and device.index >= count):
            fail(arg, f"an available device ({count} CUDA GPU{'s' if count != 1 else ''} visible)", str(value),
                 f"Pass {arg}='cpu'" + (f" or an index below {count}." if count else "."))
    elif device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        fail(arg, "an available device", str(value), f"Pass {arg}='cpu'.")
