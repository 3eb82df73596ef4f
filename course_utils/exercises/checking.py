"""Friendly, deterministic answer checks for the exercise notebooks.

A check runs the learner's function on a handful of inputs (:class:`Case`), compares
each result with a trusted reference implementation and prints a short verdict:

* ``✅ name: passed N checks`` followed by the list of what was verified;
* ``⏳ name: not attempted yet ...`` when the function still raises
  ``NotImplementedError`` (the untouched exercise notebook then runs top to bottom);
  under nbgrader (which sets ``NBGRADER_EXECUTION`` while it autogrades or validates)
  "not attempted" raises ``AssertionError`` instead, so the check cell scores 0;
* ``❌ name: ...`` with the input, the expected and the received value and a hint,
  followed by an ``AssertionError`` so the failing cell is marked red.

Comparison is numpy/pandas aware: floats and float arrays are compared with
``rtol=1e-6, atol=1e-9`` (NaN equals NaN), ints, strings and booleans exactly, shapes
must agree, containers are compared element by element. Pass
``compare=callable(expected, got) -> bool`` to override it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import numbers
import os
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Case",
    "CheckResult",
    "check_answer",
    "check_function",
    "describe_difference",
    "graded_run",
    "passes_quietly",
    "require_upstream",
    "values_match",
    "with_reference",
    "working_or_reference",
]

RTOL = 1e-6
ATOL = 1e-9
_MAX_REPR = 160
_BIG = 24  # arrays with more values are summarised (shape, dtype, first values)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


class CheckResult:
    """Outcome of a check: truthy when passed, falsy when failed or not attempted.

    It displays nothing in a notebook (the check already printed its verdict), so a bare
    ``check_x(fn)`` as the last line of a cell adds no ``True``/``False`` output.

    Examples
    --------
    >>> bool(CheckResult(True)), CheckResult(False) == False
    (True, True)
    """

    __slots__ = ("passed",)

    def __init__(self, passed: bool) -> None:
        self.passed = bool(passed)

    def __bool__(self) -> bool:
        return self.passed

    def __eq__(self, other: object) -> bool:
        return (
            self.passed == bool(other) if isinstance(other, (bool, CheckResult)) else NotImplemented
        )

    def __hash__(self) -> int:
        return hash(self.passed)

    def __repr__(self) -> str:
        return f"CheckResult(passed={self.passed})"

    def _ipython_display_(self) -> None:
        """Show nothing: the verdict was printed when the check ran."""


class Case:
    """One set of inputs for a checked function: ``Case(*args, label=None, **kwargs)``.

    Parameters
    ----------
    *args, **kwargs
        Positional and keyword arguments passed to both the reference and the
        learner's function (each gets its own deep copy).
    label : str, optional
        What this case verifies, e.g. ``"no hits"``; shown in the verdict. Defaults
        to a short rendering of the inputs.

    Examples
    --------
    >>> Case([True, False], k=1, label="one hit at the top").label
    'one hit at the top'
    >>> Case([True, False], k=1).describe("precision_at_k")
    'precision_at_k([True, False], k=1)'
    """

    def __init__(self, *args: Any, label: str | None = None, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.label = label if label is not None else self.describe()

    def describe(self, name: str = "") -> str:
        """Return ``name(arg, ..., key=value)`` with short, address-free reprs."""
        parts = [short_repr(a) for a in self.args]
        parts += [f"{key}={short_repr(value)}" for key, value in self.kwargs.items()]
        return f"{name}({', '.join(parts)})"

    def fresh(self) -> tuple[tuple, dict]:
        """Deep copies of the arguments, so a function that mutates them harms nobody."""
        return copy.deepcopy(self.args), copy.deepcopy(self.kwargs)

    def __repr__(self) -> str:
        return self.describe("Case")


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


# --------------------------------------------------------------------------- verdicts
def _fail(
    name: str,
    headline: str,
    details: list[tuple[str, str]],
    hint: str | None,
    summary: str | None = None,
) -> str:
    """Print the verdict of a failed check; return the AssertionError message."""
    lines = [f"❌ {name}: {headline}"]
    for label, text in details:
        lines.append(f"   {label + ':':<10}{_indent(text, ' ' * 13)}")
    if hint:
        wrapped = "\n".join(textwrap.fill(part, width=80) for part in hint.splitlines())
        lines.append(f"   {'hint:':<10}{_indent(wrapped, ' ' * 13)}")
    print("\n".join(lines))
    return f"{name}: {headline}" + (f" ({summary})" if summary else "")


def graded_run() -> bool:
    """True while nbgrader executes the notebook (``nbgrader autograde`` or ``validate``).

    Examples
    --------
    >>> import os
    >>> graded_run() == bool(os.environ.get("NBGRADER_EXECUTION"))
    True
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _not_attempted(name: str) -> CheckResult:
    print(f"⏳ {name}: not attempted yet — fill in the cell above and re-run")
    if graded_run():
        raise AssertionError(f"{name}: not attempted (nbgrader scores this check 0)")
    return CheckResult(False)


