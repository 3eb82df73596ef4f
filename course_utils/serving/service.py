"""The online recommendation service: one request in, one JSON-serialisable list out.

A request ``(user_id, recent history, k, context)`` goes through five timed stages:

1. **route**: validate the request and decide the path (:func:`route_request`): a known
   user with at least ``min_history`` items is ``personalised``; anyone else with some
   history gets ``cold_start_content`` (items whose genres/tags resemble the history);
   a user with no history at all gets ``cold_start_popularity``;
2. **retrieval**: every retriever scores the whole catalogue (a dot product with the item
   factors, or a sum of item-item rows) and keeps its exact top-N with ``argpartition``
   (:func:`course_utils.models.top_k`); the union is the candidate set. Watched items
   and items the context filters out (kids profile) are removed *before* the top-N, so
   no candidate slot is wasted. Exact scoring costs ``n_items x d`` multiply-adds per
   source; past about a million items an approximate nearest-neighbour index is needed
   (``config["index"]``, :mod:`course_utils.serving.index`): the embedding retriever then
   searches it, drops blocked items and widens the search if too few remain;
3. **features**: rows of the precomputed user and item tables (a feature store stand-in:
   dense arrays indexed through the id vocabularies), combined into the ranker's columns;
4. **ranking**: the tree ensemble scores every candidate;
5. **rerank**: business rules: MMR diversity over the best ``rerank_pool`` candidates
   (:func:`~course_utils.serving.rerank.mmr_rerank`), titles, the response.

The response holds the items (id, title, score), the ``source`` path, the model version
and the latency of each stage in milliseconds. Requests that cannot be answered as sent
raise :class:`BadRequest` (HTTP 400) with a message; the service keeps no per-request
state, so a bad request cannot affect the next one, and it can serve many threads at once.

Empty history: ``history=[]`` means "no recent items"; a known user is still served
from their stored history, an unknown user gets the popularity list (not an error).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from course_utils.features.content import unit_blocks
from course_utils.models.base import top_k
from course_utils.models.vocab import Vocabulary
from course_utils.serving.artifacts import Artifacts
from course_utils.serving.feature_store import FeatureStore
from course_utils.serving.index import index_from_arrays
from course_utils.serving.pipeline import (
    HISTORY_KINDS,
    ServingPipeline,
    export_pipeline,
    retriever_scores,
)
from course_utils.serving.rerank import min_max_scale, mmr_rerank
from course_utils.serving.trees import TreeEnsemble

__all__ = [
    "BadRequest",
    "COLD_START_CONTENT",
    "COLD_START_POPULARITY",
    "PERSONALISED",
    "RecommendationService",
    "route_request",
]

PERSONALISED = "personalised"
COLD_START_CONTENT = "cold_start_content"
COLD_START_POPULARITY = "cold_start_popularity"
PROFILES = ("all", "kids")
REQUEST_KEYS = ("user_id", "history", "k", "context")
_INT64 = (-(2**63), 2**63 - 1)


class BadRequest(ValueError):
    """The request is malformed or asks for something impossible (HTTP 400)."""


def route_request(is_known: bool, n_history: int, min_history: int = 3) -> str:
    """The cold-start decision: which path serves a request.

    Parameters
    ----------
    is_known : bool
        The user has a training history (embeddings, features).
    n_history : int
        Distinct items known for the user: stored history plus the request's recent items.
    min_history : int
        Items a known user needs for the personalised path.

    Returns
    -------
    str
        ``"personalised"`` for a known user with ``n_history >= min_history``;
        otherwise ``"cold_start_content"`` when ``n_history >= 1``; else
        ``"cold_start_popularity"``.

    Examples
    --------
    >>> route_request(True, 40), route_request(False, 2), route_request(False, 0)
    ('personalised', 'cold_start_content', 'cold_start_popularity')
    """
    if is_known and n_history >= min_history:
        return PERSONALISED
    return COLD_START_CONTENT if n_history >= 1 else COLD_START_POPULARITY


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_int(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise BadRequest(f"{what} must be an integer; got {type(value).__name__} {_short(value)}")
    if not _INT64[0] <= int(value) <= _INT64[1]:
        raise BadRequest(f"{what} must fit in 64 bits; got {_short(value)}")
    return int(value)


def _upcast(kind: str, arrays: dict) -> dict:
    """History-based matrices in float64, once at load time.

    Their histories are float64, and a float64 sparse row times a float32 matrix makes
    scipy copy the whole matrix to float64 on every request (544 MB for EASE on MovieLens).
    """
    if kind not in HISTORY_KINDS:
        return arrays
    key = "weights" if kind == "item_item" else "item_factors"
    return {**arrays, key: np.asarray(arrays[key], dtype=np.float64)}


class RecommendationService:
    """Serve recommendations from a pipeline (see the module docstring for the stages).

    Parameters
    ----------
    source : Artifacts or ServingPipeline
        Loaded artifacts (the model version comes from the manifest) or a pipeline.
    model_version : str, optional
        Version tag for a pipeline (ignored for artifacts); default ``"dev"``.
    request_log : course_utils.monitoring.RequestLog, optional
        Every request, answered or refused, is recorded there.
    min_history : int, default 3
        History length a known user needs for the personalised path.
    max_k : int, default 100
        Largest list a request may ask for.
    max_history : int, default 500
        Longest recent history a request may send.
    mmr_lambda : float, default 0.8
        Default relevance weight of the MMR re-rank (1 = ranker order); a request can
        override it with ``context={"mmr_lambda": ...}``.
    rerank_pool : int, default 100
        Best-ranked candidates MMR chooses from.

    Examples
    --------
    >>> import pandas as pd
    >>> from course_utils.models import Popularity
    >>> df = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 20]})
    >>> cat = pd.DataFrame({"item_id": [10, 20, 30], "title": ["A", "B", "C"],
    ...     "genres": [["Drama"]] * 3, "tags": [[]] * 3, "year": pd.array([1990] * 3, dtype="Int64")})
    >>> service = RecommendationService.from_model(Popularity().fit(df), cat)
    >>> response = service.recommend(user_id=99, k=2)
    >>> response["source"], [item["title"] for item in response["items"]]
    ('cold_start_popularity', ['B', 'A'])
    """

    def __init__(
        self,
        source: Artifacts | ServingPipeline,
        *,
        model_version: str | None = None,
        request_log=None,
        min_history: int = 3,
        max_k: int = 100,
        max_history: int = 500,
        mmr_lambda: float = 0.8,
        rerank_pool: int = 100,
    ) -> None:
        if isinstance(source, Artifacts):
            pipeline, version = source.pipeline, source.model_version
        elif isinstance(source, ServingPipeline):
            pipeline, version = source, model_version or "dev"
        else:
            raise TypeError(
                f"source must be Artifacts or a ServingPipeline; got {type(source).__name__}"
            )
        for name, value in (
            ("min_history", min_history),
            ("max_k", max_k),
            ("max_history", max_history),
            ("rerank_pool", rerank_pool),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1; got {value!r}")
        if not 0.0 <= mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be in [0, 1]; got {mmr_lambda!r}")
        self.model_version = version
        self.request_log = request_log
        self.min_history, self.max_k, self.max_history = min_history, max_k, max_history
        self.mmr_lambda, self.rerank_pool = float(mmr_lambda), rerank_pool
        self._load(pipeline.validate())

    @classmethod
    def from_model(
        cls, model, items, *, n_candidates: int | None = None, dtype=None, **kwargs
    ) -> RecommendationService:
        """Export a fitted model (see :func:`export_pipeline`) and serve it."""
        return cls(export_pipeline(model, items, n_candidates=n_candidates, dtype=dtype), **kwargs)

    def _load(self, pipeline: ServingPipeline) -> None:
        """Turn the arrays into lookup structures once (read-only afterwards)."""
        c, cfg = pipeline.components, pipeline.config
        cat, users = c["catalogue"], c["users"]
        self.items = Vocabulary(cat["item_ids"])
        self.users = Vocabulary(users["user_ids"])
        n_items, n_users = len(self.items), len(self.users)
        self._titles = cat["titles"]
        self._kids_safe = cat["kids_safe"].astype(bool)
        self._popularity = cat["popularity"].astype(np.float64)
        self._genres = cat["genres"].astype(np.float64)
        bounds = cat["content_blocks"].astype(np.int64)
        self._content = sp.csr_matrix(
            (cat["content_data"], cat["content_indices"], cat["content_indptr"]),
            shape=(n_items, int(bounds[-1])),
        )
        self._content_blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        indices = users["history_indices"]
        self._history = sp.csr_matrix(
            (np.ones(len(indices)), indices, users["history_indptr"]), shape=(n_users, n_items)
        )
        self._histories = {  # each history-based retriever's user x item matrix, with its values
            name: sp.csr_matrix(
                (c[f"retriever.{name}"]["history_data"], indices, users["history_indptr"]),
                shape=(n_users, n_items),
            )
            for name, kind in cfg["retrievers"].items()
            if kind in HISTORY_KINDS
        }
        self._retrievers = [
            (name, kind, _upcast(kind, c[f"retriever.{name}"]))
            for name, kind in cfg["retrievers"].items()
        ]
        self._indexes = {  # ANN indexes of embedding retrievers (config "index")
            name: index_from_arrays(c[f"index.{name}"]) for name in cfg.get("index", {})
        }
        self.n_candidates = int(cfg["n_candidates"])
        self.ranking = cfg["ranking"]
        self._ranker = TreeEnsemble.from_arrays(c["ranker"]) if self.ranking == "ranker" else None
        if self._ranker is not None:
            self._features = FeatureStore(c["features"], cfg["ranker_features"])

    def __repr__(self) -> str:
        names = ", ".join(name for name, _, _ in self._retrievers)
        return (
            f"RecommendationService(model_version={self.model_version!r}, {len(self.users):,} users, "
            f"{len(self.items):,} items, retrievers=[{names}], ranking={self.ranking!r})"
        )

    def health(self) -> dict:
        """Readiness and what is loaded (for ``GET /readyz``)."""
        return {
            "status": "ok",
            "model_version": self.model_version,
            "n_users": len(self.users),
            "n_items": len(self.items),
            "retrievers": [name for name, _, _ in self._retrievers],
            "ranking": self.ranking,
        }

    # ------------------------------------------------------------------ request parsing
    def handle(self, payload) -> dict:
        """Answer a decoded JSON request ``{"user_id", "history"?, "k"?, "context"?}``."""
        if not isinstance(payload, Mapping):
            self._log_error(None)
            raise BadRequest(
                f"the request body must be a JSON object; got {type(payload).__name__}"
            )
        unknown = sorted(set(payload) - set(REQUEST_KEYS), key=str)
        if unknown or "user_id" not in payload:
            self._log_error(payload.get("user_id"))
            if unknown:
                raise BadRequest(f"unknown request fields {unknown}; allowed: {list(REQUEST_KEYS)}")
            raise BadRequest("the request needs a 'user_id'")
        return self.recommend(**payload)

    def _check_history(self, history) -> np.ndarray:
        if history is None:
            return np.empty(0, dtype=np.int64)
        if not isinstance(history, (list, tuple, np.ndarray)):
            raise BadRequest(
                f"history must be a list of item ids; got {type(history).__name__} {_short(history)}"
            )
        if len(history) > self.max_history:
            raise BadRequest(
                f"history may hold at most {self.max_history} items; got {len(history)}"
            )
        if isinstance(history, np.ndarray):
            valid = history.ndim == 1 and (history.size == 0 or history.dtype.kind in "iu")
        else:
            valid = all(
                isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in history
            )
        if not valid:
            raise BadRequest(
                f"history must be a flat list of integer item ids; got {_short(history)}"
            )
        try:
            ids = np.array(history, dtype=np.int64)
        except OverflowError as err:
            raise BadRequest("history item ids must fit in 64 bits") from err
        known = self.items.contains(ids)
        if not known.all():
            raise BadRequest(
                f"history has {int((~known).sum())} item ids unknown to the catalogue, "
                f"e.g. {ids[~known][:5].tolist()}"
            )
        return self.items.index(ids)

    def _check_context(self, context) -> tuple[str, float]:
        if context is None:
            return "all", self.mmr_lambda
        if not isinstance(context, Mapping):
            raise BadRequest(f"context must be a JSON object; got {type(context).__name__}")
        profile = context.get("profile", "all")
        if profile not in PROFILES:
            raise BadRequest(
                f"context.profile must be one of {list(PROFILES)}; got {_short(profile)}"
            )
        lam = context.get("mmr_lambda", self.mmr_lambda)
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0.0 <= lam <= 1.0:
            raise BadRequest(f"context.mmr_lambda must be a number in [0, 1]; got {_short(lam)}")
        return profile, float(lam)

    # ------------------------------------------------------------------ the request path
    def recommend(self, user_id, history=None, k: int = 10, context=None) -> dict:
        """Recommend ``k`` items for ``user_id`` (see the module docstring).

        Parameters
        ----------
        user_id : int
        history : list of int, optional
            Items the user watched since the model was trained (excluded from the list
            and, for item-item sources, used for scoring). Unknown ids are an error.
        k : int, default 10
            1 <= k <= ``max_k``. Fewer items come back only if fewer remain after the
            filters.
        context : dict, optional
            ``profile`` (``"all"`` or ``"kids"``: kids-safe titles only) and
            ``mmr_lambda`` (override of the diversity trade-off); other keys (device,
            time of day) are accepted and ignored.

        Returns
        -------
        dict
            ``user_id``, ``source``, ``model_version``, ``items`` (list of ``item_id``,
            ``title``, ``score``) and ``latency_ms`` (per stage and ``total``).

        Raises
        ------
        BadRequest
            Malformed ids, ``k`` out of range, unknown history items, bad context.
        """
        start = time.perf_counter()
        stages: dict[str, float] = {}
        try:
            k = _as_int(k, "k")
            if not 1 <= k <= self.max_k:
                raise BadRequest(f"k must be between 1 and {self.max_k}; got {k}")
            uid, row, source, seen, recent, blocked, lam = self._route(user_id, history, context)
            t = time.perf_counter()
            stages["route"] = 1000 * (t - start)

            if source == PERSONALISED:
                candidates, scores = self._personalised(row, recent, blocked, stages)
            else:
                candidates, scores = self._cold_start(source, seen, blocked, stages)
            t = time.perf_counter()
            items = self._rerank(candidates, scores, k, lam)
            response = {
                "user_id": uid,
                "source": source,
                "model_version": self.model_version,
                "items": items,
            }
            end = time.perf_counter()
            stages["rerank"] = 1000 * (end - t)
            latency = {**stages, "total": 1000 * (end - start)}
            response["latency_ms"] = latency
        except BadRequest:
            self._log_error(user_id, stages)
            raise
        except Exception:
            self._log_error(user_id, stages, code="internal_error")
            raise
        if self.request_log is not None:
            self.request_log.record(
                timestamp=time.time(), user_id=uid, source=source, stage_ms=latency,
                model_version=self.model_version, items=[item["item_id"] for item in items],
            )  # fmt: skip
        return response

    def _route(self, user_id, history, context):
        """Validate the request and take the cold-start decision (the route stage).

        Returns the user id, the user's row (-1 when unknown), the source, every item
        the user has seen, the recent items not in the stored history, the mask of
        items no list may contain, and the MMR lambda.
        """
        uid = _as_int(user_id, "user_id")
        recent = self._check_history(history)
        profile, lam = self._check_context(context)
        row = int(self.users.index([uid], strict=False)[0])
        stored = self._history.indices[self._history.indptr[row] : self._history.indptr[row + 1]]
        stored = stored if row >= 0 else recent[:0]
        seen = np.union1d(stored, recent)
        source = route_request(row >= 0, len(seen), self.min_history)
        blocked = np.zeros(len(self.items), dtype=bool)
        blocked[seen] = True
        if profile == "kids":
            blocked |= ~self._kids_safe
        return uid, row, source, seen, np.setdiff1d(recent, stored), blocked, lam

    def explain(self, user_id, history=None, context=None):
        """Every candidate of a personalised request with its features and ranker score.

        A debugging view of stages 2-4 (what a "why this title?" tool shows), best first.

        Returns
        -------
        DataFrame indexed by ``item_id``: ``title``, the ranker's feature columns and
        ``score``.

        Raises
        ------
        BadRequest
            As :meth:`recommend`, or when the request would take a cold-start path.
        """
        import pandas as pd

        _, row, source, _, recent, blocked, _ = self._route(user_id, history, context)
        if source != PERSONALISED or self._ranker is None:
            raise BadRequest(
                f"explain needs a personalised request with a ranker; this one is {source}"
            )
        candidates, lists = self._retrieve(row, recent, blocked)
        X = self._feature_matrix(row, candidates, self._retriever_columns(candidates, lists))
        table = pd.DataFrame(
            X, columns=self._features.feature_names, index=self.items.ids(candidates)
        )
        table.index.name = "item_id"
        table.insert(0, "title", self._titles[candidates])
        table["score"] = self._ranker.predict_proba(X)
        return table.sort_values("score", ascending=False, kind="stable")

    def _log_error(self, user_id, stages=None, code: str = "bad_request") -> None:
        if self.request_log is None:
            return
        valid = (
            isinstance(user_id, (int, np.integer))
            and not isinstance(user_id, bool)
            and _INT64[0] <= user_id <= _INT64[1]
        )
        self.request_log.record(
            timestamp=time.time(), user_id=int(user_id) if valid else -1, source="error",
            stage_ms=dict(stages or {}), model_version=self.model_version, n_items=0, error=code,
        )  # fmt: skip

    def _history_row(self, name: str, kind_arrays: dict, row: int, recent: np.ndarray):
        """The user's history row with the retriever's values, plus the recent items."""
        X = self._histories[name]
        lo, hi = X.indptr[row], X.indptr[row + 1]
        idx = np.concatenate([X.indices[lo:hi], recent])
        val = np.concatenate([X.data[lo:hi], np.full(len(recent), kind_arrays["default_value"][0])])
        order = np.argsort(idx, kind="stable")
        return sp.csr_matrix((val[order], idx[order], [0, len(idx)]), shape=(1, len(self.items)))

    def _retrieve(self, row: int, recent: np.ndarray, blocked: np.ndarray):
        """Each retriever's top-N unblocked items (exact, or from its ANN index), and their union.

        ``recent`` holds the request's items that are not in the stored history.
        """
        n = min(self.n_candidates, len(self.items))
        lists = []
        for name, kind, arrays in self._retrievers:
            if name in self._indexes:  # approximate: search the index, drop blocked items
                idx, val = self._indexes[name].search_filtered(
                    arrays["user_factors"][row], n, blocked
                )
                lists.append((idx, val.astype(np.float64) / arrays["temperature"][0]))
                continue
            history = (
                self._history_row(name, arrays, row, recent) if kind in HISTORY_KINDS else None
            )
            scores = retriever_scores(kind, arrays, np.array([row]), history)[0]
            scores[blocked] = -np.inf
            idx, val = top_k(scores[None, :], n)
            keep = np.isfinite(val[0])
            lists.append((idx[0][keep], val[0][keep]))
        return np.unique(np.concatenate([idx for idx, _ in lists])), lists

    def _retriever_columns(self, candidates: np.ndarray, lists: list) -> dict:
        """``<s>_rank`` (N + 1 when s missed it), ``<s>_score`` (else s's lowest score), ``n_sources``."""
        columns, n_sources = {}, np.zeros(len(candidates))
        for (name, _, _), (idx, val) in zip(self._retrievers, lists, strict=True):
            pos = np.searchsorted(candidates, idx)
            n_sources[pos] += 1
            rank = np.full(len(candidates), float(self.n_candidates + 1))
            rank[pos] = np.arange(1, len(idx) + 1)
            score = np.full(len(candidates), val.min() if len(val) else np.nan)
            score[pos] = val
            columns[f"{name}_rank"], columns[f"{name}_score"] = rank, score
        columns["n_sources"] = n_sources
        return columns

    def _personalised(self, row: int, recent: np.ndarray, blocked: np.ndarray, stages: dict):
        t0 = time.perf_counter()
        candidates, lists = self._retrieve(row, recent, blocked)
        t1 = time.perf_counter()
        stages["retrieval"] = 1000 * (t1 - t0)
        if self.ranking == "retriever":  # one source: its own scores
            return candidates, lists[0][1][np.argsort(lists[0][0])]
        columns = self._retriever_columns(candidates, lists)
        if self._ranker is None:  # reciprocal-rank fusion, as TwoStage does without a ranker
            ranks = [columns[f"{name}_rank"] for name, _, _ in self._retrievers]
            stages["ranking"] = 1000 * (time.perf_counter() - t1)
            return candidates, sum(1.0 / (60.0 + rank) for rank in ranks)
        X = self._feature_matrix(row, candidates, columns)
        t2 = time.perf_counter()
        stages["features"] = 1000 * (t2 - t1)
        scores = self._ranker.predict_proba(X)
        stages["ranking"] = 1000 * (time.perf_counter() - t2)
        return candidates, scores

    def _feature_matrix(self, row: int, candidates: np.ndarray, columns: dict) -> np.ndarray:
        """The ranker's columns for (user, candidate) pairs, as ranking_features builds them."""
        return self._features.matrix(row, candidates, columns)

    def _cold_start(self, source: str, seen: np.ndarray, blocked: np.ndarray, stages: dict):
        t0 = time.perf_counter()
        if source == COLD_START_CONTENT:
            profile = np.asarray(self._content[seen].sum(axis=0)).ravel()
            scores = self._content @ unit_blocks(profile, self._content_blocks)
        else:
            scores = self._popularity.copy()
        scores[blocked] = -np.inf
        n = min(max(self.rerank_pool, self.max_k), len(scores))
        idx, val = top_k(scores[None, :], n)
        keep = np.isfinite(val[0])
        candidates = np.sort(idx[0][keep])
        stages["retrieval"] = 1000 * (time.perf_counter() - t0)
        return candidates, scores[candidates]

    def _rerank(self, candidates: np.ndarray, scores: np.ndarray, k: int, lam: float) -> list[dict]:
        """Best ``rerank_pool`` by score, MMR down to k, then the response items."""
        if len(candidates) == 0:
            return []
        pool = min(max(self.rerank_pool, k), len(candidates))
        best, _ = top_k(np.asarray(scores, dtype=np.float64)[None, :], pool)
        best = best[0]  # by score, ties to the smaller item index (candidates are sorted)
        if lam < 1.0:
            picked = mmr_rerank(
                min_max_scale(scores[best]), self._genres[candidates[best]], min(k, pool), lam
            )
            best = best[picked]
        best = best[:k]
        rows = candidates[best]
        ids, titles, values = (
            self.items.ids(rows).tolist(),
            self._titles[rows].tolist(),
            np.asarray(scores)[best].tolist(),
        )
        return [
            {"item_id": i, "title": t, "score": v if math.isfinite(v) else None}
            for i, t, v in zip(ids, titles, values, strict=True)
        ]
