"""Loading the course datasets: MovieLens ml-latest-small and the synthetic platform.

``load_dataset("movielens" | "synthetic", ...)`` is the one entry point notebooks use.

MovieLens ml-latest-small is published by GroupLens (F. Maxwell Harper and Joseph A.
Konstan, 2015, *The MovieLens Datasets: History and Context*, ACM TiiS 5(4)). Its licence
allows research and education use only, non-commercial, and redistribution only under the
same terms, so it is never committed to this repository: the loader finds a local copy
or downloads and verifies the official archive.

Where :func:`load_movielens` looks, in order:

1. the ``data_dir`` argument;
2. the ``COURSE_DATA_DIR`` environment variable;
3. a per-user cache directory (``$XDG_CACHE_HOME/course_utils`` or ``~/.cache/course_utils``);
4. a download of the official archive into that cache (when ``download=True``).

A directory may hold the extracted ``ml-latest-small/`` folder or ``ml-latest-small.zip``.
Every file is verified by SHA-256 before it is used, and no archive member is extracted
beyond its official size. First loads from several processes at once are safe (see
:func:`locate_movielens`). The checksums guarantee the files are GroupLens' (integrity);
they come from this module, so they are only as trustworthy as the installed package.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.dataset import Dataset

__all__ = [
    "MOVIELENS_URL",
    "MOVIELENS_CITATION",
    "MOVIELENS_LICENCE",
    "locate_movielens",
    "DataNotFoundError",
    "ChecksumError",
    "load_movielens",
    "load_dataset",
    "default_cache_dir",
]

MOVIELENS_NAME = "ml-latest-small"
MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
MOVIELENS_ZIP_SIZE = 978_202
MOVIELENS_ZIP_SHA256 = "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"
MOVIELENS_FILES = {
    "README.txt": "63d22ac138e80fae37021797ed8e1b9424b5239dc576a137422adf783ae3f404",
    "links.csv": "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31",
    "movies.csv": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
    "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
    "tags.csv": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
}
MOVIELENS_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and "
    "Context. ACM Transactions on Interactive Intelligent Systems (TiiS) 5, 4: 19:1-19:19. "
    "https://doi.org/10.1145/2827872"
)
MOVIELENS_LICENCE = (
    "GroupLens usage licence: research and education use, non-commercial; cite the paper "
    "above; redistribution only under the same terms. "
    "https://files.grouplens.org/datasets/movielens/ml-latest-small-README.html"
)
_DOWNLOAD_TIMEOUT_S = 30


MOVIELENS_SIZES = {  # bytes of each official file: an extraction never writes more
    "README.txt": 8_342,
    "links.csv": 197_979,
    "movies.csv": 494_431,
    "ratings.csv": 2_483_723,
    "tags.csv": 118_660,
}
_STALE_AFTER_S = 15 * 60  # a temporary file this old belongs to a killed process


class DataNotFoundError(FileNotFoundError):
    """MovieLens was not found locally and could not be downloaded (or extracted)."""


class ChecksumError(ValueError):
    """A MovieLens file does not match its published SHA-256 (or size)."""


# --------------------------------------------------------------------------- locating
def default_cache_dir() -> Path:
    """Per-user cache directory: ``$XDG_CACHE_HOME/course_utils`` or ``~/.cache/course_utils``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "course_utils"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify_folder(folder: Path) -> None:
    for name, expected in MOVIELENS_FILES.items():
        path = folder / name
        if not path.is_file():
            raise DataNotFoundError(f"{path} is missing; expected the complete {MOVIELENS_NAME}/")
        got = _sha256(path)
        if got != expected:
            raise ChecksumError(
                f"{path} has SHA-256 {got}, expected {expected}: the file is corrupt or not "
                f"the official {MOVIELENS_NAME}; delete the folder {folder} and load again "
                f"(or download {MOVIELENS_URL} yourself)"
            )


def _verify_zip(path: Path) -> None:
    got = _sha256(path)
    if got != MOVIELENS_ZIP_SHA256:
        raise ChecksumError(
            f"{path} has SHA-256 {got}, expected {MOVIELENS_ZIP_SHA256} "
            f"({MOVIELENS_ZIP_SIZE:,} bytes): it is not the official archive (a truncated or "
            f"interrupted download?). Fix: delete {path} and download {MOVIELENS_URL} again"
        )


def _clean_stale(directory: Path) -> None:
    """Delete temporary downloads and extractions that a killed process left behind."""
    now = time.time()
    for pattern in (".download-*.zip", ".extract-*"):
        for path in directory.glob(pattern):
            try:
                if now - path.lstat().st_mtime < _STALE_AFTER_S:
                    continue  # maybe another process's work in progress
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                pass


