"""Steps 3-4, item content: what the catalogue says about each title.

- :func:`item_content_matrix`: TF-IDF over tokens such as ``genre=Comedy``, ``tag=pixar``
  and ``decade=1990s``, one L2-normalised row per item (the content tower's input);
- :func:`item_content_blocks`: the same per token family, blocks side by side, so that a
  title's many tags cannot drown its genres (the content-based model's input), and
  :func:`unit_blocks` to normalise profiles block by block;
- :func:`align_item_rows`: content rows reordered to a model's item vocabulary;
- :func:`genre_multi_hot`: one 0/1 column per genre;
- point in time: :func:`user_cutoffs`, :func:`tags_as_of` and :func:`catalogue_as_of` rebuild
  the ``tags`` column from timestamped tag events, keeping only tags applied at or before a
  cutoff (one timestamp, or each tagging user's own train cutoff).

**Why tags leak.** MovieLens users tag titles *after* watching them, and 61 % of the tags in
``tags.csv`` were applied after the tagging user's train cutoff of the course benchmark. A
title's full tag list therefore says which titles some users went on to watch, and with
which words, in the test period: content features built from it carry test information into
every fit. A title released today has no user tags at all; it only has what the studio
supplies (title, genres, year).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.features._common import _sorted_items, _year_array

__all__ = [
    "CONTENT_FIELDS",
    "TAG_EVENT_COLUMNS",
    "catalogue_as_of",
    "tags_as_of",
    "user_cutoffs",
    "align_item_rows",
    "genre_multi_hot",
    "item_content_blocks",
    "item_content_matrix",
    "unit_blocks",
]

CONTENT_FIELDS = ("genres", "tags", "decade")
TAG_EVENT_COLUMNS = (S.USER_ID, S.ITEM_ID, "tag", S.TIMESTAMP)


# --------------------------------------------------------------------------- point in time
def user_cutoffs(interactions: pd.DataFrame) -> pd.Series:
    """Each user's last interaction time: the per-user cutoff of a temporal split's train.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2], "timestamp": pd.to_datetime(
    ...     ["2001-01-01", "2003-01-01", "2002-01-01"], utc=True)})
    >>> user_cutoffs(df).dt.year.tolist()
    [2003, 2002]
    """
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(f"interactions must be a DataFrame; got {type(interactions).__name__}")
    missing = sorted({S.USER_ID, S.TIMESTAMP} - set(interactions.columns))
    if missing:
        raise ValueError(
            f"interactions need columns {missing} to define per-user cutoffs; "
            f"has {list(interactions.columns)}"
        )
    return interactions.groupby(S.USER_ID)[S.TIMESTAMP].max()


def _check_tag_events(tag_events: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(tag_events, pd.DataFrame):
        raise TypeError(f"tag_events must be a DataFrame; got {type(tag_events).__name__}")
    missing = [c for c in TAG_EVENT_COLUMNS if c not in tag_events.columns]
    if missing:
        raise ValueError(
            f"tag_events lacks columns {missing}; expected {list(TAG_EVENT_COLUMNS)}, "
            f"has {list(tag_events.columns)}"
        )
    if not pd.api.types.is_datetime64_any_dtype(tag_events[S.TIMESTAMP]):
        raise TypeError(
            f"tag_events.timestamp must be datetime64; got {tag_events[S.TIMESTAMP].dtype}"
        )
    return tag_events


def _utc(values):
    ts = pd.to_datetime(values)
    if isinstance(ts, pd.Series):
        return ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def tags_as_of(tag_events: pd.DataFrame, cutoff) -> pd.Series:
    """Each item's sorted unique tags among those applied at or before ``cutoff``.

    Parameters
    ----------
    tag_events : DataFrame
        One row per tag application: ``user_id``, ``item_id``, ``tag``, ``timestamp``
        (``Dataset.tags`` of MovieLens).
    cutoff : timestamp, or Series of timestamps indexed by user_id
        One cutoff for everybody, or each tagging user's own cutoff (for a per-user temporal
        split, :func:`user_cutoffs` of the train); tags by users without a cutoff are dropped.

    Returns
    -------
    Series of list of str, indexed by item_id (items with no tag left are absent)

    Examples
    --------
    >>> ev = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 10, 10],
    ...     "tag": ["funny", "pixar", "funny"],
    ...     "timestamp": pd.to_datetime(["2001-01-01", "2005-01-01", "2002-01-01"], utc=True)})
    >>> tags_as_of(ev, "2003-01-01").to_dict()
    {10: ['funny']}
    >>> tags_as_of(ev, pd.Series(pd.to_datetime(["2006-01-01"], utc=True), index=[1])).to_dict()
    {10: ['funny', 'pixar']}
    """
    ev = _check_tag_events(tag_events)
    when = _utc(ev[S.TIMESTAMP])
    if isinstance(cutoff, pd.Series):
        limit = _utc(cutoff).reindex(ev[S.USER_ID].to_numpy()).to_numpy()
        keep = pd.notna(limit) & (when.to_numpy() <= limit)
    else:
        if cutoff is None:
            raise TypeError("cutoff must be a timestamp or a Series of per-user timestamps")
        keep = (when <= _utc(pd.Timestamp(cutoff))).to_numpy()
    kept = ev.loc[keep, [S.ITEM_ID, "tag"]].drop_duplicates()
    return kept.groupby(S.ITEM_ID)["tag"].agg(sorted)


def catalogue_as_of(
    items: pd.DataFrame,
    tag_events: pd.DataFrame,
    cutoff=None,
    *,
    interactions: pd.DataFrame | None = None,
    keep_items=None,
    untagged_items=None,
) -> pd.DataFrame:
    """The catalogue as the platform knew it at a cutoff: point-in-time tags, existing titles.

    Parameters
    ----------
    items : DataFrame
        The catalogue (its ``tags`` column, if any, is replaced).
    tag_events : DataFrame
        ``user_id``, ``item_id``, ``tag``, ``timestamp`` (see :func:`tags_as_of`).
    cutoff : timestamp or Series of per-user timestamps, optional
        Default: :func:`user_cutoffs` of ``interactions`` (each user's train cutoff).
    interactions : DataFrame, optional
        The training interactions. When given, only titles with a training interaction
        (or listed in ``keep_items``) stay: a title first seen after the cutoff did not exist
        for the platform yet.
    keep_items : array-like of item ids, optional
        Titles kept even without a training interaction (e.g. titles released at the cutoff).
    untagged_items : array-like of item ids, optional
        Titles that lose every user tag (truly new titles: only studio metadata).

    Returns
    -------
    DataFrame
        A copy of ``items`` (possibly fewer rows) with ``tags`` as of the cutoff.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [10, 20], "genres": [["Comedy"], ["Drama"]]})
    >>> ev = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 20], "tag": ["a", "b"],
    ...     "timestamp": pd.to_datetime(["2001-01-01", "2009-01-01"], utc=True)})
    >>> catalogue_as_of(items, ev, "2005-01-01")["tags"].tolist()
    [['a'], []]
    """
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a DataFrame; got {type(items).__name__}")
    if cutoff is None:
        if interactions is None:
            raise ValueError("give a cutoff, or interactions to take each user's train cutoff")
        cutoff = user_cutoffs(interactions)
    tag_lists = tags_as_of(tag_events, cutoff)
    out = items.copy()
    if interactions is not None:
        exists = set(interactions[S.ITEM_ID].unique().tolist())
        if keep_items is not None:
            exists |= set(np.asarray(keep_items).tolist())
        out = out[out[S.ITEM_ID].isin(exists)].copy()
    if untagged_items is not None:
        tag_lists = tag_lists[~tag_lists.index.isin(np.asarray(untagged_items))]
    mapped = out[S.ITEM_ID].map(tag_lists)
    out[S.TAGS] = [list(t) if isinstance(t, list) else [] for t in mapped]
    return out


# --------------------------------------------------------------------------- item content
def _tokens(items: pd.DataFrame, use: Sequence[str]) -> list[np.ndarray]:
    """One array of tokens per row of the (sorted) item table, e.g. ['genre=Comedy', ...]."""
    parts = []
    if "genres" in use:
        parts.append("genre=" + items[S.GENRES].explode().dropna().astype(str))
    if "tags" in use:
        parts.append("tag=" + items[S.TAGS].explode().dropna().astype(str))
    if "decade" in use:
        year = pd.Series(_year_array(items), index=items.index).dropna()
        parts.append("decade=" + (year // 10 * 10).astype(int).astype(str) + "s")
    tokens = pd.concat(parts).sort_index(kind="stable")
    rows = tokens.index.to_numpy()
    bounds = np.searchsorted(rows, np.arange(1, len(items)))  # row r is bounds[r-1]:bounds[r]
    return np.split(tokens.to_numpy(dtype=str), bounds)


def _passthrough(tokens: np.ndarray) -> np.ndarray:
    """The custom analyzer: documents already are token arrays."""
    return tokens


def item_content_matrix(
    items: pd.DataFrame,
    *,
    use: Sequence[str] = CONTENT_FIELDS,
    min_df: int = 2,
    max_features: int | None = None,
    tag_events: pd.DataFrame | None = None,
    cutoff=None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """TF-IDF content vectors of items from genres, tags and release decade.

    Each item becomes a "document" of tokens ``genre=<g>``, ``tag=<t>`` and
    ``decade=<d>s``; :class:`sklearn.feature_extraction.text.TfidfVectorizer` (with a
    pass-through analyzer) weights rare tokens up and common ones down, and every row is
    L2-normalised so a dot product between rows is their cosine similarity. Items with
    no token that survives ``min_df`` get an all-zero row; when no token survives at all
    (say, ``use=("tags",)`` on a catalogue without tags) the matrix has no columns.

    Parameters
    ----------
    items : DataFrame
        ``item_id`` plus the columns needed by ``use`` (``genres``, ``tags``, ``year``).
    use : sequence of {"genres", "tags", "decade"}
        Which token families to include.
    min_df : int, default 2
        Keep tokens that occur in at least ``min_df`` items (drops one-off tags).
    max_features : int, optional
        Keep only the most frequent tokens.
    tag_events, cutoff : DataFrame and timestamp (or per-user Series), optional
        Point in time: rebuild ``tags`` from the tags applied at or before ``cutoff``
        (:func:`catalogue_as_of`); without them ``items.tags`` is used as given.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix, shape (n_items, n_features)
        Rows ordered by sorted ``item_id``; each row has L2 norm 1 (or 0 when empty).
    feature_names : ndarray of str
    item_ids : ndarray of int64, sorted

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [2, 1], "genres": [["Comedy"], ["Comedy", "Drama"]],
    ...     "tags": [[], []], "year": pd.array([1995, 1999], dtype="Int64")})
    >>> X, names, ids = item_content_matrix(items, min_df=1)
    >>> ids.tolist(), names.tolist()
    ([1, 2], ['decade=1990s', 'genre=Comedy', 'genre=Drama'])
    >>> np.round(X.toarray()[1], 3).tolist()
    [0.707, 0.707, 0.0]
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if tag_events is not None:
        items = catalogue_as_of(items, tag_events, cutoff)
    use = (use,) if isinstance(use, str) else tuple(use)
    unknown = sorted(set(use) - set(CONTENT_FIELDS))
    if unknown or not use:
        raise ValueError(f"use must name some of {list(CONTENT_FIELDS)}; got {list(use)}")
    if isinstance(min_df, bool) or not isinstance(min_df, (int, np.integer)) or min_df < 1:
        raise ValueError(f"min_df must be an int >= 1; got {min_df!r}")
    need = [{"genres": S.GENRES, "tags": S.TAGS, "decade": S.YEAR}[u] for u in use]
    items = _sorted_items(items, need)
    docs = _tokens(items, use)
    ids = items[S.ITEM_ID].to_numpy(dtype=np.int64)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    pairs = pd.DataFrame({"doc": np.repeat(np.arange(len(docs)), lengths)})
    pairs["token"] = np.concatenate(docs) if lengths.sum() else np.array([], dtype=str)
    doc_freq = pairs.drop_duplicates()["token"].value_counts()
    if not (doc_freq >= min_df).any():  # no token survives: a matrix without columns
        return sp.csr_matrix((len(items), 0)), np.array([], dtype=str), ids
    vectorizer = TfidfVectorizer(
        analyzer=_passthrough, min_df=int(min_df), max_features=max_features, norm="l2"
    )
    matrix = vectorizer.fit_transform(docs).tocsr().astype(np.float64)
    names = np.asarray(vectorizer.get_feature_names_out(), dtype=str)
    return matrix, names, ids


