"""A trained recommender turned into the plain arrays a serving process needs.

Training code lives in DataFrames and model objects; the online service should depend on
neither. :func:`export_pipeline` copies what a request needs out of fitted models into a
:class:`ServingPipeline`: named numpy arrays grouped by component, plus a small JSON-able
config. Every array is indexed by the same two vocabularies (sorted user ids and item
ids, see :class:`~course_utils.models.Vocabulary`), so a lookup is one ``searchsorted``.

Components and their arrays:

- ``catalogue``: ``item_ids``, ``titles``, ``genres`` (multi-hot, the MMR diversity
  vectors), ``genre_names``, ``kids_safe`` (the maturity filter), ``popularity``
  (training interactions per item: the cold-start ranking) and the TF-IDF content rows
  (``content_data``, ``content_indices``, ``content_indptr`` and ``content_blocks``, the
  column bounds of each token family: the cold-start content ranking, the same as
  :class:`~course_utils.models.ContentBased`'s, see
  :func:`course_utils.features.item_content_blocks`);
- ``users``: ``user_ids`` and the training histories as CSR rows (``history_indptr``,
  ``history_indices``): the watched items to exclude and the input of item-item scoring;
- ``features`` (with a ranker): the feature store stand-in, dense user and item tables
  of the ranker's features (see :mod:`course_utils.serving.feature_store`);
- ``retriever.<name>``, one per candidate source, by kind:

  ========================  =====================================  =========================
  kind                      arrays                                 scores of a user
  ========================  =====================================  =========================
  ``embedding``             ``user_factors``, ``item_factors``,    ``U[u] . V^T / t``
                            ``temperature``                        (ALS, two-tower)
  ``item_item``             ``weights`` (n_items x n_items),        ``x_u B`` (EASE)
                            ``history_data``, ``default_value``
  ``history_factors``       ``item_factors``, ``history_data``,    ``(x_u V) V^T`` (PureSVD)
                            ``default_value``
  ``popularity``            ``scores``                             the same for everyone
  ========================  =====================================  =========================

  where ``x_u`` is the user's history row (``history_data``: 1s, or ratings when the model
  used them; items watched after training count ``default_value``), so item-item and
  history-factor sources
  react to the items of the current request, while an embedding user vector is fixed at
  training time;
- ``ranker`` (optional): a :class:`~course_utils.serving.trees.TreeEnsemble`'s arrays plus
  ``feature_names``, its training columns in order (the config's ``ranker_features`` must
  equal them; see :mod:`course_utils.serving.checks` for every load-time check).
- ``index.<name>`` (optional, embedding retrievers only): an approximate nearest-neighbour
  index over the retriever's item factors (:mod:`course_utils.serving.index`, stored as
  plain arrays), chosen by ``config["index"][name]`` (kind and parameters, so the
  manifest records them) and added by :func:`attach_index`; the service then searches it
  instead of scoring every item.

"Kids-safe" uses the MovieLens ``Children`` genre as a stand-in for the maturity ratings
a real catalogue carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.features.content import (
    align_item_rows,
    catalogue_as_of,
    genre_multi_hot,
    item_content_blocks,
)
from course_utils.models.base import Recommender
from course_utils.serving.checks import (
    PipelineError,
    check_array_types,
    check_config,
    check_contents,
)
from course_utils.serving.feature_store import FEATURE_ARRAYS, FeatureStore, export_feature_store
from course_utils.serving.trees import ARRAY_DTYPES as TREE_ARRAYS
from course_utils.serving.trees import TreeEnsemble

__all__ = [
    "ServingPipeline",
    "attach_index",
    "export_pipeline",
    "retriever_arrays",
    "retriever_scores",
    "REQUIRED_ARRAYS",
    "KIDS_GENRE",
]

KIDS_GENRE = "Children"
RETRIEVER_ARRAYS = {
    "embedding": ("user_factors", "item_factors", "temperature"),
    "item_item": ("weights", "history_data", "default_value"),
    "history_factors": ("item_factors", "history_data", "default_value"),
    "popularity": ("scores",),
}
HISTORY_KINDS = ("item_item", "history_factors")  # scored from the user's history row
REQUIRED_ARRAYS = {
    "catalogue": (
        "item_ids", "titles", "genres", "genre_names", "kids_safe", "popularity",
        "content_data", "content_indices", "content_indptr", "content_blocks",
    ),
    "users": ("user_ids", "history_indptr", "history_indices"),
    "features": FEATURE_ARRAYS,
    "ranker": (*TREE_ARRAYS, "feature_names"),  # the names pin the config's column order
}  # fmt: skip


@dataclass
class ServingPipeline:
    """Named arrays per component and a JSON-able config; see the module docstring.

    Attributes
    ----------
    components : dict of str -> dict of str -> ndarray
    config : dict
        ``retrievers`` (name -> kind, in order), ``n_candidates``, ``ranking``
        (``"ranker"``, ``"rrf"`` or ``"retriever"``), ``ranker_features`` (column order),
        ``user_features`` and ``item_features`` (column names of the feature tables).
    """

    components: dict[str, dict[str, np.ndarray]]
    config: dict = field(default_factory=dict)

    def validate(self) -> ServingPipeline:
        """Check that every component has its arrays with consistent shapes; returns self."""
        comps, cfg = self.components, self.config
        check_config(cfg, RETRIEVER_ARRAYS)
        needed = dict(REQUIRED_ARRAYS)
        if cfg["ranking"] != "ranker":  # "rrf" and "retriever" need neither features nor trees
            del needed["ranker"], needed["features"]
        for name, kind in cfg["retrievers"].items():
            if kind not in RETRIEVER_ARRAYS:
                raise ValueError(
                    f"retriever {name!r} has unknown kind {kind!r}; known: {list(RETRIEVER_ARRAYS)}"
                )
            needed[f"retriever.{name}"] = RETRIEVER_ARRAYS[kind]
        if not isinstance(comps, dict) or not all(isinstance(c, dict) for c in comps.values()):
            raise TypeError("components must be a dict of dicts of arrays")
        for comp, keys in needed.items():
            if comp not in comps:
                raise KeyError(f"pipeline lacks component {comp!r}")
            missing = [k for k in keys if k not in comps[comp]]
            if missing:
                raise KeyError(f"component {comp!r} lacks arrays {missing}")
        check_array_types({c: a for c, a in comps.items() if c in needed})
        n_items = len(comps["catalogue"]["item_ids"])
        n_users = len(comps["users"]["user_ids"])
        shapes = {
            ("catalogue", "titles"): (n_items,),
            ("catalogue", "kids_safe"): (n_items,),
            ("catalogue", "popularity"): (n_items,),
            ("catalogue", "content_indptr"): (n_items + 1,),
            ("users", "history_indptr"): (n_users + 1,),
        }
        for name, kind in cfg["retrievers"].items():
            arrays = comps[f"retriever.{name}"]
            if kind == "embedding":
                shapes[(f"retriever.{name}", "user_factors")] = (
                    n_users,
                    arrays["item_factors"].shape[1],
                )
            if kind in ("embedding", "history_factors"):
                shapes[(f"retriever.{name}", "item_factors")] = (
                    n_items,
                    arrays["item_factors"].shape[1],
                )
            if kind == "item_item":
                shapes[(f"retriever.{name}", "weights")] = (n_items, n_items)
            if kind == "popularity":
                shapes[(f"retriever.{name}", "scores")] = (n_items,)
            if kind in HISTORY_KINDS:
                nnz = len(comps["users"]["history_indices"])
                shapes[(f"retriever.{name}", "history_data")] = (nnz,)
        if "features" in needed:
            for key in ("user_values", "user_time", "user_genres"):
                shapes[("features", key)] = (n_users, comps["features"][key].shape[1])
            for key in ("item_values", "item_genres"):
                shapes[("features", key)] = (n_items, comps["features"][key].shape[1])
            shapes[("features", "item_event_pos")] = (n_items,)
        for (comp, key), shape in shapes.items():
            got = comps[comp][key].shape
            if got != shape:
                raise PipelineError(f"{comp}/{key}", f"must have shape {shape}; got {got}")
        for name, spec in cfg.get("index", {}).items():
            if cfg["retrievers"].get(name) != "embedding":
                raise PipelineError(f"config/index/{name}", "an index needs an embedding retriever")
            arrays = comps.get(f"index.{name}")
            if arrays is None or "meta" not in arrays:
                raise PipelineError(f"index.{name}", "component missing (with 'meta')")
            meta = json.loads(str(arrays["meta"]))
            if meta.get("kind") != spec.get("kind") or meta.get("n_items") != n_items:
                raise PipelineError(
                    f"index.{name}",
                    f"holds a {meta.get('kind')!r} index over {meta.get('n_items')} items; "
                    f"the config says {spec.get('kind')!r} over {n_items}",
                )
        bounds = comps["catalogue"]["content_blocks"]
        columns = comps["catalogue"]["content_indices"]
        if (
            bounds.ndim != 1
            or len(bounds) < 2
            or bounds[0] != 0
            or np.any(np.diff(bounds) <= 0)
            or (len(columns) and columns.max() >= bounds[-1])
        ):
            raise PipelineError(
                "catalogue/content_blocks",
                "must be increasing column bounds from 0 that cover every content column; "
                f"got {bounds.tolist()!s:.200}",
            )
        for comp, ids in (("catalogue", "item_ids"), ("users", "user_ids")):
            arr = comps[comp][ids]
            if arr.dtype.kind not in "iu" or np.any(np.diff(arr) <= 0):
                raise PipelineError(f"{comp}/{ids}", "must be strictly increasing integers")
        check_contents(comps, cfg, n_users, n_items)
        return self


# --------------------------------------------------------------------------- export
def _aligned_rows(vocab, ids: np.ndarray, what: str) -> np.ndarray:
    """Positions of ``ids`` in a model's vocabulary; every id must be known."""
    pos, known = vocab._lookup(ids)
    if not known.all():
        raise ValueError(
            f"{what}: {int((~known).sum())} ids unknown to the model, e.g. {ids[~known][:5].tolist()}"
        )
    return pos


