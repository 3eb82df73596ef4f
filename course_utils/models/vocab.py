"""The one place where original ids are mapped to contiguous matrix indices."""

from __future__ import annotations

import numpy as np

__all__ = ["Vocabulary"]


class Vocabulary:
    """Sorted unique ids <-> 0..n-1 indices.

    Because ids are sorted, a smaller index always means a smaller id; models rely on
    this to break score ties by the smaller item id.

    Examples
    --------
    >>> v = Vocabulary([30, 10, 20, 10])
    >>> v.index([20, 30]).tolist(), v.ids([0]).tolist(), len(v)
    ([1, 2], [10], 3)
    >>> v.index([99], strict=False).tolist()
    [-1]
    """

    def __init__(self, ids) -> None:
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"ids must be 1-D; got shape {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"ids must be integers; got dtype {arr.dtype}")
        self.ids_ = np.unique(arr.astype(np.int64))

    def __len__(self) -> int:
        return len(self.ids_)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids)"

    def _lookup(self, ids) -> tuple[np.ndarray, np.ndarray]:
        arr = np.asarray(ids)
        if arr.dtype.kind not in "iu":
            if arr.size == 0:
                arr = arr.astype(np.int64)
            else:
                raise TypeError(f"ids must be integers; got dtype {arr.dtype}")
        pos = np.searchsorted(self.ids_, arr)
        pos_c = np.minimum(pos, max(len(self.ids_) - 1, 0))
        known = (
            (pos < len(self.ids_)) & (self.ids_[pos_c] == arr)
            if len(self.ids_)
            else (np.zeros(arr.shape, dtype=bool))
        )
        return pos_c, known

    def contains(self, ids) -> np.ndarray:
        """Boolean mask: which ids are in the vocabulary."""
        return self._lookup(ids)[1]

    def index(self, ids, *, strict: bool = True) -> np.ndarray:
        """Indices of ``ids``; unknown ids raise (``strict``) or map to -1."""
        pos, known = self._lookup(ids)
        if not known.all():
            if strict:
                unknown = np.asarray(ids)[~known]
                raise KeyError(f"{unknown.size} unknown ids, e.g. {unknown[:5].tolist()}")
            pos = np.where(known, pos, -1)
        return pos.astype(np.int64)

    def ids(self, index) -> np.ndarray:
        """Original ids at the given indices."""
        return self.ids_[np.asarray(index, dtype=np.int64)]
