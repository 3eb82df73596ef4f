"""Steps 3-4, features: item content, point-in-time user and item features, ranking features.

:mod:`.content` turns the catalogue into vectors (TF-IDF over genres, tags and decade) for
the content-based model and the two-tower's item tower; :mod:`.point_in_time` computes user,
item and context features as of a cutoff, the way a feature store serves them (notebook
03); :mod:`.ranking` builds the ranker's feature tables for candidate pairs (notebook 04,
part 2); :mod:`.training_set` builds the ranker's point-in-time training examples
(as-of joins, label windows, sampled negatives). Depends only on :mod:`course_utils.data`.
"""

from course_utils.features import content, point_in_time, ranking, training_set
from course_utils.features.content import *
from course_utils.features.point_in_time import *
from course_utils.features.ranking import *
from course_utils.features.training_set import *

__all__ = [*content.__all__, *point_in_time.__all__, *ranking.__all__, *training_set.__all__]
