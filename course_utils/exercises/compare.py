"""Comparing and rendering values for the exercise checks.

* :func:`describe_difference` says why a received value does not match the expected one
  (numpy/pandas aware: floats with ``rtol=1e-6, atol=1e-9`` and NaN equal to NaN, ints,
  strings and booleans exactly, shapes must agree, any 1-D container judged against a
  tuple or list, the first differing index named with both values);
* :func:`short_repr` renders a value on one line without memory addresses, summarising
  large arrays (shape, dtype, first values).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ATOL", "RTOL", "describe_difference", "short_repr", "values_match"]

RTOL = 1e-6
ATOL = 1e-9
_MAX_REPR = 160
_BIG = 24  # arrays with more values are summarised (shape, dtype, first values)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


# --------------------------------------------------------------------------- rendering
def short_repr(value: Any, limit: int = _MAX_REPR) -> str:
    """One-line, deterministic repr (no memory addresses, numpy scalars as plain numbers).

    Examples
    --------
    >>> short_repr(np.float64(0.5)), short_repr(np.array([1, 2]))
    ('0.5', 'array([1, 2])')
    """
    if isinstance(value, np.generic):
        text = repr(value.item())
    elif isinstance(value, np.ndarray) and value.size > _BIG:
        head = np.array2string(
            value.ravel()[:6], separator=", ", precision=6, max_line_width=10**6
        ).strip("[]")
        text = f"array of shape {value.shape}, dtype {value.dtype}: [{' '.join(head.split())}, …]"
    elif isinstance(value, np.ndarray):
        body = np.array2string(
            value, separator=", ", threshold=24, edgeitems=3, precision=6, max_line_width=10**6
        )
        text = f"array({' '.join(body.split())})"
    elif isinstance(value, pd.DataFrame):
        cols = ", ".join(map(str, value.columns[:6])) + (", ..." if value.shape[1] > 6 else "")
        text = f"DataFrame({value.shape[0]} rows x {value.shape[1]} columns: {cols})"
    elif isinstance(value, pd.Series):
        text = f"Series(name={value.name!r}, {len(value)} values: {short_repr(value.to_numpy())})"
    elif callable(value) and hasattr(value, "__qualname__"):
        text = f"<function {value.__qualname__}>"
    elif isinstance(value, (list, tuple)) and len(value) > 0:
        inner = ", ".join(short_repr(v, limit) for v in value)
        text = (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    elif isinstance(value, (set, frozenset)):  # sorted: string hashing changes run to run
        items = sorted(map(short_repr, value))
        text = "{" + ", ".join(items) + "}" if items else f"{type(value).__name__}()"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{short_repr(k)}: {short_repr(v)}" for k, v in value.items()) + "}"
    else:
        text = _ADDRESS.sub(">", repr(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: Any) -> str:
    """Possibly multi-line rendering used for expected/received values."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        if isinstance(value, pd.DataFrame):
            table = value.to_string(max_rows=10, max_cols=8)
        else:  # Series.to_string has no max_cols
            table = value.to_string(max_rows=10)
        return f"{type(value).__name__} of shape {value.shape}\n" + table
    text = short_repr(value, limit=400)
    if isinstance(value, np.ndarray):
        text += f"  (shape {value.shape}, dtype {value.dtype})"
    return text


def _indent(text: str, prefix: str = "      ") -> str:
    lines = text.splitlines() or [""]
    return lines[0] + "".join("\n" + prefix + line for line in lines[1:])


# --------------------------------------------------------------------------- comparing
def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _is_float(x: Any) -> bool:
    return isinstance(x, (float, np.floating))


