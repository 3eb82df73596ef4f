"""Two-stage recommender: retrievers propose candidates, a gradient-boosted ranker orders them.

Stage 1 (:mod:`course_utils.models.candidates`): the union of the top-N unseen items of several
retrievers (EASE, ALS and popularity by default). Stage 2: a pointwise classifier,
scikit-learn's ``HistGradientBoostingClassifier``, estimates

    p(u, i) = P(user u rates candidate i >= 4 next | features(u, i))

from the (user, candidate) features of :mod:`course_utils.features.ranking`, and the
candidates are sorted by ``p``. Items that are not candidates score -1.

**Where the ranker's labels come from.** The ranker must learn from the *future* of its
features, without touching the test period. :meth:`TwoStage.fit` therefore carves a
validation window out of the training data (:func:`course_utils.data.splits.validation_split`:
each user's last 20 % of train):

1. retrievers and feature tables are fitted on ``val.train`` only (feature cutoff = the
   last ``val.train`` timestamp + 1 s), candidates are generated for the validation users;
2. label = the candidate is a relevant validation-window item (rating >= 4);
3. the ranker is fitted on these rows: all positives, a seeded share of negatives, every
   user's positives weighted to the same total (NDCG averages over users), and
   monotonic constraints on the retriever ranks and scores (see :func:`fit_ranker`);
4. retrievers and feature tables are refitted on the full training data, so at test time
   the ranker sees features computed exactly the same way, one window later.

The windows are per user, so "before the window" means "in ``val.train``": a user's
features may include *other* users' events from after that user's window starts, exactly
as the benchmark's per-user test split lets training data contain other users' later
events. No validation-window row ever enters a feature, and no test row enters anything
(``tests/test_two_stage.py`` checks both). Time-dependent features are computed as of each
user's own last interaction (see :mod:`course_utils.features.ranking`).

Every setting here (N = 200, the features, the tree settings, negative share, user
balancing) was chosen by cross-validation over users on the validation window
(:mod:`course_utils.evaluation.ranker_analysis`), never on test.

Reference: Covington, Adams and Sargin, *Deep Neural Networks for YouTube
Recommendations*, RecSys 2016 (candidate generation + ranking).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.data.splits import RELEVANCE_THRESHOLD, Split, validation_split
from course_utils.features.ranking import feature_tables, ranking_features
from course_utils.models.base import Recommender
from course_utils.models.candidates import candidate_recall_table, candidate_sources, retrieve

__all__ = [
    "NON_CANDIDATE_SCORE",
    "TwoStage",
    "RankerData",
    "DEFAULT_RANKER_PARAMS",
    "default_retrievers",
    "bag_rankers",
    "fit_bagged_ranker",
    "fit_retrievers",
    "ranker_training_data",
    "fit_ranker",
    "predict_ranker",
    "retriever_feature_names",
    "monotonic_constraints",
]

DEFAULT_RANKER_PARAMS = {
    "learning_rate": 0.05,
    "max_iter": 300,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 100,
    "l2_regularization": 10.0,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 20,
}
NON_CANDIDATE_SCORE = -1.0  # below every probability: non-candidates rank last


def _one_openmp_thread():
    """Run the trees on one OpenMP thread.

    A tree over ~10^5 rows is too little work to amortise OpenMP's synchronisation:
    on a busy 2-core machine two threads made fitting 10-100x slower in wall time than
    one, and one thread never fights other processes for the cores.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def predict_ranker(ranker, features: pd.DataFrame) -> np.ndarray:
    """The ranker's probability that each candidate row is relevant."""
    with _one_openmp_thread():
        return ranker.predict_proba(features)[:, 1]


