"""course_utils: the tested package behind 'Recommender System Design, step by step'.

Nothing heavy runs at import time; import the submodules you need, e.g.
``from course_utils.data import load_dataset``.
"""

__version__ = "0.1.0"
