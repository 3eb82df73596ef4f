"""Load-time checks of a serving pipeline: its config schema and the contents of its arrays.

A request must never be the first to find that an artifact is unusable: a zero
``n_candidates``, a ranker feature that names a retriever the pipeline lacks, a history
index past the catalogue or a tree that splits on a feature it is never given would all
load and then fail (or, worse, answer wrongly) on every request.
:meth:`ServingPipeline.validate <course_utils.serving.pipeline.ServingPipeline.validate>`
runs these checks, so both :func:`~course_utils.serving.pipeline.export_pipeline` and
:func:`~course_utils.serving.artifacts.load_artifacts` refuse such a pipeline up front.

Every refusal is a :class:`PipelineError` (a ``ValueError``) whose ``where`` names the
config field (``"config.n_candidates"``) or the array (``"retriever.als/user_factors"``).
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

__all__ = [
    "PipelineError",
    "PipelineTypeError",
    "RANKINGS",
    "check_array_types",
    "check_config",
    "check_contents",
]

RANKINGS = ("ranker", "rrf", "retriever")
NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # retriever names become file and feature names
# dtype kinds per array: i/u integer, f float, b bool, U text
KINDS = {
    "catalogue": {
        "item_ids": "iu", "titles": "U", "genres": "biuf", "genre_names": "U",
        "kids_safe": "biu", "popularity": "iuf", "content_data": "f",
        "content_indices": "iu", "content_indptr": "iu", "content_blocks": "iu",
    },
    "users": {"user_ids": "iu", "history_indptr": "iu", "history_indices": "iu"},
    "retriever": {
        "user_factors": "f", "item_factors": "f", "temperature": "f", "weights": "f",
        "history_data": "f", "default_value": "f", "scores": "iuf",
    },
    "ranker": {
        "tree_offsets": "iu", "feature": "iu", "threshold": "f", "missing_left": "biu",
        "left": "iu", "right": "iu", "is_leaf": "biu", "value": "f", "baseline": "f",
        "n_features": "iu", "feature_names": "U",
    },
    "features": {
        "user_values": "f", "user_time": "f", "user_genres": "f", "item_values": "f",
        "item_event_pos": "iu", "item_genres": "f", "event_keys": "iu", "span": "iu",
        "vectors_data": "f", "vectors_indices": "iu", "vectors_indptr": "iu",
        "vectors_shape": "iu", "recent_indptr": "iu", "recent_indices": "iu",
    },
}  # fmt: skip
FINITE = {  # arrays in which NaN or inf can only be corruption
    "catalogue": ("popularity", "content_data", "genres"),
    "retriever": ("user_factors", "item_factors", "temperature", "weights", "history_data",
                  "default_value", "scores"),
    "ranker": ("value", "baseline"),
}  # fmt: skip


class PipelineError(ValueError):
    """A pipeline's config or arrays cannot be served; ``where`` names the field or array."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class PipelineTypeError(PipelineError, TypeError):
    """An array of the wrong dtype (both a ValueError and a TypeError)."""


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _str_list(config: dict, key: str) -> list[str]:
    value = config[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PipelineError(f"config.{key}", f"must be a list of non-empty str; got {value!r:.80}")
    if len(set(value)) != len(value):
        raise PipelineError(f"config.{key}", f"has repeated names: {value!r:.80}")
    return value


def check_config(config, retriever_kinds) -> None:
    """Types, ranges and allowed values of every config field; raises :class:`PipelineError`.

    Examples
    --------
    >>> check_config({"retrievers": {"pop": "popularity"}, "n_candidates": 0,
    ...               "ranking": "retriever"}, ["popularity"])
    Traceback (most recent call last):
    ...
    course_utils.serving.checks.PipelineError: config.n_candidates: must be an int >= 1; got 0
    """
    if not isinstance(config, dict):
        raise PipelineError("config", f"must be a JSON object; got {type(config).__name__}")
    allowed = {"retrievers", "n_candidates", "ranking", "ranker_features", "index"}
    for key in ("retrievers", "n_candidates", "ranking"):
        if key not in config:
            raise KeyError(f"pipeline config lacks {key!r}")
    unknown = sorted(set(config) - allowed, key=str)
    if unknown:
        raise PipelineError("config", f"unknown fields {unknown}; allowed: {sorted(allowed)}")
    retrievers = config["retrievers"]
    if not isinstance(retrievers, dict) or not retrievers:
        raise PipelineError("config.retrievers", f"must map names to kinds; got {retrievers!r:.80}")
    _check_index_config(config.get("index", {}), retrievers)
    for name, kind in retrievers.items():
        if not NAME.match(str(name)):
            raise PipelineError(
                "config.retrievers", f"names must match {NAME.pattern}; got {name!r:.80}"
            )
        if kind not in retriever_kinds:
            raise PipelineError(
                f"config.retrievers.{name}",
                f"unknown kind {kind!r:.40}; known: {list(retriever_kinds)}",
            )
    n = config["n_candidates"]
    if not _is_int(n) or n < 1:
        raise PipelineError("config.n_candidates", f"must be an int >= 1; got {n!r:.40}")
    ranking = config["ranking"]
    if ranking not in RANKINGS:
        raise PipelineError(
            "config.ranking", f"must be one of {list(RANKINGS)}; got {ranking!r:.40}"
        )
    if ranking == "retriever" and len(retrievers) != 1:
        raise PipelineError(
            "config.ranking",
            f"'retriever' serves one retriever's own order; the config has {len(retrievers)} "
            "(use 'rrf' or 'ranker' for several)",
        )
    if ranking != "ranker":
        if "ranker_features" in config:
            raise PipelineError("config.ranker_features", "is only allowed with ranking 'ranker'")
        return
    if "ranker_features" not in config:
        raise PipelineError("config.ranker_features", "is required with ranking 'ranker'")
    from course_utils.serving.feature_store import SERVING_FEATURES

    features = _str_list(config, "ranker_features")
    if not features:
        raise PipelineError("config.ranker_features", "must name at least one feature")
    retriever_columns = {f"{r}_{s}" for r in retrievers for s in ("rank", "score")}
    unservable = [f for f in features if f not in SERVING_FEATURES and f not in retriever_columns]
    if unservable:
        raise PipelineError(
            "config.ranker_features",
            f"the serving path cannot compute {unservable} (known: the retrievers' "
            f"<name>_rank/<name>_score for {sorted(retrievers)} and {list(SERVING_FEATURES)})",
        )


INDEX_KINDS = ("exact", "hnsw", "ivf")  # course_utils.serving.index.INDEX_KINDS


def _check_index_config(index: object, retrievers: dict) -> None:
    """``config.index``: retriever name -> {"kind": ..., parameters}, embedding retrievers only."""
    if not isinstance(index, dict):
        raise PipelineError("config.index", f"must map retriever names to specs; got {index!r:.80}")
    for name, spec in index.items():
        where = f"config.index.{name}"
        if retrievers.get(name) != "embedding":
            raise PipelineError(where, "an index needs an embedding retriever of that name")
        if not isinstance(spec, dict) or spec.get("kind") not in INDEX_KINDS:
            raise PipelineError(where, f"must be a dict whose 'kind' is one of {INDEX_KINDS}")
        for key, value in spec.items():
            if key == "kind":
                continue
            if (
                not NAME.match(str(key))
                or isinstance(value, bool)
                or not (value is None or (isinstance(value, (int, float)) and np.isfinite(value)))
            ):
                raise PipelineError(f"{where}.{key}", f"must be a finite number; got {value!r:.40}")


def _check_kind(where: str, arr: np.ndarray, kinds: str) -> None:
    if arr.dtype.kind == "O":
        raise PipelineTypeError(where, "has dtype object, which only pickle can store")
    if arr.dtype.kind not in kinds:
        raise PipelineTypeError(where, f"must have dtype kind {kinds!r}; got {arr.dtype}")


def _check_csr(where: str, indptr, indices, shape: tuple[int, int]) -> None:
    """indptr from 0 to len(indices), non-decreasing; every index in [0, shape[1])."""
    indptr, indices = np.asarray(indptr), np.asarray(indices)
    if indptr.shape != (shape[0] + 1,) or indices.ndim != 1:
        raise PipelineError(where, f"indptr must have shape ({shape[0] + 1},); got {indptr.shape}")
    if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise PipelineError(where, "indptr must rise from 0 to the number of stored entries")
    if len(indices) and (indices.min() < 0 or indices.max() >= shape[1]):
        raise PipelineError(where, f"indices must be in [0, {shape[1]})")


TWO_D = {
    "genres", "user_factors", "item_factors", "weights", "user_values", "user_time",
    "user_genres", "item_values", "item_genres",
}  # fmt: skip


def check_array_types(components: dict) -> None:
    """Every array: an ndarray of the expected dtype kind and number of dimensions, and
    finite where NaN or inf can only be corruption; raises :class:`PipelineError`."""
    for comp, arrays in components.items():
        group = "retriever" if comp.startswith("retriever.") else comp
        for key, arr in arrays.items():
            where = f"{comp}/{key}"
            if not isinstance(arr, np.ndarray):
                raise PipelineTypeError(where, f"must be an ndarray; got {type(arr).__name__}")
            kinds = KINDS.get(group, {}).get(key)
            if kinds:
                _check_kind(where, arr, kinds)
                ndim = 2 if key in TWO_D else 1
                if arr.ndim != ndim:
                    raise PipelineError(where, f"must be {ndim}-D; got shape {arr.shape}")
            finite = key in FINITE.get(group, ()) and arr.dtype.kind == "f"
            if finite and not np.isfinite(arr).all():
                raise PipelineError(where, "holds NaN or infinite values")


def check_contents(components: dict, config: dict, n_users: int, n_items: int) -> None:
    """Sparse structures, value ranges, feature tables and trees; raises PipelineError."""
    cat, users = components["catalogue"], components["users"]
    if cat["genres"].ndim != 2 or cat["genres"].shape[0] != n_items:
        raise PipelineError("catalogue/genres", f"must have shape ({n_items}, n_genres)")
    if np.any(cat["popularity"] < 0):
        raise PipelineError("catalogue/popularity", "must be >= 0")
    _check_csr(
        "users/history", users["history_indptr"], users["history_indices"], (n_users, n_items)
    )
    blocks = cat["content_blocks"]
    _check_csr("catalogue/content", cat["content_indptr"], cat["content_indices"],
               (n_items, int(blocks[-1]) if blocks.size else 0))  # fmt: skip
    if cat["content_data"].shape != cat["content_indices"].shape:
        raise PipelineError("catalogue/content_data", "must align with content_indices")
    for name in config["retrievers"]:
        arrays, comp = components[f"retriever.{name}"], f"retriever.{name}"
        for key in ("temperature", "default_value"):
            if key in arrays and arrays[key].shape != (1,):
                raise PipelineError(
                    f"{comp}/{key}", f"must have shape (1,); got {arrays[key].shape}"
                )
        if "temperature" in arrays and arrays["temperature"][0] <= 0:
            raise PipelineError(f"{comp}/temperature", "must be > 0")
        for key in ("user_factors", "item_factors"):
            if key in arrays and arrays[key].ndim != 2:
                raise PipelineError(f"{comp}/{key}", f"must be 2-D; got {arrays[key].ndim}-D")
    if config["ranking"] == "ranker":
        _check_ranker(components, config, n_users, n_items)


def _check_ranker(components: dict, config: dict, n_users: int, n_items: int) -> None:
    from course_utils.serving.feature_store import FeatureStore
    from course_utils.serving.trees import TreeEnsemble

    feats = components["features"]
    for key in ("span", "vectors_shape"):
        if feats[key].ndim != 1 or feats[key].shape[0] != (1 if key == "span" else 2):
            raise PipelineError(f"features/{key}", f"has the wrong shape {feats[key].shape}")
    if feats["span"][0] < 1:
        raise PipelineError("features/span", "must be >= 1")
    n_vec_users, n_vec_items = (int(v) for v in feats["vectors_shape"])
    if n_vec_users < 0 or n_vec_items < 0:
        raise PipelineError("features/vectors_shape", "must be >= 0")
    _check_csr("features/vectors", feats["vectors_indptr"], feats["vectors_indices"],
               (n_vec_items, n_vec_users))  # fmt: skip
    _check_csr("features/recent", feats["recent_indptr"], feats["recent_indices"],
               (n_users, n_vec_items))  # fmt: skip
    pos = feats["item_event_pos"]
    if len(pos) and (pos.min() < -1 or pos.max() >= n_vec_items):
        raise PipelineError("features/item_event_pos", f"must be in [-1, {n_vec_items})")
    if np.any(np.diff(feats["event_keys"]) < 0):
        raise PipelineError("features/event_keys", "must be sorted")
    if feats["user_genres"].shape[1] != feats["item_genres"].shape[1]:
        raise PipelineError("features/item_genres", "must have as many genres as user_genres")
    try:
        ranker = TreeEnsemble.from_arrays(components["ranker"])
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise PipelineError("ranker", str(err)) from err
    if np.isnan(components["ranker"]["threshold"]).any():
        raise PipelineError("ranker/threshold", "holds NaN")
    names = config["ranker_features"]
    stored = components["ranker"]["feature_names"]
    if stored.dtype.kind != "U" or stored.tolist() != list(names):
        raise PipelineError(
            "config.ranker_features",
            f"{list(names)!r:.200} differ from the ranker's training columns "
            f"{stored.tolist()!r:.200}",
        )
    if ranker.n_features != len(names):
        raise PipelineError(
            "config.ranker_features",
            f"names {len(names)} features but the ranker was trained on {ranker.n_features}",
        )
    try:
        FeatureStore(feats, names)
        sp.csr_matrix(
            (feats["vectors_data"], feats["vectors_indices"], feats["vectors_indptr"]),
            shape=(n_vec_items, n_vec_users),
        )
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise PipelineError("features", str(err)) from err