def default_retrievers(
    random_state: int = 0,
    *,
    items: pd.DataFrame | None = None,
    tag_events: pd.DataFrame | None = None,
    two_tower: bool = False,
) -> dict[str, Recommender]:
    """Unfitted default candidate sources: ``{"ease": EASE(), "als": ALS(), "pop": Popularity()}``.

    ``random_state`` seeds the stochastic ones (ALS, and the two-tower model when
    ``two_tower=True``, which needs ``items`` and reads point-in-time tags from
    ``tag_events``; without ``tag_events`` it reads no user tags at all, only genres,
    decade and year, because a catalogue's tag lists may hold tags from after the cutoff).

    Examples
    --------
    >>> sorted(default_retrievers(3))
    ['als', 'ease', 'pop']
    >>> default_retrievers(3)["als"].random_state
    3
    """
    from course_utils.models.als import ALS
    from course_utils.models.baselines import Popularity
    from course_utils.models.ease import EASE

    out = {"ease": EASE(), "als": ALS(random_state=random_state), "pop": Popularity()}
    if two_tower:
        from course_utils.models.two_tower import TwoTower

        # without tag events the catalogue's tags may be all-time (they leak the future):
        # the item tower then reads only what a studio supplies (genres, decade, year)
        content = ("genres", "tags", "decade") if tag_events is not None else ("genres", "decade")
        out["twotower"] = TwoTower(
            items=items, tag_events=tag_events, content=content, random_state=random_state
        )
    return out


def _named(retrievers) -> dict[str, Recommender]:
    """Retrievers as an ordered name -> model dict (a list gets lower-case class names)."""
    if retrievers is None:
        return default_retrievers()
    if isinstance(retrievers, Mapping):
        named = dict(retrievers)
    elif isinstance(retrievers, (list, tuple)):
        named = {type(m).__name__.lower(): m for m in retrievers}
        if len(named) != len(retrievers):
            raise ValueError("retrievers of the same class need names; pass a dict name -> model")
    else:
        raise TypeError(
            f"retrievers must be a dict name -> model or a list; got {type(retrievers).__name__}"
        )
    if not named:
        raise ValueError("retrievers must name at least one model")
    for name, model in named.items():
        if not isinstance(model, Recommender):
            raise TypeError(f"retriever {name!r} must be a Recommender; got {type(model).__name__}")
    return named


def fit_retrievers(retrievers, interactions: pd.DataFrame) -> dict[str, Recommender]:
    """Fit a copy of every retriever on ``interactions`` (the arguments are never modified)."""
    return {name: copy.deepcopy(m).fit(interactions) for name, m in _named(retrievers).items()}


def retriever_feature_names(columns) -> list[str]:
    """The retriever features among ``columns``: ``<s>_rank``, ``<s>_score``, ``n_sources``."""
    return [c for c in columns if c.endswith(("_rank", "_score")) or c == "n_sources"]


def monotonic_constraints(columns) -> dict[str, int]:
    """A better retriever rank never lowers the predicted relevance, nor does a higher score.

    Without the constraint the trees fit noise between neighbouring ranks (a few hundred
    users per rank) and reorder the top of the list at random.

    Examples
    --------
    >>> monotonic_constraints(["ease_rank", "ease_score", "item_pop"])
    {'ease_rank': -1, 'ease_score': 1}
    """
    return {c: -1 if c.endswith("_rank") else 1 for c in columns if c.endswith(("_rank", "_score"))}


def _cutoff(interactions: pd.DataFrame) -> pd.Timestamp:
    """Feature cutoff just after the last interaction, so every interaction counts."""
    return interactions[S.TIMESTAMP].max() + pd.Timedelta(seconds=1)


@dataclass
class RankerData:
    """The ranker's training set, built on a validation split carved from train.

    Attributes
    ----------
    candidates : DataFrame
        :func:`course_utils.models.candidates.retrieve` output for the validation users.
    features : DataFrame
        :func:`course_utils.features.ranking.ranking_features` rows, aligned with ``candidates``.
    labels : ndarray of int8
        1 when the candidate is relevant in the validation window.
    split : Split
        The validation split (``split.train`` fed retrievers and features, ``split.test``
        the labels).
    """

    candidates: pd.DataFrame
    features: pd.DataFrame
    labels: np.ndarray
    split: Split


