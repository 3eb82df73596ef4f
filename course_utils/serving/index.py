"""Retrieval indexes: the top-N items by inner product, exact or approximate.

An embedding retriever (ALS, two-tower) scores a user as ``u . v_i`` for every item ``i``
and keeps the N best. Exact search costs ``n_items x d`` multiply-adds per query, so its
latency grows linearly with the catalogue; an approximate nearest-neighbour (ANN) index
visits a small part of the catalogue and usually finds most of the true top-N.
Three implementations share one interface:

- :class:`ExactIndex`: numpy, every item scored (what the service does without an index);
- :class:`HNSWIndex`: faiss ``IndexHNSWFlat`` (a navigable small-world graph: each item
  linked to ``M`` neighbours per layer; a search walks greedily from an entry point,
  keeping the ``ef_search`` best candidates seen; ``ef_construction`` is the same width
  while the graph is built);
- :class:`IVFIndex`: faiss ``IndexIVFFlat`` (k-means into ``nlist`` cells, a query scores
  only the items of its ``nprobe`` best cells), or ``IndexIVFPQ`` when ``pq_m`` is set
  (vectors compressed to ``pq_m`` bytes, scores approximate).

Each has ``build(vectors)`` (returns self), ``search(queries, k)`` (a batch: indices and
scores, best first), ``add(vectors)`` (new titles appended without a rebuild),
``to_arrays()`` / :func:`index_from_arrays` (plain numpy arrays: faiss's own byte
serialisation as ``uint8``, no pickle) and ``save`` / :func:`load_index` (one ``.npz``
holding those arrays plus a sha256 of them, checked before faiss reads a byte).
:func:`recall_at_k` measures an approximate result against the exact one.

faiss uses every core by default; :func:`faiss_threads` pins it (the benchmarks measure
one thread, as one request runs on a busy server).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator

import numpy as np

from course_utils.models.base import NotFittedError, top_k

__all__ = [
    "ExactIndex",
    "HNSWIndex",
    "INDEX_KINDS",
    "IVFIndex",
    "IndexFormatError",
    "faiss_threads",
    "index_from_arrays",
    "load_index",
    "make_index",
    "recall_at_k",
]

_FORMAT = "course_utils.index/1"


class IndexFormatError(ValueError):
    """A saved index is missing, corrupted or of another format."""


@contextlib.contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    """Run faiss with ``n`` OpenMP threads inside the block, then restore the setting.

    Examples
    --------
    >>> with faiss_threads(1):
    ...     pass
    """
    import faiss

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(n))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _as_matrix(x, what: str, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 2-D array, checked."""
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(f"{what} must be a 2-D numeric array; got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{what} must be numeric; got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array; got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f"{what} must have {dim} columns (the index's dimension); got {arr.shape[1]}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def _check_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


class _Index:
    """Shared interface; subclasses set ``kind`` and implement the faiss/numpy parts."""

    kind = ""
    _params: tuple[str, ...] = ()

    def get_params(self) -> dict:
        """The explicit parameters, as JSON-able numbers."""
        return {name: getattr(self, name) for name in self._params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_built(self) -> None:
        if not hasattr(self, "n_items_"):
            raise NotFittedError(f"{type(self).__name__} is not built yet; call build(vectors)")

    def build(self, vectors) -> _Index:
        """Index ``vectors`` (n_items x d); item ``i`` is row ``i``. Returns self."""
        V = _as_matrix(vectors, "vectors")
        self.dim_ = V.shape[1]
        self._build(V)
        self.n_items_ = V.shape[0]
        return self

    def add(self, vectors) -> _Index:
        """Append new items (rows ``n_items_, ...``) without rebuilding; returns self.

        HNSW links the new items into the graph; IVF puts them in the cells trained on
        the old catalogue (which drift as the catalogue changes: rebuild periodically).
        """
        self._check_built()
        V = _as_matrix(vectors, "vectors", self.dim_)
        self._add(V)
        self.n_items_ += V.shape[0]
        return self

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items with the largest inner product for each query, best first.

        Parameters
        ----------
        queries : array (n_queries, d)
        k : int, 1 <= k <= n_items_

        Returns
        -------
        indices : int64 array (n_queries, k)
            Item rows; ``-1`` where an approximate index found fewer than k items.
        scores : float32 array (n_queries, k)
            Inner products (approximate for IVF-PQ); ``-inf`` with the ``-1`` rows.
        """
        self._check_built()
        Q = _as_matrix(queries, "queries", self.dim_)
        k = _check_int(k, "k")
        if k > self.n_items_:
            raise ValueError(f"k must be between 1 and n_items ({self.n_items_}); got {k}")
        idx, val = self._search(Q, k)
        idx = np.asarray(idx, dtype=np.int64)
        val = np.where(idx >= 0, np.asarray(val, dtype=np.float32), -np.inf).astype(np.float32)
        return idx, val

    def search_filtered(self, query, k: int, blocked) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` unblocked items for ONE query (1-D arrays, best first).

        ``blocked`` is a boolean mask over the items (watched titles, titles the profile
        filters out). faiss indexes filter during the search (an ``IDSelectorBitmap``:
        blocked items are walked through but never returned); when that finds fewer than
        ``k`` of the allowed items (a very selective filter), the allowed items are
        scored exactly instead. Fewer than ``k`` come back only if fewer are allowed.
        """
        self._check_built()
        q = _as_matrix(np.asarray(query).reshape(1, -1), "query", self.dim_)
        blocked = np.asarray(blocked)
        if blocked.dtype != bool or blocked.shape != (self.n_items_,):
            raise ValueError(
                f"blocked must be a boolean mask of shape ({self.n_items_},); "
                f"got {blocked.dtype} {blocked.shape}"
            )
        k = _check_int(k, "k")
        allowed = ~blocked
        n_allowed = int(allowed.sum())
        want = min(k, n_allowed)
        if want == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if n_allowed > 4 * want:  # else scoring the few allowed items is cheaper
            idx, val = self._search_allowed(q, want, allowed)
            found = idx[0] >= 0
            if found.sum() >= want:
                return idx[0][found].astype(np.int64), val[0][found].astype(np.float32)
        ids = np.flatnonzero(allowed)
        top, val = top_k(q @ self._vectors(ids).T, want)
        return ids[top[0]], val[0].astype(np.float32)

    @property
    def nbytes(self) -> int:
        """Bytes the index holds (vectors plus graph or lists): its serialised size."""
        self._check_built()
        return int(sum(a.nbytes for a in self._payload().values()))

    # ----------------------------------------------------------------- persistence
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numpy arrays (no object dtype) that :func:`index_from_arrays` reads back."""
        self._check_built()
        payload = self._payload()
        meta = {"format": _FORMAT, "kind": self.kind, "params": self.get_params(),
                "n_items": int(self.n_items_), "dim": int(self.dim_)}  # fmt: skip
        return {"meta": np.array(json.dumps(meta, sort_keys=True)), **payload}

    def save(self, path: str | os.PathLike) -> None:
        """Write the index to one ``.npz`` file (arrays plus their sha256)."""
        arrays = self.to_arrays()
        np.savez(path, sha256=np.array(_digest(arrays)), **arrays)

    def _restore(self, meta: dict, arrays: dict) -> None:
        self.n_items_, self.dim_ = int(meta["n_items"]), int(meta["dim"])
        self._load_payload(arrays)


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


class ExactIndex(_Index):
    """Every item scored with numpy (float32), top-k by ``argpartition``.

    Parameters
    ----------
    batch_size : int, default 256
        Queries scored per matrix product (bounds the temporary score matrix).

    Examples
    --------
    >>> idx = ExactIndex().build(np.eye(3))
    >>> idx.search(np.array([[0.0, 2.0, 1.0]]), 2)[0].tolist()
    [[1, 2]]
    """

    kind = "exact"
    _params = ("batch_size",)

    def __init__(self, *, batch_size: int = 256) -> None:
        self.batch_size = batch_size

    def _build(self, V):
        _check_int(self.batch_size, "batch_size")
        self.vectors_ = V

    def _add(self, V):
        self.vectors_ = np.concatenate([self.vectors_, V])

    def _search(self, Q, k):
        out = [top_k(Q[i : i + self.batch_size] @ self.vectors_.T, k)
               for i in range(0, len(Q), self.batch_size)]  # fmt: skip
        return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])

    def _search_allowed(self, q, k, allowed):
        scores = q @ self.vectors_.T
        scores[:, ~allowed] = -np.inf
        return top_k(scores, k)

    def _vectors(self, ids):
        return self.vectors_[ids]

    def _payload(self):
        return {"vectors": self.vectors_}

    def _load_payload(self, arrays):
        self.vectors_ = np.ascontiguousarray(arrays["vectors"], dtype=np.float32)


class _FaissIndex(_Index):
    """Shared faiss plumbing: serialisation to uint8 and the search call."""

    def _add(self, V):
        self.index_.add(V)

    def _search(self, Q, k):
        self._set_search_params()
        val, idx = self.index_.search(Q, k)
        return idx, val

    def _search_allowed(self, q, k, allowed):
        import faiss

        bits = np.packbits(allowed, bitorder="little")  # must outlive the search call
        selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
        val, idx = self.index_.search(q, k, params=self._search_params(selector))
        return idx, np.where(idx >= 0, val, -np.inf)

    def _vectors(self, ids):
        return self.index_.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def _payload(self):
        import faiss

        return {"faiss": faiss.serialize_index(self.index_)}

    def _load_payload(self, arrays):
        import faiss

        self.index_ = faiss.deserialize_index(np.ascontiguousarray(arrays["faiss"], dtype=np.uint8))
        self._ready()

    def _ready(self):
        """Hook run after build and load (IVF needs its id -> list map to reconstruct)."""


class HNSWIndex(_FaissIndex):
    """faiss ``IndexHNSWFlat`` with inner-product metric.

    Parameters
    ----------
    M : int, default 32
        Neighbours per node per layer (memory: about ``2 M`` int32 links per item).
    ef_construction : int, default 80
        Candidate-list width while inserting (build time vs graph quality).
    ef_search : int, default 64
        Candidate-list width while searching (latency vs recall); faiss widens it to k
        when k is larger. Can be changed after building.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> V = rng.normal(size=(500, 8))
    >>> hnsw = HNSWIndex(M=8, ef_search=50).build(V)
    >>> exact = ExactIndex().build(V)
    >>> q = rng.normal(size=(20, 8))
    >>> recall_at_k(hnsw.search(q, 10)[0], exact.search(q, 10)[0]) > 0.9
    True
    """

    kind = "hnsw"
    _params = ("M", "ef_construction", "ef_search")

    def __init__(self, *, M: int = 32, ef_construction: int = 80, ef_search: int = 64) -> None:
        self.M = M
        self.ef_construction = ef_construction
        self.ef_search = ef_search

    def _build(self, V):
        import faiss

        for name in self._params:
            _check_int(getattr(self, name), name)
        self.index_ = faiss.IndexHNSWFlat(V.shape[1], int(self.M), faiss.METRIC_INNER_PRODUCT)
        self.index_.hnsw.efConstruction = int(self.ef_construction)
        self.index_.add(V)

    def _set_search_params(self):
        self.index_.hnsw.efSearch = _check_int(self.ef_search, "ef_search")

    def _search_params(self, selector):
        import faiss

        return faiss.SearchParametersHNSW(
            sel=selector, efSearch=_check_int(self.ef_search, "ef_search")
        )


class IVFIndex(_FaissIndex):
    """faiss ``IndexIVFFlat`` (or ``IndexIVFPQ`` when ``pq_m`` is set), inner product.

    Parameters
    ----------
    nlist : int, default 1024
        k-means cells (about ``sqrt(n_items)`` to ``4 sqrt(n_items)``).
    nprobe : int, default 16
        Cells scored per query (latency vs recall); can be changed after building.
    pq_m : int, optional
        Product-quantisation code size in bytes per vector (must divide d); None keeps
        the full float32 vectors.
    train_size : int, default 100_000
        Items sampled to train k-means (and the PQ codebooks).
    random_state : int, default 0
        Seeds the training sample and faiss's k-means.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> V = rng.normal(size=(2000, 8))
    >>> ivf = IVFIndex(nlist=16, nprobe=16).build(V)  # every cell: exact
    >>> q = rng.normal(size=(5, 8))
    >>> recall_at_k(ivf.search(q, 10)[0], ExactIndex().build(V).search(q, 10)[0])
    1.0
    """

    kind = "ivf"
    _params = ("nlist", "nprobe", "pq_m", "train_size", "random_state")

    def __init__(
        self,
        *,
        nlist: int = 1024,
        nprobe: int = 16,
        pq_m: int | None = None,
        train_size: int = 100_000,
        random_state: int = 0,
    ) -> None:
        self.nlist = nlist
        self.nprobe = nprobe
        self.pq_m = pq_m
        self.train_size = train_size
        self.random_state = random_state

    def _build(self, V):
        import faiss

        nlist = _check_int(self.nlist, "nlist")
        _check_int(self.nprobe, "nprobe")
        train_size = _check_int(self.train_size, "train_size")
        if nlist > len(V):
            raise ValueError(f"nlist must be <= n_items ({len(V)}); got {nlist}")
        d = V.shape[1]
        quantizer = faiss.IndexFlatIP(d)
        if self.pq_m is None:
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            m = _check_int(self.pq_m, "pq_m")
            if d % m:
                raise ValueError(f"pq_m must divide the dimension {d}; got {m}")
            index = faiss.IndexIVFPQ(quantizer, d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = int(self.random_state)
        rng = np.random.default_rng(self.random_state)
        sample = (
            V if len(V) <= train_size else V[np.sort(rng.choice(len(V), train_size, replace=False))]
        )
        index.train(sample)
        index.add(V)
        self.index_ = index
        self._ready()

    def _set_search_params(self):
        self.index_.nprobe = _check_int(self.nprobe, "nprobe")

    def _search_params(self, selector):
        import faiss

        return faiss.SearchParametersIVF(sel=selector, nprobe=_check_int(self.nprobe, "nprobe"))

    def _ready(self):
        self.index_.make_direct_map()


INDEX_KINDS = {"exact": ExactIndex, "hnsw": HNSWIndex, "ivf": IVFIndex}


def make_index(kind: str, **params) -> _Index:
    """An unbuilt index by name: ``make_index("hnsw", M=16, ef_search=100)``."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"index kind must be one of {sorted(INDEX_KINDS)}; got {kind!r}")
    return INDEX_KINDS[kind](**params)


def index_from_arrays(arrays: dict) -> _Index:
    """Rebuild an index from :meth:`to_arrays` output (e.g. read from an ``.npz``)."""
    if "meta" not in arrays:
        raise IndexFormatError(f"index arrays lack 'meta'; got {sorted(arrays)}")
    try:
        meta = json.loads(str(np.asarray(arrays["meta"])))
        kind, params = meta["kind"], meta["params"]
    except (ValueError, KeyError, TypeError) as err:
        raise IndexFormatError(f"index meta is not valid: {err}") from err
    if meta.get("format") != _FORMAT:
        raise IndexFormatError(
            f"index format is {meta.get('format')!r}; this code reads {_FORMAT!r}"
        )
    if kind not in INDEX_KINDS:
        raise IndexFormatError(f"unknown index kind {kind!r}; known: {sorted(INDEX_KINDS)}")
    index = make_index(kind, **params)
    needed = "vectors" if kind == "exact" else "faiss"
    if needed not in arrays:
        raise IndexFormatError(f"{kind} index arrays lack {needed!r}")
    index._restore(meta, arrays)
    return index


def load_index(path: str | os.PathLike) -> _Index:
    """Read an index written by ``save``; the sha256 is checked before faiss parses it.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    IndexFormatError
        Not an index file, corrupted (checksum or archive), or another format version.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no index file at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as err:  # a truncated or overwritten archive: zipfile/zlib/ValueError
        raise IndexFormatError(f"{path} is not a readable index file: {err}") from err
    if "sha256" not in arrays:
        raise IndexFormatError(f"{path} has no checksum; was it written by Index.save?")
    expected = str(arrays.pop("sha256"))
    if _digest(arrays) != expected:
        raise IndexFormatError(f"{path} is corrupted: its content does not match its sha256")
    return index_from_arrays(arrays)


def recall_at_k(approx: np.ndarray, exact: np.ndarray, k: int | None = None) -> float:
    """Mean fraction of each query's exact top-k that the approximate top-k found.

    ``approx`` and ``exact`` are (n_queries, >= k) item indices, best first; only the
    first ``k`` columns of each count (all columns when ``k`` is None); ``-1`` (not
    found) never matches. Order within the top-k does not matter.

    Examples
    --------
    >>> recall_at_k(np.array([[1, 2, 9], [4, 5, 6]]), np.array([[1, 2, 3], [6, 5, 4]]))
    0.8333333333333334
    """
    approx, exact = np.asarray(approx), np.asarray(exact)
    if approx.ndim != 2 or exact.ndim != 2 or approx.shape[0] != exact.shape[0]:
        raise ValueError(
            f"approx and exact must be 2-D with the same number of rows; got {approx.shape} and {exact.shape}"
        )
    if k is None:
        k = exact.shape[1]
    k = _check_int(k, "k")
    if k > min(approx.shape[1], exact.shape[1]):
        raise ValueError(f"k must be <= the columns of both arrays; got k={k}")
    a, e = approx[:, :k], exact[:, :k]
    found = ((e[:, :, None] == a[:, None, :]) & (e[:, :, None] >= 0)).any(axis=2)
    return float(found.sum(axis=1).mean() / k)
