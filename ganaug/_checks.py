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
        fail(arg, "one of " + ", ".join(repr(c) for c in choices), value,
             f"Pick one of the supported names for {arg}.")
    return value  # type: ignore[return-value]