def ranker_training_data(
    train: pd.DataFrame,
    items: pd.DataFrame,
    retrievers=None,
    n_candidates: int = 200,
    *,
    recent_days: float = 365,
    recent_items: int = 5,
    fitted: Mapping[str, Recommender] | None = None,
) -> RankerData:
    """Candidates, features and labels for training the ranker, using ``train`` only.

    Retrievers and feature tables see ``validation_split(train).train``; labels come
    from its validation window. Pass ``fitted`` (retrievers already fitted on that
    ``val.train``) to reuse them across calls, e.g. for several ``n_candidates``.

    Examples
    --------
    >>> from course_utils.data.splits import benchmark_split
    >>> from course_utils.data import load_dataset
    >>> data = ranker_training_data(benchmark_split().train, load_dataset().items)  # doctest: +SKIP
    >>> data.labels.mean()  # doctest: +SKIP
    """
    threshold = RELEVANCE_THRESHOLD if S.RATING in train else None
    val = validation_split(train, relevance_threshold=threshold)
    models = dict(fitted) if fitted is not None else fit_retrievers(retrievers, val.train)
    candidates = retrieve(models, val.eval_users, n_candidates)
    tables = feature_tables(
        val.train, items, _cutoff(val.train), recent_days=recent_days, recent_items=recent_items
    )
    features = ranking_features(candidates, tables)
    key = [S.USER_ID, S.ITEM_ID]
    labelled = candidates[key].merge(val.relevant.assign(_rel=1), on=key, how="left")
    labels = labelled["_rel"].fillna(0).to_numpy(dtype=np.int8)
    return RankerData(candidates, features, labels, val)


