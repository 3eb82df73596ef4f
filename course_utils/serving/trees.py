"""The ranker as plain arrays: export a gradient-boosted tree ensemble and score it with numpy.

Why not keep the scikit-learn object? Saving it means pickle (or a pickle-like format),
and loading a pickle runs whatever code the file names (see :mod:`.artifacts`). A tree
ensemble is only data: per node a feature, a threshold, where missing values go, two
children and, at a leaf, a value. :meth:`TreeEnsemble.from_sklearn` copies those fields
out of a fitted ``HistGradientBoostingClassifier``; they are saved as ``.npz`` arrays, and
the serving process needs numpy alone to score.

**Scoring without walking the trees.** Walking 200+ trees node by node for 400 candidates
is slow in numpy (one gather per tree level). We use the bit-vector idea of QuickScorer
(Lucchese et al., *QuickScorer: a fast algorithm to rank documents with additive
ensembles of regression trees*, SIGIR 2015). Number each tree's leaves left to right
(bit 0 = leftmost). A row ends in the **leftmost leaf that no false test excludes**, where
a test ``x[f] <= t`` that is false (the row goes right) excludes every leaf of the node's
left subtree. So with ``mask(node)`` = bits of its left-subtree leaves,

    exit_leaf(tree, row) = lowest set bit of  AND_{nodes with a false test} ~mask(node).

For one feature, the false tests of a row are the nodes with ``t < x[f]``: a *prefix* of
that feature's nodes sorted by threshold. The AND over every prefix is precomputed once
(``np.bitwise_and.accumulate``), so scoring is, per feature, one ``searchsorted`` and one
row gather of a (rows x trees) bit table, then one AND. Missing values (NaN) use an extra
table row with the nodes that send NaN to the right. The raw score is the baseline plus
the exit-leaf values summed over trees in tree order (as scikit-learn does), and the
probability is its logistic sigmoid, so predictions equal ``predict_proba(X)[:, 1]`` bit
for bit (tested).

Limits: binary classifiers on numerical features with at most 64 leaves per tree (the
course's ranker has 31, so 32-bit masks do). The bit tables take ``4 x trees x internal
nodes`` bytes (about 11 MB for 300 trees of 31 leaves), computed when the ensemble is
loaded, never stored.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["TreeEnsemble"]

MAX_LEAVES = 64
# index of the lowest set bit of a uint32 x: DE_BRUIJN_TABLE[((x & -x) * DE_BRUIJN) >> 27]
DE_BRUIJN = np.uint32(0x077CB531)
DE_BRUIJN_TABLE = np.array(
    [0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
     31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9], dtype=np.int32,
)  # fmt: skip
# np.take(..., mode="clip") skips the bounds check (10x faster); indices are valid by construction
# arrays that define an ensemble, with their dtypes (everything else is derived)
ARRAY_DTYPES = {
    "tree_offsets": np.int64,  # node range of tree t: offsets[t]:offsets[t + 1]
    "feature": np.int64,
    "threshold": np.float64,  # go left when x <= threshold
    "missing_left": np.bool_,  # where NaN goes
    "left": np.int64,  # children, as node numbers within the tree
    "right": np.int64,
    "is_leaf": np.bool_,
    "value": np.float64,  # leaf values (raw log-odds contributions)
    "baseline": np.float64,  # shape (1,): the raw score before any tree
    "n_features": np.int64,  # shape (1,)
}


def _low_bits(n: np.ndarray) -> np.ndarray:
    """``2**n - 1`` as uint64 for 0 <= n <= 64 (the n lowest bits set)."""
    n = np.asarray(n, dtype=np.uint64)
    shifted = np.left_shift(np.uint64(1), np.minimum(n, np.uint64(63))) - np.uint64(1)
    return np.where(n >= 64, np.uint64(0xFFFF_FFFF_FFFF_FFFF), shifted)


def _lowest_set_bit(x: np.ndarray) -> np.ndarray:
    """Position of the lowest set bit of every (non-zero) unsigned integer."""
    lowest = x & (~x + x.dtype.type(1))  # two's complement isolates the lowest bit
    if x.dtype == np.uint32:
        return np.take(DE_BRUIJN_TABLE, (lowest * DE_BRUIJN) >> np.uint32(27), mode="clip")
    return np.frexp(lowest.astype(np.float64))[1] - 1


class TreeEnsemble:
    """A binary gradient-boosted tree classifier held as arrays and scored by bit vectors.

    Build it with :meth:`from_sklearn` (from a fitted ``HistGradientBoostingClassifier``)
    or :meth:`from_arrays` (from saved arrays); :meth:`to_arrays` gives the arrays back.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> clf = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> ens = TreeEnsemble.from_arrays(TreeEnsemble.from_sklearn(clf).to_arrays())
    >>> bool(np.array_equal(ens.predict_proba(X), clf.predict_proba(X)[:, 1]))
    True
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self._arrays = _check_arrays(arrays)
        self._build_tables()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TreeEnsemble:
        """Rebuild an ensemble from :meth:`to_arrays` output (checks every array)."""
        return cls(arrays)

    @classmethod
    def from_sklearn(cls, model) -> TreeEnsemble:
        """Copy the trees of a fitted binary ``HistGradientBoostingClassifier``."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        if not isinstance(model, HistGradientBoostingClassifier):
            raise TypeError(
                f"model must be a fitted HistGradientBoostingClassifier; got {type(model).__name__}"
            )
        if not hasattr(model, "_predictors"):
            raise ValueError("model is not fitted; call fit(X, y) first")
        if len(model.classes_) != 2:
            raise ValueError(
                f"only binary classifiers are supported; got {len(model.classes_)} classes"
            )
        nodes = [predictors[0].nodes for predictors in model._predictors]
        joined = np.concatenate(nodes)
        if joined["is_categorical"].any():
            raise ValueError("categorical splits are not supported; use numerical features")
        sizes = np.array([len(n) for n in nodes], dtype=np.int64)
        return cls(
            {
                "tree_offsets": np.r_[0, np.cumsum(sizes)],
                "feature": joined["feature_idx"],
                "threshold": joined["num_threshold"],
                "missing_left": joined["missing_go_to_left"],
                "left": joined["left"],
                "right": joined["right"],
                "is_leaf": joined["is_leaf"],
                "value": joined["value"],
                "baseline": np.ravel(model._baseline_prediction)[:1],
                "n_features": np.array([model.n_features_in_]),
            }
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The defining arrays (copies), ready for ``np.savez``."""
        return {name: arr.copy() for name, arr in self._arrays.items()}

    @property
    def n_trees(self) -> int:
        return len(self._arrays["tree_offsets"]) - 1

    @property
    def n_features(self) -> int:
        return int(self._arrays["n_features"][0])

    def __repr__(self) -> str:
        return f"TreeEnsemble({self.n_trees} trees, {self.n_features} features)"

    def _build_tables(self) -> None:
        """Leaf masks, per-feature prefix-AND tables and leaf values (see module docstring)."""
        a = self._arrays
        offsets, is_leaf = a["tree_offsets"], a["is_leaf"]
        n_trees = self.n_trees
        tree = np.repeat(np.arange(n_trees), np.diff(offsets))
        first = offsets[:-1][tree]  # array position of each node's tree root
        # nodes are stored depth first (node, left subtree, right subtree), so a tree's
        # leaves in array order run left to right and the left subtree of node i is the
        # array range [left_i, right_i); leaves_before[j] counts its tree's leaves before j
        before = np.cumsum(is_leaf) - is_leaf
        leaves_before = before - before[first]
        internal = np.flatnonzero(~is_leaf)
        lo = leaves_before[first[internal] + a["left"][internal]]
        hi = leaves_before[first[internal] + a["right"][internal]]
        left_mask = _low_bits(hi) & ~_low_bits(lo)

        n_leaves = np.bincount(tree[is_leaf], minlength=n_trees)
        width = int(n_leaves.max(initial=1))
        values = np.zeros((n_trees, width))
        values[tree[is_leaf], leaves_before[is_leaf]] = a["value"][is_leaf]
        self._leaf_values = values.ravel()  # leaf j of tree t at t * width + j
        self._leaf_offsets = np.arange(n_trees) * width
        # 32-bit masks when every tree has at most 32 leaves: half the memory traffic
        self._mask_dtype = np.uint32 if width <= 32 else np.uint64
        all_ones = np.iinfo(self._mask_dtype).max
        left_mask = left_mask.astype(self._mask_dtype)

        self._thresholds, self._tables = [], []
        for f in range(self.n_features):  # a loop over features, not rows
            on_f = a["feature"][internal] == f
            order = np.argsort(a["threshold"][internal[on_f]], kind="stable")
            nodes, masks = internal[on_f][order], left_mask[on_f][order]
            table = np.full((len(nodes) + 2, n_trees), all_ones, dtype=self._mask_dtype)
            step = np.full((len(nodes), n_trees), all_ones, dtype=self._mask_dtype)
            step[np.arange(len(nodes)), tree[nodes]] = ~masks
            table[1:-1] = np.bitwise_and.accumulate(step, axis=0) if len(nodes) else step
            nan_step = np.where(a["missing_left"][nodes][:, None], all_ones, step)
            table[-1] = np.bitwise_and.reduce(nan_step, axis=0) if len(nodes) else all_ones
            self._thresholds.append(a["threshold"][nodes])
            self._tables.append(table)

    # ------------------------------------------------------------------ scoring
    def leaves(self, X) -> np.ndarray:
        """Exit leaf (0 = leftmost) of every row in every tree, shape (n_rows, n_trees)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_rows, {self.n_features}); got {np.shape(X)}")
        alive = np.full((len(X), self.n_trees), np.iinfo(self._mask_dtype).max, self._mask_dtype)
        gathered = np.empty_like(alive)
        for f, (thresholds, table) in enumerate(zip(self._thresholds, self._tables, strict=True)):
            if len(thresholds) == 0:
                continue
            x = X[:, f]
            row = np.searchsorted(thresholds, x, side="left")  # tests with t < x are false
            row[np.isnan(x)] = len(table) - 1
            np.take(table, row, axis=0, out=gathered, mode="clip")
            np.bitwise_and(alive, gathered, out=alive)
        return _lowest_set_bit(alive)

    def decision_function(self, X) -> np.ndarray:
        """Raw scores (log-odds): baseline plus leaf values summed tree by tree."""
        leaves = self.leaves(X)
        contrib = np.take(self._leaf_values, leaves + self._leaf_offsets, mode="clip")
        raw = np.full(len(contrib), self._arrays["baseline"][0])
        for values in np.ascontiguousarray(contrib.T):  # tree by tree, as scikit-learn adds
            raw += values
        return raw

    def predict_proba(self, X) -> np.ndarray:
        """Probability of the positive class per row (shape (n_rows,))."""
        return expit(self.decision_function(X))


def _check_arrays(arrays) -> dict[str, np.ndarray]:
    """Validate the defining arrays; errors say which array is wrong and how."""
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict name -> ndarray; got {type(arrays).__name__}")
    missing = sorted(set(ARRAY_DTYPES) - set(arrays))
    if missing:
        raise KeyError(f"tree arrays lack {missing}")
    out = {
        name: np.asarray(arrays[name]).astype(dtype, copy=True)
        for name, dtype in ARRAY_DTYPES.items()
    }
    offsets, n = out["tree_offsets"], len(out["feature"])
    for name in ("threshold", "missing_left", "left", "right", "is_leaf", "value"):
        if out[name].shape != (n,):
            raise ValueError(f"tree array {name!r} must have shape ({n},); got {out[name].shape}")
    if (
        offsets.ndim != 1
        or len(offsets) < 2
        or offsets[0] != 0
        or offsets[-1] != n
        or np.any(np.diff(offsets) < 1)
    ):
        raise ValueError("tree_offsets must rise from 0 to the number of nodes, >= 1 node per tree")
    tree = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    local = np.arange(n) - offsets[:-1][tree]
    internal = ~out["is_leaf"]
    size = np.diff(offsets)[tree]
    if np.any(out["left"][internal] != local[internal] + 1) or np.any(
        (out["right"][internal] <= out["left"][internal])
        | (out["right"][internal] >= size[internal])
    ):
        raise ValueError("trees must be stored depth first: left child next, right child after it")
    if np.bincount(tree[out["is_leaf"]], minlength=len(offsets) - 1).max() > MAX_LEAVES:
        raise ValueError(f"trees may have at most {MAX_LEAVES} leaves")
    n_features = int(out["n_features"][0])
    if np.any((out["feature"][internal] < 0) | (out["feature"][internal] >= n_features)):
        raise ValueError(f"split features must be in [0, {n_features})")
    return out