def retriever_scores(
    kind: str, arrays: dict, user_rows: np.ndarray, history: sp.csr_matrix
) -> np.ndarray:
    """Scores of every item, shape (len(user_rows), n_items), a fresh array.

    ``history`` holds the users' history rows with the retriever's values
    (``history_data``: 1, or the rating when the model was fitted on ratings); item-item
    and history-factor kinds read it, embeddings read ``user_rows`` (known users only).
    The arithmetic is the fitted model's own, so exported scores equal the model's.

    Examples
    --------
    >>> arrays = {"user_factors": np.array([[1.0, 0.0]]), "item_factors": np.eye(2),
    ...           "temperature": np.array([0.5])}
    >>> retriever_scores("embedding", arrays, np.array([0]), sp.csr_matrix((1, 2))).tolist()
    [[2.0, 0.0]]
    """
    if kind == "embedding":
        return (arrays["user_factors"][user_rows] @ arrays["item_factors"].T) / arrays[
            "temperature"
        ][0]
    if kind == "item_item":
        return np.asarray(history @ arrays["weights"])
    if kind == "history_factors":
        V = arrays["item_factors"]
        return np.asarray(history @ V) @ V.T
    if kind == "popularity":
        return np.tile(arrays["scores"], (len(user_rows), 1))
    raise ValueError(f"unknown retriever kind {kind!r}; known: {list(RETRIEVER_ARRAYS)}")


