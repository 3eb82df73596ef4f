"""Column names shared by every loader, model and notebook.

One module of constants (as in Microsoft Recommenders) so that MovieLens and the
synthetic streaming data use the same names and types, and every model runs on either.
"""

# interactions
USER_ID = "user_id"
ITEM_ID = "item_id"
RATING = "rating"  # float, 0.5-5.0 (MovieLens) or 1-5 (synthetic); NaN when not rated
TIMESTAMP = "timestamp"  # timezone-aware (UTC) pandas datetime
WEIGHT = "weight"  # optional confidence / sample weight
WATCH_PCT = "watch_pct"  # synthetic only: share of the title watched, 0-100
COMPLETED = "completed"  # synthetic only: watch_pct >= 90

# items
TITLE = "title"
YEAR = "year"  # nullable Int64
GENRES = "genres"  # list[str]
TAGS = "tags"  # list[str]
DURATION = "duration"  # synthetic only: minutes
AVG_RATING = "avg_rating"  # synthetic only: the title's latent quality on the 1-5 scale
RELEASE_DATE = "release_date"  # synthetic only: when the title became available

# users (synthetic only)
AGE_GROUP = "age_group"
COUNTRY = "country"
PREFERRED_GENRES = "preferred_genres"

# links (MovieLens)
IMDB_ID = "imdb_id"
TMDB_ID = "tmdb_id"

# model output
SCORE = "score"
RANK = "rank"

INTERACTION_COLUMNS = (USER_ID, ITEM_ID, RATING, TIMESTAMP)
