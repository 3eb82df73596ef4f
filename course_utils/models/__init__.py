"""Every recommender in the course, all following one contract (see ``base``).

Each model module is short enough to read as its maths. ``ALL_MODELS`` lists the
exported classes; the shared contract test runs on every one of them.
"""

from course_utils.models.als import ALS
from course_utils.models.base import NotFittedError, Recommender, top_k
from course_utils.models.baselines import Popularity, Random
from course_utils.models.content import ContentBased
from course_utils.models.ease import EASE
from course_utils.models.hybrid import Hybrid
from course_utils.models.knn import ItemKNN
from course_utils.models.svd import PureSVD
from course_utils.models.two_stage import TwoStage
from course_utils.models.two_tower import TwoTower
from course_utils.models.vocab import Vocabulary

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

__all__ = [
    "NotFittedError",
    "Recommender",
    "Vocabulary",
    "top_k",
    "Popularity",
    "Random",
    "PureSVD",
    "ALS",
    "EASE",
    "ItemKNN",
    "ContentBased",
    "Hybrid",
    "TwoTower",
    "TwoStage",
    "ALL_MODELS",
]
