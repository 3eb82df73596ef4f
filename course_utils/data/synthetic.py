"""Synthetic streaming-platform data with structure that models can learn.

:func:`make_synthetic` returns a :class:`~course_utils.data.dataset.Dataset` with the same
column names and dtypes as MovieLens plus the streaming signals (``watch_pct``,
``completed``, ``duration``, ``release_date``, user profiles). The generative story,
read top to bottom:

1. **Items.** 1-4 genres per title drawn with MovieLens's genre frequencies; a latent
   quality ``q`` (``avg_rating = 3.5 + 0.5 q``); a duration in minutes (10 % short
   formats); a release date (80 % back catalogue, 20 % released during the year); a
   log-normal base popularity (the long tail).
2. **Tastes.** ``n_factors`` latent taste factors, each a random direction in genre
   space. Item ``i`` loads on factor ``k`` with
   ``l[i, k] = 1.5 * genre_match[i, k] + 2.0 * noise``. A user is a mixture
   ``theta[u] = softmax(user factors)`` over the tastes (with an age-group shift);
   ``preferred_genres`` are the user's top-3 genres under that mixture.
3. **Which items are watched.** Each user gets a heavy-tailed (log-normal) number of
   events; each event gets a time (weekend and evening peaks), a taste
   ``z ~ theta[u]``, then an item with probability proportional to

   ``popularity[i] * exp(l[i, z]) * recency[i, t] * drift[i, t] * [released[i] <= t]``

   where ``recency`` boosts titles in their first weeks and ``drift`` multiplies the
   ``drift_genre`` titles by ``exp(drift_strength)`` from ``drift_date`` on. So
   ``P(item | user, t)`` is a rank-``n_factors`` mixture, exactly what matrix
   factorisation and item-item models can learn. The distributions are computed per
   week (one ``n_factors x n_items`` table at a time) and sampled by inverse CDF, so
   memory never holds a ``n_users x n_items`` matrix.
4. **Unique pairs.** Repeated (user, item) pairs are dropped and the user's missing
   events redrawn until each user has their count (MovieLens-style: one row per pair,
   no rewatches). A user gets at most a quarter of the catalogue, so the total equals
   ``n_interactions`` exactly. In near-dense requests (a user asking for more titles
   than their tastes practically ever pick), the events still missing after 20 rounds
   come from uniform draws over the released titles; at the default size and at
   platform scale the redraws converge long before that.
5. **Outcomes.** With affinity ``a = theta[u] . l[i]`` (standardised over the events)
   the completion propensity is ``0.8 a + 0.5 q - 1.2 log(duration / 90)``: fans
   finish, good titles finish, long titles get abandoned. ``completed = watch_pct >=
   90``. About 30 % of events are rated (completers more often), with
   ``rating = round_half(avg_rating + 0.5 a + 0.8 (watch_pct / 100 - 0.85) + noise)``
   clipped to 1-5.

Everything is vectorised and driven by one ``np.random.default_rng(random_state)`` (and,
with a drift, a second generator seeded from it for the events after the drift).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.dataset import Dataset

__all__ = ["GENRES", "make_synthetic"]

# MovieLens's genre vocabulary and its share of titles in ml-latest-small.
GENRES = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western", "IMAX",
)  # fmt: skip
_GENRE_FREQ = np.array(
    [0.188, 0.13, 0.063, 0.068, 0.386, 0.123, 0.045, 0.448, 0.08, 0.009, 0.1, 0.034, 0.059,
     0.164, 0.101, 0.194, 0.039, 0.017, 0.016]
)  # fmt: skip
_N_GENRES_P = np.array([0.3, 0.35, 0.25, 0.1])  # 1, 2, 3 or 4 genres per title

# Mood tags derived from genres, duration, quality and release.
_MOODS = {
    "dark": ("Crime", "Film-Noir", "Horror", "Mystery", "Thriller", "War"),
    "feel-good": ("Animation", "Children", "Comedy", "Musical", "Romance"),
    "thrilling": ("Action", "Adventure", "Fantasy", "IMAX", "Sci-Fi", "Western"),
    "thoughtful": ("Documentary", "Drama"),
}
_TAGS = ("acclaimed", "classic", "dark", "epic", "feel-good", "new release", "short",
         "thoughtful", "thrilling")  # fmt: skip

_AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55+")
_AGE_P = np.array([0.18, 0.30, 0.24, 0.16, 0.12])
_COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "BR", "MX", "IN", "JP", "CA", "AU")
_COUNTRY_P = np.array([0.30, 0.08, 0.08, 0.07, 0.06, 0.05, 0.10, 0.06, 0.09, 0.05, 0.03, 0.03])

_ADJECTIVES = np.array(
    ["Silent", "Crimson", "Last", "Hidden", "Broken", "Golden", "Midnight", "Lost", "Wild",
     "Distant", "Frozen", "Burning", "Secret", "Endless", "Quiet", "Electric", "Hollow",
     "Bright", "Forgotten", "Savage", "Gentle", "Iron", "Paper", "Velvet"]
)  # fmt: skip
_NOUNS = np.array(
    ["River", "Empire", "Garden", "Signal", "Horizon", "Harbor", "Promise", "Kingdom",
     "Letter", "Machine", "Summer", "Shadow", "Frontier", "Station", "Circle", "Island",
     "Mirror", "Orchard", "Voyage", "Winter", "Echo", "Crown", "Storm", "Road"]
)  # fmt: skip

# Strength of each effect (log scale unless stated).
_POP_SIGMA = 1.2  # spread of log base popularity: the long tail
_GENRE_LOADING = 1.5  # how strongly tastes follow genres
_ITEM_NOISE = 2.0  # taste loadings not explained by genre
_USER_SIGMA = 2.5  # spread of user taste logits: how focused users are
_AGE_SHIFT = 0.7  # age-group effect on taste logits
_ACTIVITY_SIGMA = 1.1  # spread of log user activity: heavy-tailed activity
_NEW_SHARE = 0.2  # share of titles released during the year
_RECENCY_BOOST = 4.0  # a title on release day is (1 + 4) times as popular ...
_RECENCY_DAYS = 30.0  # ... decaying with this time constant
_USER_CAP = 0.25  # at most this share of the catalogue per user
_MAX_ROUNDS = 20  # redraw rounds that replace repeated (user, item) pairs
_RATED_SHARE = 0.30
# Integer weights so that times are drawn exactly from lookup tables (O(1) per event).
_HOUR_WEIGHT = np.array([3, 2, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 6, 8, 9, 9, 7, 5])
_DAY_WEIGHT = np.array([10, 10, 10, 10, 10, 13, 13])  # Monday .. Sunday: busier weekends
_CHUNK = 1_000_000  # events per chunk when gathering factor rows
_CACHE_BYTES = 600 * 2**20  # keep the weekly item tables between redraw rounds up to this
_DAY = 86_400


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def _to_utc(name: str, value) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a date like '2024-01-01'; got {value!r}") from err
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a date like '2024-01-01'; got {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _seconds(ts: pd.Timestamp) -> int:
    return int(ts.timestamp())


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _lists(indicator: np.ndarray, vocab) -> np.ndarray:
    """Rows of a boolean (n, len(vocab)) matrix as lists of names (every row non-empty)."""
    joined = pd.Series("", index=range(len(indicator)), dtype=object)
    for j, name in enumerate(vocab):  # loop over the vocabulary, not the rows
        joined = joined + np.where(indicator[:, j], name + "|", "")
    return joined.str[:-1].str.split("|").to_numpy()


def _flat_cdf(weights: np.ndarray) -> np.ndarray:
    """Cumulative distribution of each row of ``weights``, row ``r`` shifted by ``r``.

    The shift makes the flattened table increasing, so one ``searchsorted`` serves
    draws from any mix of rows (see :func:`_sample_rows`).
    """
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    cum += np.arange(len(cum))[:, None]
    return cum.ravel()


def _sample_rows(rng, flat_cdf, n_cols: int, rows: np.ndarray, sort: bool = True) -> np.ndarray:
    """One inverse-CDF draw per entry of ``rows`` from that row's distribution.

    With ``sort`` the queries are sorted first: ``searchsorted`` is several times faster
    on sorted keys (it walks the table in order instead of jumping around memory); pass
    ``sort=False`` when ``rows`` is already sorted and its rows are short.
    """
    q = rows + np.minimum(rng.random(len(rows)), 1.0 - 1e-9)  # stays below row + 1
    if not sort:
        return np.searchsorted(flat_cdf, q, side="right") - rows * n_cols
    order = np.argsort(q)
    col = np.empty(len(rows), dtype=np.int64)
    col[order] = np.searchsorted(flat_cdf, q[order], side="right")
    return col - rows * n_cols


def _make_items(rng, n_items, n_factors, start_s, days):
    rows = np.arange(n_items)
    # genres: Gumbel-top-k keeps the first n_genres of a frequency-weighted permutation
    n_genres = rng.choice(len(_N_GENRES_P), size=n_items, p=_N_GENRES_P) + 1
    keys = np.log(_GENRE_FREQ) + rng.gumbel(size=(n_items, len(GENRES)))
    top = np.argsort(-keys, axis=1)[:, : len(_N_GENRES_P)]
    genre = np.zeros((n_items, len(GENRES)), dtype=bool)
    genre[rows[:, None], top] = np.arange(top.shape[1]) < n_genres[:, None]
    has = dict(zip(GENRES, genre.T, strict=True))

    quality = rng.standard_normal(n_items)
    short = rng.random(n_items) < 0.1
    log_minutes = np.where(short, np.log(35), np.log(100)) + 0.3 * rng.standard_normal(n_items)
    log_minutes -= 0.25 * (has["Animation"] | has["Children"]) + 0.15 * has["Documentary"]
    log_minutes += 0.15 * (has["War"] | has["Western"] | has["IMAX"])
    duration = np.clip(np.round(np.exp(log_minutes)), 10, 240).astype(np.int64)

    # release: back catalogue spread over past decades, new titles during the year
    new = np.zeros(n_items, dtype=bool)  # rounded down: tiny catalogues are all available
    new[rng.choice(n_items, size=int(_NEW_SHARE * n_items), replace=False)] = True
    start_year = pd.Timestamp(start_s, unit="s").year
    year = np.maximum(start_year - 1 - rng.exponential(12, n_items).astype(np.int64), 1920)
    jan1_s = (year - 1970).astype("datetime64[Y]").astype("datetime64[s]").astype(np.int64)
    catalogue_s = np.minimum(jan1_s + rng.integers(0, 365, n_items) * _DAY, start_s - _DAY)
    release_s = np.where(new, start_s + rng.integers(0, days, n_items) * _DAY, catalogue_s)
    release = pd.to_datetime(release_s, unit="s", utc=True)

    # taste loadings: random genre directions per factor plus item-specific noise
    axes = rng.standard_normal((n_factors, len(GENRES)))
    match = genre @ axes.T / n_genres[:, None]
    match = (match - match.mean(axis=0)) / (match.std(axis=0) + 1e-12)
    loading = _GENRE_LOADING * match + _ITEM_NOISE * rng.standard_normal((n_items, n_factors))
    log_pop = _POP_SIGMA * rng.standard_normal(n_items) + 0.4 * quality

    avg_rating = np.round(np.clip(3.5 + 0.5 * quality, 1.0, 5.0), 2)
    moods = np.stack([np.any([has[g] for g in gs], axis=0) for gs in _MOODS.values()], axis=1)
    mood = dict(zip(_MOODS, moods.T, strict=True))
    flags = {
        "acclaimed": avg_rating >= 4.0,
        "classic": ~new & (release.year < 1980),
        "epic": duration >= 150,
        "new release": new,
        "short": duration < 60,
        **mood,
    }
    adj = rng.integers(0, len(_ADJECTIVES), n_items)
    noun = rng.integers(0, len(_NOUNS), n_items)
    items = pd.DataFrame(
        {
            S.ITEM_ID: rows.astype(np.int64) + 1,
            S.TITLE: pd.Series(_ADJECTIVES[adj]) + " " + pd.Series(_NOUNS[noun]),
            S.YEAR: pd.array(release.year, dtype="Int64"),
            S.GENRES: _lists(genre, GENRES),
            S.TAGS: _lists(np.stack([flags[t] for t in _TAGS], axis=1), _TAGS),
            S.DURATION: duration,
            S.AVG_RATING: avg_rating,
            S.RELEASE_DATE: release,
        }
    )
    latent = {
        "genre": genre,
        "axes": axes,
        "loading": loading,
        "log_pop": log_pop,
        "quality": quality,
        "duration": duration,
        "release_s": release_s,
    }
    return items, latent


def _make_users(rng, n_users, n_factors, axes):
    age = rng.choice(len(_AGE_GROUPS), size=n_users, p=_AGE_P)
    country = rng.choice(len(_COUNTRIES), size=n_users, p=_COUNTRY_P)
    age_shift = _AGE_SHIFT * rng.standard_normal((len(_AGE_GROUPS), n_factors))
    theta = _softmax(_USER_SIGMA * rng.standard_normal((n_users, n_factors)) + age_shift[age])
    top3 = np.argsort(-(theta @ axes), axis=1)[:, :3]  # the user's genres, favourite first
    users = pd.DataFrame(
        {
            S.USER_ID: np.arange(1, n_users + 1, dtype=np.int64),
            S.AGE_GROUP: np.asarray(_AGE_GROUPS)[age],
            S.COUNTRY: np.asarray(_COUNTRIES)[country],
            S.PREFERRED_GENRES: pd.Series(np.asarray(GENRES, dtype=object)[top3].tolist()),
        }
    )
    return users, theta


def _allocate(rng, n_interactions, weights, cap):
    """Multinomial counts per user, each capped at ``cap`` (excess re-dealt to the rest)."""
    counts = rng.multinomial(n_interactions, weights / weights.sum())
    for _ in range(100):  # water filling; converges in a few passes
        excess = int(np.maximum(counts - cap, 0).sum())
        if excess == 0:
            break
        counts = np.minimum(counts, cap)
        room = counts < cap
        counts[room] += rng.multinomial(excess, weights[room] / weights[room].sum())
    return counts


class _Sampler:
    """Draws (time, item) for events of given users; item tables are built per week."""

    def __init__(
        self, latent, theta, start_s, days, drift_s, drift_genre, drift_strength, t_min=None
    ):
        self.n_factors = theta.shape[1]
        self.theta_cdf = _flat_cdf(theta)
        self.base = np.exp(latent["log_pop"][None, :] + latent["loading"].T)  # (K, n_items)
        self.release_s = latent["release_s"]
        self.start_s = start_s
        # weekly tables; the drift moment, unless on a week boundary, splits its week in two
        edges = np.arange(start_s, start_s + days * _DAY, 7 * _DAY)
        self.split = drift_s is not None and drift_s not in edges
        self.edges = np.union1d(edges, [drift_s]) if self.split else edges
        self.drift_s = drift_s
        self.drift_boost = np.exp(drift_strength * latent["genre"][:, GENRES.index(drift_genre)])
        weekday = (np.arange(days) + pd.Timestamp(start_s, unit="s").day_of_week) % 7
        self.day_lut = np.repeat(np.arange(days), _DAY_WEIGHT[weekday])
        if t_min is not None:  # events only from t_min on (the caller rejects t < t_min)
            self.day_lut = self.day_lut[self.day_lut >= (t_min - start_s) // _DAY]
        self.hour_lut = np.repeat(np.arange(24), _HOUR_WEIGHT)
        self._cache: dict[int, np.ndarray] = {}
        self._cache_ok = self.base.nbytes * len(self.edges) <= _CACHE_BYTES

    def _item_cdf(self, week: int) -> np.ndarray:
        """Flat cumulative P(item | taste, week) for every taste (cached if it fits)."""
        if week in self._cache:
            return self._cache[week]
        t_s = self.edges[week]
        age_days = (t_s - self.release_s) / _DAY
        fresh = 1.0 + _RECENCY_BOOST * np.exp(-np.maximum(age_days, 0.0) / _RECENCY_DAYS)
        time_w = np.where(age_days >= 0, fresh, 0.0)  # nothing before its release
        if self.drift_s is not None and t_s >= self.drift_s:
            time_w = time_w * self.drift_boost
        cdf = _flat_cdf(self.base * time_w)
        if self._cache_ok:
            self._cache[week] = cdf
        return cdf

    def draw(self, rng, user, uniform: bool = False):
        """Times (s) and items for events of ``user`` (``uniform``: items uniformly)."""
        n, n_items = len(user), len(self.release_s)
        day = self.day_lut[rng.integers(0, len(self.day_lut), n)]
        hour = self.hour_lut[rng.integers(0, len(self.hour_lut), n)]
        t_s = self.start_s + day * _DAY + hour * 3600 + rng.integers(0, 3600, n)
        if uniform:  # may be unreleased at t_s: the caller rejects those
            return t_s, rng.integers(0, n_items, n)
        taste = _sample_rows(rng, self.theta_cdf, self.n_factors, user, sort=False)
        week = (t_s - self.start_s) // (7 * _DAY)
        if self.split:
            week += t_s >= self.drift_s
        week = week.astype(np.int16 if len(self.edges) < 2**15 else np.int64)
        order = np.argsort(week, kind="stable")
        bounds = np.searchsorted(week[order], np.arange(len(self.edges) + 1))
        item = np.empty(n, dtype=np.int64)
        for w in np.flatnonzero(np.diff(bounds)):  # one (K, n_items) table per week
            idx = order[bounds[w] : bounds[w + 1]]
            item[idx] = _sample_rows(rng, self._item_cdf(int(w)), n_items, taste[idx])
        return t_s, item


def _in_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    pos = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
    return (sorted_keys[pos] == keys) if len(sorted_keys) else np.zeros(len(keys), bool)


def _unique_events(rng, sampler, target, n_items, exclude=None, t_min=None):
    """Events with unique (user, item) pairs, redrawing repeats until each user has ``target``.

    ``exclude`` holds sorted ``user * n_items + item`` keys that must not be drawn again
    (events kept from before ``t_min``); draws before ``t_min`` are rejected.

    After ``_MAX_ROUNDS`` rounds the few events still missing (users asking for nearly
    all the titles their tastes ever pick) come from uniform draws over released titles.
    """
    have = np.zeros_like(target)
    kept_u, kept_t, kept_i, seen = [], [], [], [] if exclude is None else [exclude]
    for r in range(2 * _MAX_ROUNDS):
        need = target - have
        if not need.any():
            break
        grow = min(0.05 * 2.0 ** (r % _MAX_ROUNDS), 64.0)  # oversample more each round
        user = np.repeat(np.arange(len(target)), need + np.ceil(need * grow).astype(np.int64))
        t_s, item = sampler.draw(rng, user, uniform=r >= _MAX_ROUNDS)
        key = user * n_items + item
        fresh = ~pd.Series(key).duplicated().to_numpy() & (sampler.release_s[item] <= t_s)
        if t_min is not None:
            fresh &= t_s >= t_min
        for old in seen:
            fresh &= ~_in_sorted(key, old)
        idx = np.flatnonzero(fresh)  # still grouped by user
        rank = np.arange(len(idx)) - np.searchsorted(user[idx], user[idx], side="left")
        idx = idx[rank < need[user[idx]]]
        kept_u.append(user[idx])
        kept_t.append(t_s[idx])
        kept_i.append(item[idx])
        seen.append(np.sort(key[idx]))
        have += np.bincount(user[idx], minlength=len(target))
    return np.concatenate(kept_u), np.concatenate(kept_t), np.concatenate(kept_i)


def _affinity(theta, loading, user, item):
    """``theta[user] . loading[item]`` per event, not yet standardised (chunked)."""
    theta32, load32 = theta.astype(np.float32), loading.astype(np.float32)
    out = np.empty(len(user), dtype=np.float64)
    for lo in range(0, len(user), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        out[sl] = np.einsum("ij,ij->i", theta32[user[sl]], load32[item[sl]])
    return out


def _outcomes(rng, affinity, quality, duration, avg_rating):
    """watch_pct, completed and rating (NaN when unrated) per event."""
    n = len(affinity)
    eta = 0.8 * affinity + 0.5 * quality - 1.2 * np.log(duration / 90.0) - 0.6
    p_finish = 1.0 / (1.0 + np.exp(-eta))
    finish = rng.random(n) < p_finish
    # inverse CDFs (cheaper than rng.beta): Beta(0.6 + 2 p, 1) of 90 % when abandoned,
    # 100 - 10 U^2 (piled up near 100) when finished
    partial = 90.0 * rng.random(n) ** (1.0 / (0.6 + 2.0 * p_finish))
    full = 100.0 - 10.0 * rng.random(n) ** 2
    watch_pct = np.clip(np.round(np.where(finish, full, partial), 1), 0.0, 100.0)
    completed = watch_pct >= 90.0

    p_rated = np.clip(_RATED_SHARE + 0.15 * (completed - completed.mean()), 0.0, 1.0)
    latent = avg_rating + 0.5 * affinity + 0.8 * (watch_pct / 100.0 - 0.85)
    stars = np.clip(np.round(2.0 * (latent + 0.5 * rng.standard_normal(n))) / 2.0, 1.0, 5.0)
    rating = np.where(rng.random(n) < p_rated, stars, np.nan)
    return watch_pct, completed, rating


def make_synthetic(
    n_users: int = 5000,
    n_items: int = 2000,
    n_interactions: int = 100_000,
    *,
    start: str | pd.Timestamp = "2024-01-01",
    days: int = 365,
    n_factors: int = 16,
    drift_date: str | pd.Timestamp | None = None,
    drift_genre: str = "Documentary",
    drift_strength: float = 1.5,
    random_state: int | np.random.Generator | None = 42,
) -> Dataset:
    """Generate a year of streaming-platform events with learnable structure.

    Parameters
    ----------
    n_users, n_items : int
        Size of the user base and of the catalogue (ids run from 1).
    n_interactions : int
        Number of (user, item) events; pairs are unique. At most a quarter of
        ``n_users * n_items`` (no user watches more than a quarter of the catalogue).
    start : str or Timestamp
        First day of the log (UTC when naive).
    days : int
        Length of the log in days.
    n_factors : int
        Number of latent taste factors (rank of the user-item structure).
    drift_date : str, Timestamp or None
        From this moment on, ``drift_genre`` titles get ``exp(drift_strength)`` times
        their popularity (a trend shift to detect in monitoring). ``None``: no drift.
        Every event before ``drift_date`` is identical to the world without drift (same
        seed), and each user has as many events from ``drift_date`` on as in that world;
        only those later events are redrawn (from a second random stream that depends on
        the seed alone). So ``drift_date=None`` with the same seed is the counterfactual
        world without the shift: identical up to the drift.
    drift_genre : str
        One of :data:`GENRES`.
    drift_strength : float
        Log multiplier of the drift boost (0 = no change, negative = the genre drops).
    random_state : int, Generator or None
        Seed; the same seed gives identical frames.

    Returns
    -------
    Dataset
        ``name="synthetic"``; ``interactions`` (user_id, item_id, rating, timestamp,
        watch_pct, completed) sorted by time, ``items`` and ``users``.

    Examples
    --------
    >>> ds = make_synthetic(n_users=200, n_items=100, n_interactions=2000, random_state=0)
    >>> len(ds.interactions), ds.interactions["user_id"].dtype
    (2000, dtype('int64'))
    >>> bool(ds.interactions["completed"].eq(ds.interactions["watch_pct"] >= 90).all())
    True
    """
    n_users = _check_count("n_users", n_users)
    n_items = _check_count("n_items", n_items)
    n_interactions = _check_count("n_interactions", n_interactions)
    days = _check_count("days", days)
    n_factors = _check_count("n_factors", n_factors)
    cap = max(1, int(_USER_CAP * n_items))
    if n_interactions > cap * n_users:
        raise ValueError(
            f"n_interactions must be <= {cap * n_users} (each of {n_users} users watches at "
            f"most a quarter of {n_items} items, {cap}); got {n_interactions}"
        )
    if drift_genre not in GENRES:
        raise ValueError(f"drift_genre must be one of {GENRES}; got {drift_genre!r}")
    if isinstance(drift_strength, bool) or not isinstance(drift_strength, numbers.Real):
        raise TypeError(f"drift_strength must be a number; got {type(drift_strength).__name__}")
    if not np.isfinite(drift_strength):
        raise ValueError(f"drift_strength must be a finite number; got {drift_strength}")
    start_s = _seconds(_to_utc("start", start).normalize())
    drift_s = None
    if drift_date is not None:
        drift_s = _seconds(_to_utc("drift_date", drift_date))
        if not start_s <= drift_s < start_s + days * _DAY:
            raise ValueError(
                f"drift_date must fall within the {days} days from {start}; got {drift_date}"
            )

    rng = np.random.default_rng(random_state)
    items, latent = _make_items(rng, n_items, n_factors, start_s, days)
    users, theta = _make_users(rng, n_users, n_factors, latent["axes"])
    activity = rng.lognormal(0.0, _ACTIVITY_SIGMA, n_users)
    target = _allocate(rng, n_interactions, activity, cap)
    sampler = _Sampler(latent, theta, start_s, days, None, drift_genre, 0.0)
    user, t_s, item = _unique_events(rng, sampler, target, n_items)
    raw = _affinity(theta, latent["loading"], user, item)
    mean, sd = raw.mean(), raw.std()  # standardised over the world's events

    def outcomes(rng, user, item):
        affinity = (_affinity(theta, latent["loading"], user, item) - mean) / (sd + 1e-12)
        avg_rating = items[S.AVG_RATING].to_numpy()[item]
        return _outcomes(
            rng, affinity, latent["quality"][item], latent["duration"][item], avg_rating
        )

    watch_pct, completed, rating = outcomes(rng, user, item)
    if drift_s is not None and (t_s >= drift_s).any():  # redraw the later events (2nd stream)
        rng_after = np.random.default_rng(rng.integers(2**63))
        before = t_s < drift_s
        kept = (user[before], t_s[before], item[before])
        after = _Sampler(latent, theta, start_s, days, drift_s, drift_genre,
                         float(drift_strength), t_min=drift_s)  # fmt: skip
        target_after = np.bincount(user[~before], minlength=n_users)
        exclude = np.sort(kept[0] * n_items + kept[2])
        new = _unique_events(rng_after, after, target_after, n_items, exclude, t_min=drift_s)
        new_outcomes = outcomes(rng_after, new[0], new[2])
        user, t_s, item = (np.concatenate([a, b]) for a, b in zip(kept, new, strict=True))
        watch_pct, completed, rating = (
            np.concatenate([a[before], b])
            for a, b in zip((watch_pct, completed, rating), new_outcomes, strict=True)
        )
    order = np.argsort((t_s - start_s) * n_users + user)  # by time, then user
    interactions = pd.DataFrame(
        {
            S.USER_ID: user[order].astype(np.int64) + 1,
            S.ITEM_ID: item[order].astype(np.int64) + 1,
            S.RATING: rating[order],
            S.TIMESTAMP: pd.to_datetime(t_s[order], unit="s", utc=True),
            S.WATCH_PCT: watch_pct[order],
            S.COMPLETED: completed[order],
        }
    )
    return Dataset("synthetic", interactions, items, users=users)