def _history_values(model, user_ids, item_ids, seen: sp.csr_matrix) -> np.ndarray:
    """The values of the model's own user x item matrix, in the order of ``seen``'s entries."""
    if not (
        np.array_equal(model.users_.ids_, user_ids) and np.array_equal(model.items_.ids_, item_ids)
    ):
        raise ValueError(
            f"{type(model).__name__} must be fitted on the same interactions as the pipeline"
        )
    X = model._X.tocsr().copy()
    X.sort_indices()
    if not (np.array_equal(X.indptr, seen.indptr) and np.array_equal(X.indices, seen.indices)):
        raise ValueError(f"{type(model).__name__}'s matrix does not match the training histories")
    return X.data.astype(np.float64)


def retriever_arrays(
    model: Recommender, user_ids: np.ndarray, item_ids: np.ndarray, seen: sp.csr_matrix, dtype=None
):
    """``(kind, arrays)`` of a fitted retriever, rows aligned with the given vocabularies.

    Supported: ALS and TwoTower (``embedding``), EASE (``item_item``), PureSVD
    (``history_factors``) and Popularity (``popularity``). ``seen`` is the pipeline's
    users x items history (sorted CSR); history-based retrievers keep their values on it
    (``history_data``) and give items watched after training ``default_value``, the mean.
    """
    from course_utils.models.als import ALS
    from course_utils.models.baselines import Popularity
    from course_utils.models.ease import EASE
    from course_utils.models.svd import PureSVD
    from course_utils.models.two_tower import TwoTower

    model._check_fitted()
    items = _aligned_rows(model.items_, item_ids, f"{type(model).__name__} items")
    cast = (lambda a: a) if dtype is None else (lambda a: np.asarray(a, dtype=dtype))
    if isinstance(model, (ALS, TwoTower)):
        users = _aligned_rows(model.users_, user_ids, f"{type(model).__name__} users")
        if isinstance(model, ALS):
            U, V, t = model.user_factors_, model.item_factors_, 1.0
        else:
            U, V, t = model.user_vectors_, model.item_vectors_, float(model.tau)
        arrays = {
            "user_factors": cast(U[users]),
            "item_factors": cast(V[items]),
            "temperature": np.array([t]),
        }
        return "embedding", arrays
    if isinstance(model, (EASE, PureSVD)):
        values = _history_values(model, user_ids, item_ids, seen)
        history = {
            "history_data": values,
            "default_value": np.array([values.mean() if len(values) else 1.0]),
        }
        if isinstance(model, EASE):
            return "item_item", {"weights": cast(model.weights_[np.ix_(items, items)]), **history}
        return "history_factors", {"item_factors": cast(model.item_factors_[items]), **history}
    if isinstance(model, Popularity):
        return "popularity", {"scores": model.popularity_[items].astype(np.float64)}
    raise TypeError(
        f"cannot export {type(model).__name__}; supported: ALS, TwoTower, EASE, PureSVD, Popularity"
    )