def _copy_capped(src, dst, cap: int, what: str) -> None:
    """Copy at most ``cap`` bytes; a longer member is refused (never fills the disk)."""
    written = 0
    while block := src.read(1 << 20):
        written += len(block)
        if written > cap:
            raise ChecksumError(
                f"{what} is larger than the official file ({cap:,} bytes): not the official archive"
            )
        dst.write(block)


def _is_verified(folder: Path) -> bool:
    try:
        _verify_folder(folder)
    except (DataNotFoundError, ChecksumError, OSError):
        return False
    return True


def _safe_extract(zip_path: Path, dest: Path) -> Path:
    """Extract only the expected members of the archive into ``dest/ml-latest-small``.

    Members are looked up by exact name, so nothing outside the known file list (and no
    path with ``..`` or an absolute path) is ever written, and no member beyond its
    official size. The folder is written to a temporary sibling, verified, then renamed
    into place; when several processes extract at once, the first rename wins and the
    others use its (verified) folder.
    """
    target = dest / MOVIELENS_NAME
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        out = tmp / MOVIELENS_NAME
        out.mkdir()
        with zipfile.ZipFile(zip_path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            for fname in MOVIELENS_FILES:
                member = f"{MOVIELENS_NAME}/{fname}"
                if member not in infos:
                    raise ChecksumError(f"{zip_path} lacks {member}: not the official archive")
                cap = MOVIELENS_SIZES.get(fname, 0)
                if infos[member].file_size > cap:
                    raise ChecksumError(
                        f"{zip_path}: {member} declares {infos[member].file_size:,} bytes; the "
                        f"official file has {cap:,}: not the official archive"
                    )
                with zf.open(member) as src, open(out / fname, "wb") as dst:
                    _copy_capped(src, dst, cap, f"{zip_path}: {member}")
        _verify_folder(out)
        if target.exists() and not _is_verified(target):
            try:  # a broken copy (ours or a killed run's): move it aside atomically
                os.replace(target, tmp / "broken")
            except FileNotFoundError:
                pass  # another process moved it first
        try:
            os.replace(out, target)
        except OSError:
            if not _is_verified(target):  # not a concurrent winner's folder: a real error
                raise
    except zipfile.BadZipFile as err:
        raise ChecksumError(f"{zip_path} is not a valid zip archive ({err})") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _download(url: str, dest_zip: Path, timeout: float = _DOWNLOAD_TIMEOUT_S) -> None:
    """Stream ``url`` into a temporary file, verify it, then move it into place atomically.

    Raises
    ------
    DataNotFoundError
        The download failed (network, HTTP error, truncated transfer); the message says why.
    ChecksumError
        The server sent something else than the official archive (a captive portal's login
        page, a proxy's error page); the message names the URL and both digests.
    """
    dest_zip.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(dest_zip.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", suffix=".zip", dir=dest_zip.parent)
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                _copy_capped(resp, out, 2 * MOVIELENS_ZIP_SIZE, f"the download from {url}")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            if isinstance(err, ChecksumError):
                raise
            raise DataNotFoundError(
                f"downloading {url} failed: {type(err).__name__}: {err}. Fix: retry (a "
                "transient network error?), or download the file in a browser and put it in "
                "COURSE_DATA_DIR"
            ) from err
        got = _sha256(tmp)
        if got != MOVIELENS_ZIP_SHA256:
            raise ChecksumError(
                f"the download from {url} is not the official archive: {tmp.stat().st_size:,} "
                f"bytes with SHA-256 {got}, expected {MOVIELENS_ZIP_SIZE:,} bytes with SHA-256 "
                f"{MOVIELENS_ZIP_SHA256}. It was deleted. A captive portal (hotel, campus "
                "Wi-Fi) or a proxy may have answered instead: open the URL in a browser, then "
                "retry, or put the downloaded zip in COURSE_DATA_DIR"
            )
        os.replace(tmp, dest_zip)
    finally:
        tmp.unlink(missing_ok=True)


def _writable(directory: Path) -> bool:
    return directory.is_dir() and os.access(directory, os.W_OK | os.X_OK)


def _from_zip(zip_path: Path, *, cache: Path) -> Path:
    """A verified extracted folder for a verified zip: beside it, else in the cache."""
    directory = zip_path.parent
    if _writable(directory):
        _clean_stale(directory)
        return _safe_extract(zip_path, directory)
    cached = cache / MOVIELENS_NAME
    if _is_verified(cached):  # extracted once before from this read-only zip
        return cached
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if not _writable(cache):
            raise PermissionError(f"{cache} is not writable")
        _clean_stale(cache)
        return _safe_extract(zip_path, cache)
    except PermissionError as err:
        raise DataNotFoundError(
            f"{zip_path} is the official archive but cannot be extracted: {directory} is "
            f"read-only and so is the cache {cache} ({err}). Fix: set XDG_CACHE_HOME to a "
            f"writable directory, or extract the zip yourself (its {MOVIELENS_NAME}/ folder) "
            "into a directory and point COURSE_DATA_DIR to it"
        ) from err


def _find_in(directory: Path, *, cache: Path) -> Path | None:
    """Return a verified extracted folder from ``directory`` (extracting a zip if needed)."""
    folder = directory / MOVIELENS_NAME
    if directory.name == MOVIELENS_NAME and (directory / "ratings.csv").is_file():
        folder = directory
    zip_path = directory / f"{MOVIELENS_NAME}.zip"
    if folder.is_dir():
        if directory == cache and zip_path.is_file() and not _is_verified(folder):
            _verify_zip(zip_path)
            return _safe_extract(zip_path, cache)  # our cache: a damaged copy is replaced
        _verify_folder(folder)
        return folder
    if zip_path.is_file():
        _verify_zip(zip_path)
        return _from_zip(zip_path, cache=cache)
    return None


def locate_movielens(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Return the verified ``ml-latest-small`` folder, downloading it if allowed.

    Safe when several processes load for the first time at once (a classroom sharing one
    home directory, pytest-xdist): each extracts into its own temporary folder and renames
    it into place; the first rename wins and the others use that verified folder. A
    read-only directory holding only the zip is extracted once into the cache, then the
    verified cache is reused. A corrupt zip or folder in the cache is replaced (by a new
    download when allowed); one in your own directories is reported, never deleted.

    Raises
    ------
    DataNotFoundError
        No local copy and no download (or the download or the extraction failed).
    ChecksumError
        A local or downloaded file does not match its SHA-256; a bad download is deleted.
    """
    tried: list[str] = []
    candidates: list[Path] = []
    if data_dir is not None:
        candidates.append(Path(data_dir).expanduser())
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        candidates.append(Path(env).expanduser())
    cache = default_cache_dir()
    for directory in candidates:
        tried.append(str(directory))
        if directory.is_dir():
            found = _find_in(directory, cache=cache)
            if found is not None:
                return found
    tried.append(str(cache))
    zip_path = cache / f"{MOVIELENS_NAME}.zip"
    if cache.is_dir():
        try:
            found = _find_in(cache, cache=cache)
        except (ChecksumError, DataNotFoundError):
            if not download:
                raise
            found = None  # our cache is damaged: download a fresh copy below
        if found is not None:
            return found
    if download:
        try:
            _download(MOVIELENS_URL, zip_path)
        except DataNotFoundError as exc:
            raise DataNotFoundError(_not_found_message(tried, reason=str(exc))) from exc
        except PermissionError as exc:
            raise DataNotFoundError(
                _not_found_message(tried, reason=f"the cache is not writable: {exc}")
            ) from exc
        return _safe_extract(zip_path, cache)
    raise DataNotFoundError(_not_found_message(tried, reason="download=False"))


def _not_found_message(tried: list[str], reason: str) -> str:
    return (
        f"MovieLens {MOVIELENS_NAME} not found ({reason}).\n"
        f"  Looked in: {', '.join(tried)}\n"
        f"  Fix: download {MOVIELENS_URL}\n"
        f"       and put the zip (or its extracted {MOVIELENS_NAME}/ folder) in a directory,\n"
        f"       then pass data_dir=... or set COURSE_DATA_DIR to it "
        f"(or put it in {default_cache_dir()}).\n"
        f"  Offline? Use the synthetic data instead: load_dataset('synthetic')."
    )


# --------------------------------------------------------------------------- parsing
def _split_title(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split 'Toy Story (1995)' into a clean title and a nullable year, vectorised."""
    stripped = raw.str.strip()
    parts = stripped.str.extract(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:-\d{0,4})?\)\s*$")
    title = parts["title"].where(parts["title"].notna(), stripped)
    year = pd.to_numeric(parts["year"], errors="coerce").astype("Int64")
    return title, year


def _read_movielens(folder: Path) -> Dataset:
    ratings = pd.read_csv(
        folder / "ratings.csv",
        dtype={"userId": np.int64, "movieId": np.int64, "rating": np.float64},
    )
    interactions = pd.DataFrame(
        {
            S.USER_ID: ratings["userId"].to_numpy(),
            S.ITEM_ID: ratings["movieId"].to_numpy(),
            S.RATING: ratings["rating"].to_numpy(),
            S.TIMESTAMP: pd.to_datetime(ratings["timestamp"], unit="s", utc=True),
        }
    )

    movies = pd.read_csv(folder / "movies.csv", dtype={"movieId": np.int64})
    title, year = _split_title(movies["title"])
    genres = movies["genres"].where(movies["genres"] != "(no genres listed)", "")
    tags = pd.read_csv(folder / "tags.csv", dtype={"movieId": np.int64})
    tags["tag"] = tags["tag"].astype(str).str.strip().str.lower()
    tag_events = pd.DataFrame(
        {
            S.USER_ID: tags["userId"].to_numpy(dtype=np.int64),
            S.ITEM_ID: tags["movieId"].to_numpy(dtype=np.int64),
            "tag": tags["tag"].to_numpy(dtype=object),
            S.TIMESTAMP: pd.to_datetime(tags["timestamp"], unit="s", utc=True),
        }
    )
    # every tag ever applied (the catalogue as of the end of the data: it leaks the future;
    # models and features use course_utils.features.catalogue_as_of with tag_events)
    tag_lists = tags.drop_duplicates(["movieId", "tag"]).groupby("movieId")["tag"].agg(sorted)
    items = pd.DataFrame(
        {
            S.ITEM_ID: movies["movieId"].to_numpy(),
            S.TITLE: title.to_numpy(),
            S.YEAR: year.array,
            S.GENRES: genres.str.split("|").map(lambda g: [x for x in g if x]).to_numpy(),
        }
    )
    items[S.TAGS] = (
        items[S.ITEM_ID].map(tag_lists).map(lambda t: list(t) if isinstance(t, list) else [])
    )

    links_raw = pd.read_csv(folder / "links.csv", dtype={"movieId": np.int64, "imdbId": str})
    links = pd.DataFrame(
        {
            S.ITEM_ID: links_raw["movieId"].to_numpy(),
            S.IMDB_ID: links_raw["imdbId"].to_numpy(),
            S.TMDB_ID: pd.array(links_raw["tmdbId"], dtype="Int64"),
        }
    )
    return Dataset("movielens", interactions, items, users=None, links=links, tags=tag_events)


_CACHE: dict[Path, Dataset] = {}


def load_movielens(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    """Load MovieLens ml-latest-small as tidy, verified tables.

    Parameters
    ----------
    data_dir : path, optional
        A directory holding ``ml-latest-small/`` or ``ml-latest-small.zip`` (or the
        ``ml-latest-small`` folder itself). Falls back to ``COURSE_DATA_DIR``, then the
        per-user cache, then a download.
    download : bool, default True
        Whether to download the official archive when no local copy is found.

    Returns
    -------
    Dataset
        ``interactions``: user_id, item_id (int64), rating (float64), timestamp (UTC);
        ``items``: item_id, title (year removed), year (Int64, <NA> when absent),
        genres (list of str, empty for "(no genres listed)"), tags (sorted unique,
        lower-cased list of str: every tag ever applied, which leaks the future; see
        :func:`course_utils.features.catalogue_as_of`); ``links``: item_id, imdb_id (str),
        tmdb_id (Int64); ``tags``: one row per tag application, user_id, item_id, tag
        (lower-cased), timestamp (UTC).

    Examples
    --------
    >>> ds = load_movielens()  # doctest: +SKIP
    >>> ds.interactions.shape  # doctest: +SKIP
    (100836, 4)
    """
    folder = locate_movielens(data_dir, download=download).resolve()
    if folder not in _CACHE:
        _CACHE[folder] = _read_movielens(folder)
    ds = _CACHE[folder]
    # hand out copies so that a notebook mutating its frames never corrupts the cache
    return Dataset(
        ds.name,
        ds.interactions.copy(),
        ds.items.copy(),
        users=None,
        links=ds.links.copy() if ds.links is not None else None,
        tags=ds.tags.copy() if ds.tags is not None else None,
    )


def load_dataset(name: str = "movielens", **kwargs) -> Dataset:
    """The one entry point: ``load_dataset("movielens")`` or ``load_dataset("synthetic", ...)``.

    Keyword arguments go to :func:`load_movielens` or
    :func:`course_utils.data.synthetic.make_synthetic`.

    Examples
    --------
    >>> ds = load_dataset("synthetic", n_users=100, n_items=50, n_interactions=1000)
    >>> ds.name
    'synthetic'
    """
    if name == "movielens":
        return load_movielens(**kwargs)
    if name == "synthetic":
        from course_utils.data.synthetic import make_synthetic

        return make_synthetic(**kwargs)
    raise ValueError(f"name must be 'movielens' or 'synthetic'; got {name!r}")
