"""Shared machinery of the exercise-check zoos (tests/test_exercises_zoo_*.py).

A zoo lists, per check, realistic wrong implementations (each must fail: the check raises
AssertionError) and correct implementations written differently from the reference (each
must pass). ``zoo_params`` turns the lists into pytest parameters named after the check
and the implementation.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import pytest

MIN_WRONG, MIN_RIGHT = 3, 2


def zoo_params(zoo: dict[Callable, tuple[list, list]], which: int) -> list:
    """pytest params ``(check, answer, extra)`` for the wrong (0) or right (1) answers."""
    params = []
    for check, answers in zoo.items():
        for entry in answers[which]:
            fn, extra = entry if isinstance(entry, tuple) else (entry, {})
            params.append(pytest.param(check, fn, extra, id=f"{check.__name__}-{fn.__name__}"))
    return params


def assert_zoo_sizes(zoo: dict) -> None:
    small = {
        check.__name__: (len(wrong), len(right))
        for check, (wrong, right) in zoo.items()
        if len(wrong) < MIN_WRONG or len(right) < MIN_RIGHT
    }
    assert not small, f"zoos below {MIN_WRONG} wrong / {MIN_RIGHT} right answers: {small}"


def run_check(check: Callable, fn: Callable, extra: dict) -> tuple[object, str]:
    """Run ``check(fn, **extra)``; return (result or the AssertionError, printed text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            result = check(fn, **extra)
        except AssertionError as err:
            result = err
    return result, out.getvalue()


def expect_fail(check: Callable, fn: Callable, extra: dict) -> str:
    result, text = run_check(check, fn, extra)
    assert isinstance(result, AssertionError), f"{fn.__name__} passed {check.__name__}:\n{text}"
    assert "Traceback" not in text
    return text


def expect_pass(check: Callable, fn: Callable, extra: dict) -> str:
    result, text = run_check(check, fn, extra)
    assert not isinstance(result, AssertionError) and bool(result), (
        f"{fn.__name__} was rejected by {check.__name__}:\n{text}"
    )
    return text