def _catalogue(items: pd.DataFrame, item_ids: np.ndarray, popularity: np.ndarray) -> dict:
    table = items.drop_duplicates(S.ITEM_ID).set_index(S.ITEM_ID)
    titles = (
        table[S.TITLE].reindex(item_ids)
        if S.TITLE in table
        else pd.Series(index=item_ids, dtype=str)
    )
    titles = titles.fillna(pd.Series([f"item {i}" for i in item_ids], index=item_ids))
    genres, names, ids = genre_multi_hot(items)
    pos = pd.Index(ids).get_indexer(item_ids)
    known = pos >= 0
    G = np.zeros((len(item_ids), len(names)), dtype=np.float32)
    G[known] = genres[pos[known]]
    F, _, content_ids, blocks = item_content_blocks(items)
    content = align_item_rows(F, content_ids, item_ids)
    kids = (
        G[:, list(names).index(KIDS_GENRE)] > 0
        if KIDS_GENRE in names
        else np.zeros(len(item_ids), bool)
    )
    return {
        "item_ids": item_ids.astype(np.int64),
        "titles": titles.to_numpy(dtype=str),
        "genres": G,
        "genre_names": names.astype(str),
        "kids_safe": kids,
        "popularity": popularity.astype(np.float64),
        "content_data": content.data.astype(np.float64),
        "content_indices": content.indices.astype(np.int64),
        "content_indptr": content.indptr.astype(np.int64),
        "content_blocks": np.array(
            [b.start for b in blocks.values()] + [content.shape[1]], dtype=np.int64
        ),
    }


def attach_index(pipeline: ServingPipeline, retriever: str, kind, **params) -> ServingPipeline:
    """Index an embedding retriever's item factors; returns a new pipeline.

    ``kind`` is ``"exact"``, ``"hnsw"`` or ``"ivf"`` with its parameters
    (:func:`course_utils.serving.index.make_index`), built here over the item factors,
    or an index already built over them. It becomes the component ``index.<retriever>``
    and ``config["index"][retriever]`` records kind and parameters.

    Examples
    --------
    >>> from course_utils.models import ALS
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [10, 20, 20, 30]})
    >>> cat = pd.DataFrame({"item_id": [10, 20, 30], "title": list("ABC"),
    ...     "genres": [["Drama"]] * 3, "tags": [[]] * 3, "year": pd.array([1990] * 3, dtype="Int64")})
    >>> p = attach_index(export_pipeline(ALS(n_factors=4).fit(df), cat), "als", "hnsw", M=8)
    >>> p.config["index"]
    {'als': {'kind': 'hnsw', 'M': 8, 'ef_construction': 80, 'ef_search': 64}}
    """
    from course_utils.serving.index import make_index

    if pipeline.config["retrievers"].get(retriever) != "embedding":
        raise ValueError(
            f"retriever must name an embedding retriever of the pipeline; got {retriever!r} "
            f"(retrievers: {pipeline.config['retrievers']})"
        )
    if isinstance(kind, str):
        index = make_index(kind, **params)
        index.build(pipeline.components[f"retriever.{retriever}"]["item_factors"])
    else:
        index = kind
    config = {**pipeline.config}
    spec = {"kind": index.kind, **index.get_params()}
    config["index"] = {**config.get("index", {}), retriever: spec}
    components = {**pipeline.components, f"index.{retriever}": index.to_arrays()}
    return ServingPipeline(components, config).validate()


