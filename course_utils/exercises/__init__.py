"""Exercise tooling: answer checks, the solutions -> exercises builder and nbgrader metadata.

* :mod:`course_utils.exercises.checking` - ``Case``, ``check_function``, ``check_answer``,
  and the demo-cell helper ``working_or_reference``;
* :mod:`course_utils.exercises.compare` - how a received value is compared and rendered;
* :mod:`course_utils.exercises.build` - strip solution regions from ``solutions/*.ipynb``
  into ``exercises/`` (``python -m course_utils.exercises build``, ``... check``);
* :mod:`course_utils.exercises.grading` - nbgrader cell metadata derived from the markers,
  and nbgrader course folders (``python -m course_utils.exercises nbgrader --course DIR``);
* ``course_utils.exercises.stepNN`` - the checks used by each step's exercise notebook.
"""

from course_utils.exercises.checking import Case, check_answer, check_function

__all__ = ["Case", "check_answer", "check_function"]