def item_content_blocks(
    items: pd.DataFrame,
    *,
    use: Sequence[str] = CONTENT_FIELDS,
    min_df: int = 2,
    tag_events: pd.DataFrame | None = None,
    cutoff=None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, dict[str, slice]]:
    """One TF-IDF block per token family, side by side, each scaled by ``1 / sqrt(F)``.

    Each family (genres, tags, decade) gets its own :func:`item_content_matrix`, rows
    L2-normalised within the family; families in which no token survives ``min_df`` are
    dropped, and the ``F`` remaining blocks are scaled by ``1 / sqrt(F)``. A dot product of
    two rows is then the **average of the per-family cosines**, where one joint vector
    would let a title with thirty tags outweigh its genres.

    ``tag_events`` and ``cutoff`` make the tags point in time, as in
    :func:`item_content_matrix`.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix, shape (n_items, n_features)
        Rows ordered by sorted ``item_id``.
    feature_names : ndarray of str
    item_ids : ndarray of int64, sorted
    blocks : dict of family -> slice
        The columns of each kept family, in ``use`` order.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2], "genres": [["Comedy"], ["Comedy", "Drama"]],
    ...     "tags": [[], []], "year": pd.array([1995, 1999], dtype="Int64")})
    >>> X, names, ids, blocks = item_content_blocks(items, min_df=1)
    >>> list(blocks), names.tolist()  # no tags: that family is dropped
    (['genres', 'decade'], ['genre=Comedy', 'genre=Drama', 'decade=1990s'])
    >>> round(float((X[0] @ X[1].T).toarray()[0, 0]), 2)  # genre cosine 0.58, decade 1
    0.79
    """
    if tag_events is not None:
        items = catalogue_as_of(items, tag_events, cutoff)
    use = (use,) if isinstance(use, str) else tuple(use)
    parts, names, blocks, start = [], [], {}, 0
    for family in use:
        matrix, family_names, ids = item_content_matrix(items, use=(family,), min_df=min_df)
        if matrix.shape[1] == 0:
            continue
        parts.append(matrix)
        names.append(family_names)
        blocks[family] = slice(start, start + matrix.shape[1])
        start += matrix.shape[1]
    if not parts:
        return sp.csr_matrix((len(ids), 0)), np.array([], dtype=str), ids, blocks
    scale = 1.0 / np.sqrt(len(parts))
    return sp.hstack(parts, format="csr") * scale, np.concatenate(names), ids, blocks