def _error_text(err: BaseException) -> str:
    message = _ADDRESS.sub(">", str(err))
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def _compare_reason(
    compare: Callable[[Any, Any], Any] | None, expected: Any, got: Any
) -> str | None:
    """Why ``got`` fails: ``compare`` may return True/False or a reason string (None = match)."""
    if compare is None:
        return describe_difference(expected, got)
    try:
        outcome = compare(expected, got)
    except Exception as err:  # noqa: BLE001 - an answer the comparison cannot read is wrong
        return f"the result could not be compared ({_error_text(err)})"
    if outcome is None or outcome is True:
        return None
    if isinstance(outcome, str):
        return outcome or None
    if bool(outcome):
        return None
    plain = describe_difference(expected, got)
    return plain or "the result differs from the expected one"


def _verdict(
    name: str,
    *,
    expected: Any,
    got: Any,
    compare: Callable[[Any, Any], Any] | None,
    hint: str | None,
    inputs: str | None,
    label: str | None = None,
    reveal: bool = True,
) -> None:
    """Compare one result; print and raise AssertionError on a mismatch."""
    reason = _compare_reason(compare, expected, got)
    if reason is None:
        return
    details = [("case", label)] if label else []
    details += [("input", inputs)] if inputs is not None else []
    details += [("expected", _show(expected))] if reveal else []
    details += [("received", _show(got))]
    details += [("why", reason)] if reveal or compare is not None else []
    where = f"case '{label}': " if label else ""
    headline = "wrong result" + (f" (case: {label})" if label else "")
    summary = where + (reason if reveal or compare is not None else "not the expected value")
    raise AssertionError(_fail(name, headline, details, hint, summary=summary))


def _changed_inputs(before: tuple[tuple, dict], after: tuple[tuple, dict]) -> str | None:
    """Name the first argument the learner's function modified in place, if any."""
    (args0, kwargs0), (args1, kwargs1) = before, after
    named = [(f"argument {i + 1}", a, b) for i, (a, b) in enumerate(zip(args0, args1, strict=True))]
    named += [(f"argument {key!r}", kwargs0[key], kwargs1[key]) for key in kwargs0]
    for what, old, new in named:
        if describe_difference(old, new) is not None:
            return what
    return None


