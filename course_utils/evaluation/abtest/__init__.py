"""Step 5, online evaluation: size an A/B test, analyse it, and see why peeking breaks it.

:mod:`.design` (sample size, power, minimum detectable effect), :mod:`.analysis` (z- and
t-tests with a decision), :mod:`.simulation` (many tests at once), :mod:`.sequential`
(peeking and group-sequential boundaries) and :mod:`.interleaving` (team-draft). Arm A is
always the control and arm B the treatment; a lift is B minus A. Notebook 05, part 2.
"""

from course_utils.evaluation.abtest import analysis, design, interleaving, sequential, simulation
from course_utils.evaluation.abtest.analysis import *
from course_utils.evaluation.abtest.design import *
from course_utils.evaluation.abtest.interleaving import *
from course_utils.evaluation.abtest.sequential import *
from course_utils.evaluation.abtest.simulation import *

__all__ = [
    *design.__all__,
    *analysis.__all__,
    *simulation.__all__,
    *sequential.__all__,
    *interleaving.__all__,
]
