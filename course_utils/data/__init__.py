"""Step 3, data: the schema, the Dataset, the loaders, the synthetic generator, splits, validation.

:mod:`.schema` names every column once; :class:`Dataset` holds interactions, items, users
and tags; :func:`load_movielens` finds, verifies and caches MovieLens (:mod:`.movielens`);
:func:`make_synthetic` generates the streaming-platform scenario (:mod:`.synthetic`) and
:func:`simulate_impressions` the rows it showed (:mod:`.impressions`);
:mod:`.splits` holds the temporal and random splits and the course's benchmark protocol;
:func:`validate_dataset` checks a dataset before training (:mod:`.validation`); :mod:`.eda`
measures how concentrated popularity is. This is the lowest layer: it imports nothing else
from the package. Every notebook loads its data through it; notebook 03 teaches it.
"""

from course_utils.data import (
    dataset,
    eda,
    impressions,
    movielens,
    schema,
    splits,
    synthetic,
    validation,
)
from course_utils.data.dataset import *
from course_utils.data.eda import *
from course_utils.data.impressions import *
from course_utils.data.movielens import *
from course_utils.data.splits import *
from course_utils.data.synthetic import *
from course_utils.data.validation import *

__all__ = [
    *movielens.__all__,
    *dataset.__all__,
    *synthetic.__all__,
    *impressions.__all__,
    *splits.__all__,
    *validation.__all__,
    *eda.__all__,
    "schema",
]