def check_function(
    fn: Callable,
    *,
    reference: Callable,
    cases: Sequence[Case],
    name: str,
    hint: str | None = None,
    compare: Callable[[Any, Any], Any] | None = None,
    inputs_read_only: bool = False,
    reveal: bool = True,
) -> CheckResult:
    """Check a learner's function against a reference implementation.

    Parameters
    ----------
    fn : callable
        The learner's function.
    reference : callable
        Trusted implementation. If it raises on a case, ``fn`` must raise the same
        exception type (use this to check input validation).
    cases : sequence of Case
        Inputs to try, each deep-copied before every call.
    name : str
        Name shown in the verdict, usually the function name.
    hint : str, optional
        Printed with a failing verdict.
    compare : callable(expected, got), optional
        Override the default numpy/pandas-aware comparison. It returns True (or None) on a
        match and False or a string saying what differed otherwise.
    inputs_read_only : bool
        When True, an answer that modifies one of its arguments in place fails (for
        exercises whose statement forbids it).
    reveal : bool
        When False, a wrong result is reported with what differed but not the expected
        value (for exercises whose answer is a single number).

    Returns
    -------
    bool
        True when all cases pass, False when ``fn`` is not attempted yet (it raises
        ``NotImplementedError`` on the first case).

    Raises
    ------
    AssertionError
        On the first wrong result or unexpected exception, after printing the case, the
        input, expected and received values and the hint.

    Examples
    --------
    >>> check_function(lambda x: 2 * x, reference=lambda x: x + x, name="double",
    ...                cases=[Case(2, label="an int"), Case(0.5, label="a float")])
    ✅ double: passed 2 checks
       - an int
       - a float
    CheckResult(passed=True)
    """
    if not callable(fn):
        raise TypeError(f"{name}: expected a function to check; got {type(fn).__name__}")
    if not cases:
        raise ValueError(f"{name}: cases must contain at least one Case; got none")
    for i, case in enumerate(cases):
        inputs = case.describe(name)
        label = case.label
        args, kwargs = case.fresh()
        try:
            expected = reference(*args, **kwargs)
            ref_error = None
        except Exception as err:  # noqa: BLE001 - the learner must then raise the same
            expected, ref_error = None, err
        args, kwargs = case.fresh()
        try:
            got = fn(*args, **kwargs)
        except NotImplementedError as err:
            if i == 0:
                return _not_attempted(name)
            details = [("case", label), ("input", inputs), ("error", _error_text(err))]
            raise AssertionError(
                _fail(
                    name,
                    "raised NotImplementedError on a later case",
                    details,
                    hint,
                    summary=f"case '{label}'",
                )
            ) from None
        except Exception as err:  # noqa: BLE001 - report any learner error kindly
            if ref_error is not None and isinstance(err, type(ref_error)):
                continue
            want = f"raise {type(ref_error).__name__}" if ref_error else _show(expected)
            details = [("case", label), ("input", inputs)]
            details += [("expected", want)] if reveal or ref_error else []
            details += [("error", _error_text(err))]
            raise AssertionError(
                _fail(
                    name,
                    f"raised {type(err).__name__} (case: {label})",
                    details,
                    hint,
                    summary=f"case '{label}': {_error_text(err)}",
                )
            ) from err
        if ref_error is not None:
            details = [
                ("case", label),
                ("input", inputs),
                ("expected", f"raise {_error_text(ref_error)}"),
                ("received", _show(got)),
            ]
            raise AssertionError(
                _fail(
                    name,
                    f"should raise {type(ref_error).__name__} (case: {label})",
                    details,
                    hint,
                    summary=f"case '{label}'",
                )
            )
        if inputs_read_only:
            changed = _changed_inputs(case.fresh(), (args, kwargs))
            if changed:
                details = [("case", label), ("input", inputs), ("why", f"{changed} was modified")]
                raise AssertionError(
                    _fail(
                        name,
                        f"modified its input in place (case: {label})",
                        details,
                        hint,
                        summary=f"case '{label}': {changed} was modified in place",
                    )
                )
        _verdict(
            name,
            expected=expected,
            got=got,
            compare=compare,
            hint=hint,
            inputs=inputs,
            label=label,
            reveal=reveal,
        )
    n = len(cases)
    print(f"✅ {name}: passed {n} check{'s' if n != 1 else ''}")
    print("\n".join(f"   - {case.label}" for case in cases))
    return CheckResult(True)