def unit_blocks(profiles, blocks):
    """Scale each block of each profile to norm ``1 / sqrt(F)``; zero blocks stay zero.

    With item rows from :func:`item_content_blocks`, ``matrix @ unit_blocks(p, blocks)`` is
    the average over families of the cosine between each item and the profile ``p``.

    Parameters
    ----------
    profiles : 1-D array (one profile), or 2-D array / sparse matrix (one profile per row)
    blocks : dict of name -> slice, or sequence of slices

    Returns
    -------
    ndarray (same shape), or scipy.sparse.csr_matrix for sparse input

    Examples
    --------
    >>> unit_blocks(np.array([3.0, 4.0, 0.0, 2.0]), [slice(0, 2), slice(2, 4)]).round(3).tolist()
    [0.424, 0.566, 0.0, 0.707]
    """
    slices = list(blocks.values()) if isinstance(blocks, dict) else list(blocks)
    scale = 1.0 / np.sqrt(max(len(slices), 1))
    if sp.issparse(profiles):
        P = profiles.tocsc()
        parts = []
        for block in slices:
            part = P[:, block]
            norms = np.sqrt(np.asarray(part.multiply(part).sum(axis=1))).ravel()
            parts.append(sp.diags(scale / np.maximum(norms, 1e-12)) @ part)
        return sp.hstack(parts, format="csr")
    out = np.array(profiles, dtype=np.float64)
    if out.ndim not in (1, 2):
        raise ValueError(f"profiles must be 1-D or 2-D; got shape {out.shape}")
    for block in slices:
        norms = np.linalg.norm(out[..., block], axis=-1, keepdims=True)
        out[..., block] *= scale / np.maximum(norms, 1e-12)
    return out


