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
import os
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from course_utils.exercises.compare import (
    _ADDRESS,
    _indent,
    _show,
    describe_difference,
    short_repr,
    values_match,
)

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
