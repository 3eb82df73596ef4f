"""Step 5, evaluation: metrics, the evaluation harness, offline analyses, tuning, A/B testing.

:mod:`.metrics` holds the ranking and beyond-accuracy metrics; :mod:`.harness` evaluates a
model on a split with bootstrap intervals and paired comparisons; :mod:`.tuning` chooses
hyperparameters on validation. The offline analyses of notebook 05 are :mod:`.scores`,
:mod:`.sampled`, :mod:`.segments` and :mod:`.beyond_accuracy`; notebook 04's cold-start and
ablation experiments are :mod:`.cold_start` and :mod:`.ranker_analysis`. Online evaluation lives in
the :mod:`.abtest` subpackage (design and power, analysis, simulation, sequential tests,
interleaving, SRM, CUPED, ratio metrics, percentile guardrails); :mod:`.off_policy` estimates a
new policy's click rate from logged propensities (IPS). Notebooks 02-04 already use the harness; notebook 05 teaches all of it.
"""

from course_utils.evaluation import (
    abtest,
    beyond_accuracy,
    cold_start,
    harness,
    metrics,
    off_policy,
    ranker_analysis,
    sampled,
    scores,
    segments,
    tuning,
)
from course_utils.evaluation.beyond_accuracy import *
from course_utils.evaluation.cold_start import *
from course_utils.evaluation.harness import *
from course_utils.evaluation.metrics import *
from course_utils.evaluation.off_policy import *
from course_utils.evaluation.ranker_analysis import *
from course_utils.evaluation.sampled import *
from course_utils.evaluation.scores import *
from course_utils.evaluation.segments import *
from course_utils.evaluation.tuning import *

__all__ = [
    *metrics.__all__,
    *harness.__all__,
    *tuning.__all__,
    *scores.__all__,
    *sampled.__all__,
    *segments.__all__,
    *beyond_accuracy.__all__,
    *cold_start.__all__,
    *ranker_analysis.__all__,
    *off_policy.__all__,
    "metrics",
    "abtest",
]
