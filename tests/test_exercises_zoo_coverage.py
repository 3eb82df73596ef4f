"""Every exercise check has a zoo (tests/test_exercises_zoo_stepNN.py) and a demo reference."""

from __future__ import annotations

import importlib
import pkgutil

import course_utils.exercises as exercises
from tests import (
    test_exercises_zoo_step01,
    test_exercises_zoo_step02,
    test_exercises_zoo_step03,
    test_exercises_zoo_step04,
    test_exercises_zoo_step05,
    test_exercises_zoo_step06,
    test_exercises_zoo_step07,
)

ZOOS = [
    test_exercises_zoo_step01.ZOO,
    test_exercises_zoo_step02.ZOO,
    test_exercises_zoo_step03.ZOO,
    test_exercises_zoo_step04.ZOO,
    test_exercises_zoo_step05.ZOO,
    test_exercises_zoo_step06.ZOO,
    test_exercises_zoo_step07.ZOO,
]


def _all_checks():
    checks = {}
    for info in pkgutil.iter_modules(exercises.__path__):
        # the optional appendices (stepA1, ...) need pyspark: their zoos live in
        # tests/test_exercises_stepA1.py and run in the spark CI leg
        if info.name.startswith("step") and not info.name.startswith("stepA"):
            module = importlib.import_module(f"course_utils.exercises.{info.name}")
            for name in getattr(module, "__all__", []):
                if name.startswith("check_"):
                    checks[f"{info.name}.{name}"] = getattr(module, name)
    return checks


def test_every_check_has_a_zoo():
    in_zoos = {check for zoo in ZOOS for check in zoo}
    missing = sorted(name for name, check in _all_checks().items() if check not in in_zoos)
    assert not missing, f"checks without a zoo: {missing}"


def test_every_check_declares_its_reference():
    missing = sorted(
        n for n, c in _all_checks().items() if not callable(getattr(c, "reference", None))
    )
    assert not missing, f"checks without with_reference(...): {missing}"


def test_at_least_four_auto_checks_per_step():
    per_step: dict[str, int] = {}
    for name in _all_checks():
        step = name[:6]
        per_step[step] = per_step.get(step, 0) + 1
    assert all(per_step[f"step0{n}"] >= 4 for n in range(1, 8)), per_step