def _compare_arrays(expected: np.ndarray, got: Any) -> str | None:
    try:
        got_arr = np.asarray(got)
    except Exception:  # noqa: BLE001 - anything that is not array-like is a mismatch
        return f"expected an array, received {type(got).__name__}"
    if isinstance(got, (str, bytes)) or got_arr.dtype == object and expected.dtype != object:
        return f"expected an array, received {type(got).__name__}"
    if got_arr.ndim == 0:
        return f"expected an array of shape {expected.shape}, received a single value"
    if got_arr.shape != expected.shape:
        return f"shape {got_arr.shape} differs from the expected shape {expected.shape}"
    if expected.dtype.kind in "fc" or got_arr.dtype.kind in "fc":
        if got_arr.dtype.kind not in "biufc":
            return f"expected numbers, received dtype {got_arr.dtype}"
        close = np.isclose(got_arr, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
        if not close.all():
            bad = np.argwhere(~close)
            return _where_arrays_differ(expected, got_arr, bad, close.size)
        return None
    if expected.dtype == object:
        for i, (e, g) in enumerate(zip(expected.ravel(), got_arr.ravel(), strict=True)):
            reason = describe_difference(e, g)
            if reason:
                return f"element {i}: {reason}"
        return None
    if not np.array_equal(expected, got_arr):
        return _where_arrays_differ(
            expected, got_arr, np.argwhere(expected != got_arr), expected.size
        )
    return None


def _where_arrays_differ(expected: np.ndarray, got: np.ndarray, bad: np.ndarray, size: int) -> str:
    first = tuple(int(i) for i in bad[0])
    at = first[0] if len(first) == 1 else first
    return (
        f"{len(bad)} of {size} values differ; first at index {at}: "
        f"expected {short_repr(expected[first])}, received {short_repr(got[first])}"
    )


def _compare_pandas(expected: pd.DataFrame | pd.Series, got: Any) -> str | None:
    if not isinstance(got, type(expected)):
        return f"expected a {type(expected).__name__}, received {type(got).__name__}"
    assert_equal = (
        pd.testing.assert_frame_equal
        if isinstance(expected, pd.DataFrame)
        else pd.testing.assert_series_equal
    )
    try:
        assert_equal(expected, got, check_dtype=False, check_exact=False, rtol=RTOL, atol=ATOL)
    except AssertionError as err:
        return " ".join(str(err).split())[:300]
    return None


def describe_difference(expected: Any, got: Any) -> str | None:
    """Return why ``got`` does not match ``expected``, or ``None`` when they match.

    Examples
    --------
    >>> describe_difference(0.1 + 0.2, 0.3) is None
    True
    >>> describe_difference(np.array([1.0, 2.0]), np.array([1.0]))
    'shape (1,) differs from the expected shape (2,)'
    """
    if isinstance(expected, (pd.DataFrame, pd.Series)):
        return _compare_pandas(expected, got)
    if isinstance(expected, np.ndarray) and expected.ndim > 0:
        return _compare_arrays(expected, got)
    if isinstance(expected, (list, tuple)) and isinstance(got, (np.ndarray, pd.Series)):
        got = list(np.asarray(got)) if np.ndim(got) == 1 else got  # any 1-D container
    if isinstance(got, np.ndarray) and got.ndim > 0 and not isinstance(expected, (list, tuple)):
        return f"expected a single value, received an array of shape {got.shape}"
    if isinstance(expected, np.ndarray):  # 0-d array: treat as its scalar
        expected = expected.item()
    if isinstance(got, np.ndarray):
        got = got.item()
    if expected is None:
        return None if got is None else f"expected None, received {type(got).__name__}"
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"expected True or False, received {type(got).__name__}"
        return None if bool(expected) == bool(got) else "the boolean differs"
    if _is_float(expected) or isinstance(expected, numbers.Complex) and not _is_real(expected):
        if not isinstance(got, numbers.Number) or isinstance(got, (bool, np.bool_)):
            return f"expected a number, received {type(got).__name__}"
        if math.isnan(abs(expected)) and math.isnan(abs(got)):
            return None
        ok = np.isclose(got, expected, rtol=RTOL, atol=ATOL)
        return None if ok else "the number differs"
    if _is_real(expected):  # integers: exact (3.0 counts as 3)
        if not _is_real(got):
            return f"expected a number, received {type(got).__name__}"
        return None if got == expected else "the number differs"
    if isinstance(expected, str):
        if not isinstance(got, str):
            return f"expected a string, received {type(got).__name__}"
        return None if got == expected else "the text differs"
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"expected a dict, received {type(got).__name__}"
        if set(expected) != set(got):
            missing = sorted(map(repr, set(expected) - set(got)))
            extra = sorted(map(repr, set(got) - set(expected)))
            return f"keys differ (missing: {', '.join(missing) or '-'}; extra: {', '.join(extra) or '-'})"
        for key in expected:
            reason = describe_difference(expected[key], got[key])
            if reason:
                return f"key {key!r}: {reason}"
        return None
    if isinstance(expected, Sequence):
        if (
            isinstance(got, (set, frozenset, Mapping))
            or not isinstance(got, (Sequence, np.ndarray))
            or isinstance(got, str)
        ):
            return f"expected a {type(expected).__name__}, received {type(got).__name__}"
        if len(got) != len(expected):
            return f"length {len(got)} differs from the expected length {len(expected)}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            reason = describe_difference(e, g)
            if reason:
                return f"item {i}: {reason}"
        return None
    try:
        equal = bool(expected == got)
    except Exception:  # noqa: BLE001 - an uncomparable value is a mismatch
        equal = False
    return None if equal else "the values differ"


def values_match(expected: Any, got: Any) -> bool:
    """Default comparer: numpy/pandas-aware equality, approximate for floats.

    Examples
    --------
    >>> values_match(np.array([0.5, np.nan]), [0.5 + 1e-12, np.nan])
    True
    >>> values_match(3, 4)
    False
    """
    return describe_difference(expected, got) is None