def check_answer(
    value: Any,
    *,
    expected: Any,
    name: str,
    hint: str | None = None,
    compare: Callable[[Any, Any], Any] | None = None,
    reveal: bool = True,
) -> bool:
    """Check a single computed value (e.g. a number the learner works out).

    ``value`` may be a zero-argument callable, which is called here: write the
    computation inside ``def answer(): ...`` so the untouched exercise (which raises
    ``NotImplementedError``) still lets the notebook run. ``None`` or ``...`` also
    count as not attempted. With ``reveal=False`` a wrong value is reported without the
    expected one (the hint must guide instead).

    Returns
    -------
    bool
        True when the value matches, False when not attempted yet.

    Raises
    ------
    AssertionError
        When the value does not match (after printing expected, received and hint).

    Examples
    --------
    >>> check_answer(lambda: 100_000 * 0.02 / 0.5, expected=4000.0, name="cores")
    ✅ cores: correct (4000.0)
    CheckResult(passed=True)
    """
    if callable(value):
        try:
            value = value()
        except NotImplementedError:
            return _not_attempted(name)
        except Exception as err:  # noqa: BLE001 - report any learner error kindly
            details = [("expected", _show(expected))] if reveal else []
            details += [("error", _error_text(err))]
            raise AssertionError(
                _fail(name, f"raised {type(err).__name__}", details, hint, _error_text(err))
            ) from err
    if value is None or value is Ellipsis:
        return _not_attempted(name)
    _verdict(
        name,
        expected=expected,
        got=value,
        compare=compare,
        hint=hint,
        inputs=None,
        reveal=reveal,
    )
    print(f"✅ {name}: correct ({short_repr(value)})")
    return CheckResult(True)


def passes_quietly(check: Callable[[Callable], Any], fn: Callable) -> bool:
    """Run ``check(fn)`` without printing; True only if it passes (not attempted = False).

    Examples
    --------
    >>> def check_double(f):
    ...     return check_function(f, reference=lambda x: 2 * x, cases=[Case(3)], name="double")
    >>> passes_quietly(check_double, lambda x: x + x), passes_quietly(check_double, abs)
    (True, False)
    """
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return bool(check(fn))
        except Exception:  # noqa: BLE001 - any failure of the learner's function
            return False


def require_upstream(
    name: str, upstream: str, check: Callable, fn: Callable | None
) -> CheckResult | None:
    """Stop ``name``'s check early when the learner's ``upstream`` function is not ready.

    Use it in a check whose exercise calls an earlier exercise's function. Returns None
    when ``upstream`` passes its own check (go on checking ``name``); returns a falsy
    "not attempted" result while ``upstream`` is not attempted (under nbgrader this
    raises, like any unattempted check); raises AssertionError naming ``upstream`` when it
    is attempted but wrong, so the failure is not blamed on ``name``.
    """
    if fn is None:
        return None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            state = "pass" if check(fn) else "todo"
        except Exception:  # noqa: BLE001 - any failure of the learner's upstream function
            state = "fail"
    if state == "pass":
        return None
    if state == "todo":
        print(f"⏳ {name}: waiting for {upstream}, which is not attempted yet")
        return _not_attempted(name)
    headline = f"depends on your {upstream}, which does not pass its own check yet"
    details = [("why", f"fix {upstream} first (run its check cell), then re-run this cell")]
    raise AssertionError(_fail(name, headline, details, None))


def with_reference(reference: Callable) -> Callable[[Callable], Callable]:
    """Decorator: remember the reference implementation a check compares with.

    :func:`working_or_reference` uses it in demo cells. The reference is reachable as
    ``check_x.reference``, not under the exercise's own name.
    """

    def attach(check: Callable) -> Callable:
        check.reference = reference
        return check

    return attach


def working_or_reference(
    fn: Callable, check: Callable, reference: Callable | None = None, name: str | None = None
) -> Callable:
    """The learner's ``fn`` if it passes ``check``, else the reference (and say so).

    Demo cells that run the learner's function on real data call this first, so a wrong
    or unfinished answer does not produce misleading tables and plots. ``reference``
    defaults to the one the check was declared with (:func:`with_reference`).

    Examples
    --------
    >>> @with_reference(lambda x: 2 * x)
    ... def check_double(f):
    ...     return check_function(f, reference=lambda x: 2 * x, cases=[Case(3)], name="double")
    >>> def double(x):
    ...     return x + 2
    >>> working_or_reference(double, check_double)(4)
    ⚠️ double does not pass its check yet: this demo uses the course's reference instead
    8
    """
    reference = reference if reference is not None else getattr(check, "reference", None)
    if reference is None:
        raise ValueError(
            f"{getattr(check, '__name__', check)!r} declares no reference to fall back to"
        )
    if passes_quietly(check, fn):
        return fn
    name = name or getattr(fn, "__name__", "your function")
    print(f"⚠️ {name} does not pass its check yet: this demo uses the course's reference instead")
    return reference