def export_pipeline(
    model: Recommender,
    items: pd.DataFrame,
    *,
    n_candidates: int | None = None,
    dtype=None,
    tag_events: pd.DataFrame | None = None,
    as_of=None,
    index: dict | None = None,
) -> ServingPipeline:
    """Copy a fitted model into a :class:`ServingPipeline`.

    Parameters
    ----------
    model : fitted TwoStage, or one fitted retriever (ALS, TwoTower, EASE, PureSVD, Popularity)
        A TwoStage model exports its retrievers, its feature tables and its ranker (or
        reciprocal-rank fusion when it has none); a single retriever serves its own top-N.
    items : DataFrame
        The catalogue (``item_id``, ``title``, ``genres``, ``tags``, ``year``).
    n_candidates : int, optional
        Items taken from each retriever (default: the TwoStage setting, or 200).
    dtype : numpy dtype, optional
        Cast factor and weight matrices (e.g. ``"float32"`` halves memory and scoring
        time; the default keeps the model's precision so results equal the model's).
    tag_events, as_of : DataFrame and timestamp, optional
        Point-in-time content: the catalogue's tags are rebuilt from the tags applied at or
        before ``as_of`` (the end of the training data), never later ones
        (:func:`course_utils.features.catalogue_as_of`).
    index : dict, optional
        ``{"kind": "hnsw", **params}``: an ANN index for every embedding retriever
        (see :func:`attach_index`); default: exact scoring.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> df = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 20]})
    >>> cat = pd.DataFrame({"item_id": [10, 20], "title": ["A", "B"], "genres": [["Drama"]] * 2,
    ...     "tags": [[], []], "year": pd.array([1990, 2000], dtype="Int64")})
    >>> p = export_pipeline(Popularity().fit(df), cat)
    >>> p.config["retrievers"], p.components["catalogue"]["titles"].tolist()
    ({'popularity': 'popularity'}, ['A', 'B'])
    """
    from course_utils.models.two_stage import TwoStage

    model._check_fitted()
    if tag_events is not None:
        if as_of is None:
            raise ValueError("tag_events needs as_of=<the end of the training data>; got None")
        items = catalogue_as_of(items, tag_events, as_of)
    item_ids, user_ids = model.items_.ids_, model.users_.ids_
    seen = model.seen_.tocsr().copy()
    seen.sort_indices()
    history = {
        "user_ids": user_ids.astype(np.int64),
        "history_indptr": seen.indptr.astype(np.int64),
        "history_indices": seen.indices.astype(np.int64),
    }
    popularity = np.asarray(seen.sum(axis=0)).ravel()
    components = {"catalogue": _catalogue(items, item_ids, popularity), "users": history}
    if isinstance(model, TwoStage):
        sources = model.retrievers_
        default_n, ranking = model.n_candidates, "ranker" if model.ranker_ is not None else "rrf"
    else:
        sources = {type(model).__name__.lower(): model}
        default_n, ranking = 200, "retriever"
    config = {"retrievers": {}, "n_candidates": int(n_candidates or default_n), "ranking": ranking}
    for name, source in sources.items():
        kind, arrays = retriever_arrays(source, user_ids, item_ids, seen, dtype)
        config["retrievers"][name] = kind
        components[f"retriever.{name}"] = arrays
    if ranking == "ranker":
        components["features"] = export_feature_store(model.tables_, user_ids, item_ids)
        config["ranker_features"] = list(model.feature_names_)
        FeatureStore(components["features"], config["ranker_features"])  # fails early if unservable
        components["ranker"] = TreeEnsemble.from_sklearn(model.ranker_).to_arrays()
        components["ranker"]["feature_names"] = np.array(config["ranker_features"], dtype=str)
    pipeline = ServingPipeline(components, config).validate()
    for name, kind in config["retrievers"].items():
        if index is not None and kind == "embedding":
            pipeline = attach_index(pipeline, name, **index)
    return pipeline