def align_item_rows(matrix, matrix_ids: np.ndarray, item_ids: np.ndarray) -> sp.csr_matrix:
    """Rows of ``matrix`` (one per ``matrix_ids``) in the order of ``item_ids``.

    Items without a row (no metadata) get an all-zero row, so a model's item vocabulary
    and a content matrix built from the catalogue line up.

    Examples
    --------
    >>> M = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    >>> align_item_rows(M, np.array([10, 20]), np.array([20, 30, 10])).toarray().tolist()
    [[0.0, 2.0], [0.0, 0.0], [1.0, 0.0]]
    """
    item_ids = np.asarray(item_ids)
    pos = pd.Index(np.asarray(matrix_ids)).get_indexer(item_ids)
    rows = np.flatnonzero(pos >= 0)
    select = sp.csr_matrix(
        (np.ones(len(rows)), (rows, pos[rows])), shape=(len(item_ids), matrix.shape[0])
    )
    return (select @ matrix).tocsr()


def genre_multi_hot(items: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One 0/1 column per genre, rows ordered by sorted ``item_id``.

    Returns
    -------
    matrix : ndarray of float32, shape (n_items, n_genres)
    genre_names : ndarray of str, sorted
    item_ids : ndarray of int64, sorted

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [5, 3], "genres": [["Drama"], ["Comedy", "Drama"]]})
    >>> M, names, ids = genre_multi_hot(items)
    >>> M.tolist(), names.tolist(), ids.tolist()
    ([[1.0, 1.0], [0.0, 1.0]], ['Comedy', 'Drama'], [3, 5])
    """
    items = _sorted_items(items, [S.GENRES])
    exploded = items[S.GENRES].explode().dropna().astype(str)
    names = np.unique(exploded.to_numpy(dtype=str))
    matrix = np.zeros((len(items), len(names)), dtype=np.float32)
    matrix[exploded.index.to_numpy(), np.searchsorted(names, exploded.to_numpy(dtype=str))] = 1.0
    return matrix, names, items[S.ITEM_ID].to_numpy(dtype=np.int64)
