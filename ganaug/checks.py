"""Argument checks for scripts built on ganaug, failing the way ganaug does.

Each raises ``ValueError`` (``TypeError`` for a wrong type) with one sentence: the argument, what was
expected, what was received and the fix, e.g. ``--seeds: expected an integer, got 'a'. Pass ...``.
Name the argument as your user typed it (a command-line flag or a parameter name).
"""
from ._checks import check_choice, check_float, check_int, fail

__all__ = ["check_choice", "check_float", "check_int", "fail"]
