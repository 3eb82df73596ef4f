"""course_utils: the tested package behind 'Recommender System Design, step by step'.

Its folders are the course's concerns, in the order a learner meets them:

=======================  ====  ==========================================================
package                  step  holds
=======================  ====  ==========================================================
``design``               1-2   requirements, capacity, the design diagrams, labels
``data``                 3     schema, Dataset, MovieLens loader, synthetic generator,
                               splits, validation, EDA helpers
``features``             3-4   item content, point-in-time features, ranking features
``models``               4     every recommender (one contract) and candidate generation
``evaluation``           5     metrics, the harness, tuning, offline analyses, A/B tests
``serving``              6     artifacts, the service, the HTTP endpoint, feature store,
                               re-ranking
``monitoring``           7     request log, summaries, drift, alerts, freshness, incidents
``exercises``            -     auto-checked exercises and the exercise builder (tooling)
``benchmark``            -     speed and quality benchmarks (``python -m course_utils.benchmark``)
``notebooks``            -     the notebook runner and CI entry point (tooling)
``site``                 -     the course website builder (``python -m course_utils.notebooks site``; tooling)
=======================  ====  ==========================================================

Lower layers never import higher ones: ``data`` imports nothing else from the package;
``features`` builds on ``data``; ``models`` on both; ``evaluation`` on models; ``serving``
and ``monitoring`` on everything below them; ``design`` uses only the data schema. A test
(``tests/test_package_map.py``) enforces it. Nothing heavy runs at import time; import
from a package, e.g. ``from course_utils.data import load_dataset``.
"""

__version__ = "0.1.0"
