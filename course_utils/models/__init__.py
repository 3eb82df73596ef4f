"""Step 4, models: every recommender in the course, all following one contract, and candidates.

Each model module is short enough to read as its maths; ``ALL_MODELS`` lists the exported
classes, and the shared contract test runs on every one of them. :mod:`.candidates` merges
the top-N of several retrievers into the candidate set the ranker scores. Models depend on
:mod:`course_utils.data` and :mod:`course_utils.features`, never on evaluation or serving.
"""

from course_utils.models import (
    als,
    base,
    baselines,
    candidates,
    content,
    ease,
    hybrid,
    knn,
    svd,
    two_stage,
    two_tower,
    vocab,
)
from course_utils.models.als import *
from course_utils.models.base import *
from course_utils.models.baselines import *
from course_utils.models.candidates import *
from course_utils.models.content import *
from course_utils.models.ease import *
from course_utils.models.hybrid import *
from course_utils.models.knn import *
from course_utils.models.svd import *
from course_utils.models.two_stage import *
from course_utils.models.two_tower import *
from course_utils.models.vocab import *

ALL_MODELS: list[type[Recommender]] = [
    Popularity,
    Random,
    PureSVD,
    ALS,
    EASE,
    ItemKNN,
    ContentBased,
    Hybrid,
    TwoTower,
    TwoStage,
]
"""Every recommender class; the shared contract test runs on each."""

__all__ = [
    *base.__all__,
    *vocab.__all__,
    *baselines.__all__,
    *svd.__all__,
    *als.__all__,
    *ease.__all__,
    *knn.__all__,
    *content.__all__,
    *hybrid.__all__,
    *two_tower.__all__,
    *two_stage.__all__,
    *candidates.__all__,
    "ALL_MODELS",
]
