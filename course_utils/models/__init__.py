"""Every recommender in the course, all following one contract (see ``base``).

Each model module is short enough to read as its maths. ``ALL_MODELS`` lists the
exported classes; the shared contract test runs on every one of them.
"""

from course_utils.models.base import NotFittedError, Recommender, top_k
from course_utils.models.baselines import Popularity, Random
from course_utils.models.content import ContentBased
from course_utils.models.hybrid import Hybrid
from course_utils.models.vocab import Vocabulary

ALL_MODELS: list[type[Recommender]] = [Popularity, Random, ContentBased, Hybrid]

__all__ = ["NotFittedError", "Recommender", "Vocabulary", "top_k", "Popularity", "Random", "ContentBased", "Hybrid", "ALL_MODELS"]