def fit_ranker(
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    user_ids=None,
    params: Mapping | None = None,
    negative_share: float = 0.15,
    random_state: int = 0,
):
    """Fit the pointwise ranker on all positives and a seeded ``negative_share`` of negatives.

    Parameters
    ----------
    features : DataFrame
        One row per (user, candidate).
    labels : array of 0/1
        1 when the candidate is relevant.
    user_ids : array, optional
        The user of each row. When given, every user's positives share the same total
        weight, ``w = mean positives per user / positives of the user``: NDCG averages
        over users, so a user with 40 relevant window items should not count 40 times
        as much as a user with one. ``None`` weights every row 1.
    params : dict, optional
        Overrides of :data:`DEFAULT_RANKER_PARAMS`. Retriever ranks and scores get
        :func:`monotonic_constraints` unless ``params`` sets ``monotonic_cst``.
    negative_share : float
        Share of the negative rows kept (seeded); the ranking within a user is unchanged
        by dropping negatives at random, only the base rate moves.
    random_state : int
        Seeds the negative sampling and the trees.

    Returns
    -------
    HistGradientBoostingClassifier, or ``None`` when the labels hold a single class
    (nothing to learn); callers then fall back to reciprocal-rank fusion.

    Examples
    --------
    >>> X = pd.DataFrame({"a_rank": [1.0, 2.0, 3.0, 4.0] * 25})
    >>> y = np.array([1, 0, 0, 0] * 25)
    >>> ranker = fit_ranker(X, y, negative_share=1.0)
    >>> bool(predict_ranker(ranker, X.head(2))[0] > 0.5)
    True
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    if not 0.0 < negative_share <= 1.0:
        raise ValueError(f"negative_share must be in (0, 1]; got {negative_share}")
    labels = np.asarray(labels)
    if len(labels) != len(features):
        raise ValueError(
            f"labels must have one entry per feature row ({len(features)}); got {len(labels)}"
        )
    if len(np.unique(labels)) < 2:
        return None
    rng = np.random.default_rng(random_state)
    keep = (labels == 1) | (rng.random(len(labels)) < negative_share)
    weight = None
    if user_ids is not None:
        users = np.asarray(user_ids)[keep]
        positive = labels[keep] == 1
        _, inverse, per_user = np.unique(users[positive], return_inverse=True, return_counts=True)
        weight = np.ones(int(keep.sum()))
        weight[positive] = per_user.mean() / per_user[inverse.ravel()]
    params = {**DEFAULT_RANKER_PARAMS, **(params or {})}
    params.setdefault("monotonic_cst", monotonic_constraints(features.columns))
    if keep.sum() < 10 * params["min_samples_leaf"]:  # tiny data: let small leaves form
        params["min_samples_leaf"] = max(1, int(keep.sum()) // 10)
        params["early_stopping"] = False
    ranker = HistGradientBoostingClassifier(**params, random_state=random_state)
    with _one_openmp_thread():
        return ranker.fit(features[keep], labels[keep], sample_weight=weight)


def bag_rankers(rankers):
    """One ``HistGradientBoostingClassifier`` whose raw score is the mean of ``rankers``'.

    Averaging the log-odds of ``n`` boosted ensembles is itself a boosted ensemble: every
    member's trees with their leaf values divided by ``n``, and the mean baseline. The result
    is an ordinary fitted classifier (``predict_proba``, ``decision_function``, ``n_iter_``
    = all trees), so it is served like a single ranker.

    Examples
    --------
    >>> X = pd.DataFrame({"a_rank": [1.0, 2.0, 3.0, 4.0] * 25})
    >>> y = np.array([1, 0, 0, 0] * 25)
    >>> members = [fit_ranker(X, y, negative_share=0.5, random_state=s) for s in (0, 1)]
    >>> bag = bag_rankers(members)
    >>> mean = np.mean([m.decision_function(X) for m in members], axis=0)
    >>> bool(np.allclose(bag.decision_function(X), mean))
    True
    """
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    rankers = list(rankers)
    if not rankers:
        raise ValueError("bag_rankers needs at least one fitted ranker; got none")
    bag = copy.deepcopy(rankers[0])
    predictors = []
    for member in rankers:
        for (tree,) in member._predictors:
            nodes = tree.nodes.copy()
            nodes["value"] = nodes["value"] / len(rankers)
            predictors.append(
                [TreePredictor(nodes, tree.binned_left_cat_bitsets, tree.raw_left_cat_bitsets)]
            )
    bag._predictors = predictors
    bag._baseline_prediction = np.mean([m._baseline_prediction for m in rankers], axis=0)
    return bag


def fit_bagged_ranker(features, labels, *, n_rankers: int = 1, random_state: int = 0, **kwargs):
    """``n_rankers`` rankers of :func:`fit_ranker` (seeds ``random_state``, then
    ``1000 random_state + b``), bagged by :func:`bag_rankers`; one ranker is returned as is.

    Returns ``None`` when the labels hold a single class (see :func:`fit_ranker`).

    Examples
    --------
    >>> X = pd.DataFrame({"a_rank": [1.0, 2.0, 3.0, 4.0] * 25})
    >>> bag = fit_bagged_ranker(X, np.array([1, 0, 0, 0] * 25), n_rankers=2, negative_share=0.5)
    >>> type(bag).__name__
    'HistGradientBoostingClassifier'
    """
    if isinstance(n_rankers, bool) or not isinstance(n_rankers, (int, np.integer)) or n_rankers < 1:
        raise ValueError(f"n_rankers must be an int >= 1; got {n_rankers!r}")
    seeds = [random_state] + [random_state * 1000 + b for b in range(1, n_rankers)]
    rankers = [fit_ranker(features, labels, random_state=seed, **kwargs) for seed in seeds]
    if any(r is None for r in rankers):
        return None
    return rankers[0] if n_rankers == 1 else bag_rankers(rankers)


def _rrf(features: pd.DataFrame, sources: list[str]) -> np.ndarray:
    """Reciprocal-rank fusion sum_s 1 / (60 + rank_s), in (0, 1): the no-ranker fallback."""
    return sum(1.0 / (60.0 + features[f"{s}_rank"].to_numpy()) for s in sources)


class TwoStage(Recommender):
    """Candidates from several retrievers, re-ranked by gradient-boosted trees.

    Parameters
    ----------
    items : DataFrame
        The catalogue (``item_id``, ``genres``, ``year``) for the item features.
    retrievers : dict name -> Recommender, optional
        Unfitted candidate sources; default ``{"ease": EASE(), "als": ALS(),
        "pop": Popularity(), "twotower": TwoTower(items)}`` seeded by ``random_state``
        (:func:`default_retrievers`). Copies are fitted; the arguments are never modified.
    n_candidates : int, default 200
        Items taken from each retriever.
    ranker_params : dict, optional
        Overrides of :data:`DEFAULT_RANKER_PARAMS` for ``HistGradientBoostingClassifier``.
    negative_share : float, default 0.15
        Share of negative (user, candidate) rows kept for training the ranker.
    balance_users : bool, default True
        Give every validation user's relevant candidates the same total weight (see
        :func:`fit_ranker`).
    retriever_features : bool, default True
        Give the ranker the retrievers' ranks and scores (False is the ablation).
    recent_days : float, default 365
        Window of the recent-popularity feature ``item_pop_recent_at_user``.
    recent_items : int, default 5
        How many of the user's last items ``recent_similarity`` compares a candidate with.
    n_rankers : int, default 5
        Rankers bagged over seeds (each its own negative sample and tree seed); their mean
        log-odds is the score (:func:`bag_rankers`).
    two_tower : bool, default True
        With the default retrievers, add the two-tower model (point-in-time content from
        ``tag_events``) as a fourth candidate source.

    Notes
    -----
    ``two_tower=True`` with ``n_rankers=5`` was chosen on the validation window (each user's
    last 20 % of train; seed 0): NDCG@10 0.1508 (1.215x EASE, paired 95 % interval of the lift
    +0.0133 to +0.0398) against 0.1349 (1.087x, -0.0030 to +0.0249) for EASE + ALS +
    popularity with one ranker (0.1325, 1.068x at seed 1).
    tag_events : DataFrame, optional
        Timestamped tags for the content-reading sources (point-in-time content).
    random_state : int, default 0
        Seeds the negative sampling and the ranker, and the stochastic default retrievers
        (ALS, the two-tower model): one seed for the whole pipeline.

    Attributes
    ----------
    retrievers_ : dict of fitted retrievers (refitted on the full training data)
    ranker_ : fitted HistGradientBoostingClassifier, or None (single-class labels: the
        model then ranks candidates by reciprocal-rank fusion)
    feature_names_ : list of str
    candidate_recall_ : dict source -> mean candidate recall on validation (plus "union")
    fit_timings_ : dict of seconds per fit phase
    last_timings_ : dict ``candidates_ms``, ``features_ms``, ``ranking_ms`` of the last
        ``recommend`` / ``score`` call

    Examples
    --------
    >>> from course_utils.models import TwoStage
    >>> from course_utils.data.splits import benchmark_split
    >>> from course_utils.data import load_dataset
    >>> split = benchmark_split()  # doctest: +SKIP
    >>> model = TwoStage(items=load_dataset().items).fit(split.train)  # doctest: +SKIP
    >>> ids, scores = model.recommend(split.eval_users, k=10)  # doctest: +SKIP
    >>> model.last_timings_  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        items: pd.DataFrame | None = None,
        retrievers: Mapping[str, Recommender] | None = None,
        n_candidates: int = 200,
        ranker_params: dict | None = None,
        negative_share: float = 0.15,
        balance_users: bool = True,
        retriever_features: bool = True,
        recent_days: float = 365,
        recent_items: int = 5,
        n_rankers: int = 5,
        two_tower: bool = True,
        tag_events: pd.DataFrame | None = None,
        random_state: int = 0,
    ) -> None:
        self.items = items
        self.retrievers = retrievers
        self.n_candidates = n_candidates
        self.ranker_params = ranker_params
        self.negative_share = negative_share
        self.balance_users = balance_users
        self.retriever_features = retriever_features
        self.recent_days = recent_days
        self.recent_items = recent_items
        self.n_rankers = n_rankers
        self.two_tower = two_tower
        self.tag_events = tag_events
        self.random_state = random_state

    def _sources(self):
        """The unfitted retrievers: the given ones, or the defaults seeded by random_state."""
        if self.retrievers is not None:
            return self.retrievers
        return default_retrievers(
            self.random_state, items=self.items, tag_events=self.tag_events,
            two_tower=self.two_tower,
        )  # fmt: skip

    # ------------------------------------------------------------------ fit
    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        if not isinstance(self.items, pd.DataFrame):
            raise TypeError(
                f"TwoStage needs items=<catalogue DataFrame>; got {type(self.items).__name__}"
            )
        if S.TIMESTAMP not in interactions:
            raise ValueError("TwoStage needs a 'timestamp' column to carve its validation window")
        if (
            isinstance(self.n_candidates, bool)
            or not isinstance(self.n_candidates, (int, np.integer))
            or self.n_candidates < 1
        ):
            raise ValueError(f"n_candidates must be an int >= 1; got {self.n_candidates!r}")
        timings, t0 = {}, time.perf_counter()
        data = ranker_training_data(
            interactions, self.items, self._sources(), self.n_candidates,
            recent_days=self.recent_days, recent_items=self.recent_items,
        )  # fmt: skip
        timings["validation_data_s"] = time.perf_counter() - t0
        self.sources_ = candidate_sources(data.candidates)
        columns = list(data.features.columns)
        if not self.retriever_features:
            columns = [c for c in columns if c not in retriever_feature_names(columns)]
        self.feature_names_ = columns
        self.candidate_recall_ = candidate_recall_table(data.candidates, data.split)[
            "recall"
        ].to_dict()
        self.n_training_rows_ = len(data.labels)

        t0 = time.perf_counter()
        self.ranker_ = fit_bagged_ranker(
            data.features[columns], data.labels, n_rankers=self.n_rankers,
            params=self.ranker_params,
            user_ids=data.candidates[S.USER_ID] if self.balance_users else None,
            negative_share=self.negative_share, random_state=self.random_state,
        )  # fmt: skip
        timings["ranker_s"] = time.perf_counter() - t0
        del data  # free the validation retrievers' memory before refitting

        t0 = time.perf_counter()
        self.retrievers_ = fit_retrievers(self._sources(), interactions)
        self.tables_ = feature_tables(
            interactions, self.items, _cutoff(interactions),
            recent_days=self.recent_days, recent_items=self.recent_items,
        )  # fmt: skip
        timings["refit_s"] = time.perf_counter() - t0
        self.fit_timings_ = timings
        self.last_timings_ = {"candidates_ms": 0.0, "features_ms": 0.0, "ranking_ms": 0.0}

    # ------------------------------------------------------------------ score
    def rank_candidates(self, user_ids) -> pd.DataFrame:
        """Candidates of ``user_ids`` with their features and the ranker's ``score`` column.

        Updates :attr:`last_timings_` (added to the running totals of the current call).
        """
        self._check_fitted()
        t0 = time.perf_counter()
        cands = retrieve(self.retrievers_, user_ids, self.n_candidates)
        cands = cands[self.items_.contains(cands[S.ITEM_ID].to_numpy())]
        t1 = time.perf_counter()
        feats = ranking_features(cands, self.tables_)
        t2 = time.perf_counter()
        if self.ranker_ is None:
            score = _rrf(feats, self.sources_)
        else:
            score = predict_ranker(self.ranker_, feats[self.feature_names_])
        t3 = time.perf_counter()
        for key, dt in zip(self.last_timings_, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            self.last_timings_[key] += 1000.0 * dt
        return cands[[S.USER_ID, S.ITEM_ID]].assign(score=score)

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        users, inverse = np.unique(self.users_.ids(user_index), return_inverse=True)
        ranked = self.rank_candidates(users)
        out = np.full((len(users), self.n_items_), NON_CANDIDATE_SCORE)
        rows = np.searchsorted(users, ranked[S.USER_ID].to_numpy())
        out[rows, self.items_.index(ranked[S.ITEM_ID].to_numpy())] = ranked["score"].to_numpy()
        return out[inverse.ravel()]

    def _reset_timings(self) -> None:
        self._check_fitted()
        self.last_timings_ = dict.fromkeys(self.last_timings_, 0.0)

    def recommend(self, user_ids, k: int = 10, *, exclude_seen: bool = True):
        """Top-k items by the ranker's probability (see :meth:`Recommender.recommend`)."""
        self._reset_timings()
        return super().recommend(user_ids, k, exclude_seen=exclude_seen)

    def score(self, user_ids, item_ids) -> np.ndarray:
        """Ranker probabilities of (user, item) pairs; -1 for non-candidates, NaN for unknown items."""
        self._reset_timings()
        return super().score(user_ids, item_ids)
