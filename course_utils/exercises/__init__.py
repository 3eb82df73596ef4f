"""Exercise tooling: answer checks and the solutions -> exercises notebook builder.

* :mod:`course_utils.exercises.checking` - ``Case``, ``check_function``, ``check_answer``;
* :mod:`course_utils.exercises.build` - strip solution regions from ``solutions/*.ipynb``
  into ``exercises/`` (``python -m course_utils.exercises build``, ``... check``);
* ``course_utils.exercises.stepNN`` - the checks used by each step's exercise notebook.
"""

from course_utils.exercises.checking import Case, check_answer, check_function

__all__ = ["Case", "check_answer", "check_function"]
