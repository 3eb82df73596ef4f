"""Step 5, online evaluation: size an A/B test, analyse it, and see why peeking breaks it.

:mod:`.design` (sample size, power, minimum detectable effect), :mod:`.analysis` (z- and
t-tests with a decision), :mod:`.simulation` (many tests at once), :mod:`.sequential`
(peeking and group-sequential boundaries), :mod:`.interleaving` (team-draft), :mod:`.srm`
(sample-ratio mismatch), :mod:`.variance` (CUPED), :mod:`.ratio` (delta method for ratio
metrics) and :mod:`.quantiles` (percentile guardrails with a user-level bootstrap). Arm A is
always the control and arm B the treatment; a lift is B minus A. Notebook 05, part 2.
"""

from course_utils.evaluation.abtest import (
    analysis,
    design,
    interleaving,
    quantiles,
    ratio,
    sequential,
    simulation,
    srm,
    variance,
)
from course_utils.evaluation.abtest.analysis import *
from course_utils.evaluation.abtest.design import *
from course_utils.evaluation.abtest.interleaving import *
from course_utils.evaluation.abtest.quantiles import *
from course_utils.evaluation.abtest.ratio import *
from course_utils.evaluation.abtest.sequential import *
from course_utils.evaluation.abtest.simulation import *
from course_utils.evaluation.abtest.srm import *
from course_utils.evaluation.abtest.variance import *

__all__ = [
    *design.__all__,
    *analysis.__all__,
    *simulation.__all__,
    *sequential.__all__,
    *interleaving.__all__,
    *srm.__all__,
    *variance.__all__,
    *ratio.__all__,
    *quantiles.__all__,
]
