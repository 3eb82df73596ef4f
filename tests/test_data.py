"""The MovieLens loader, on small local fixtures (checksums patched to match them)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_utils.data import movielens as D
from course_utils.data import schema as S
from tests.conftest import requires_movielens

FIXTURE = {
    "README.txt": "tiny MovieLens-shaped fixture\n",
    "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n"
    "2,1,5.0,1445714835\n2,3,2.0,1445714000\n",
    "movies.csv": "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n"
    '2,"American President, The (1995)",Comedy|Drama|Romance\n'
    "3,Some Untitled Film,(no genres listed)\n",
    "tags.csv": "userId,movieId,tag,timestamp\n1,1,Pixar,1\n2,1,pixar,2\n2,1,fun,3\n",
    "links.csv": "movieId,imdbId,tmdbId\n1,0114709,862\n2,0112346,9087\n3,0000001,\n",
}


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def fixture_data(tmp_path, monkeypatch):
    """A folder and a zip of the fixture; the loader's checksums patched to match."""
    src = tmp_path / "src" / D.MOVIELENS_NAME
    src.mkdir(parents=True)
    for name, text in FIXTURE.items():
        (src / name).write_text(text)
    zip_path = tmp_path / "zips" / f"{D.MOVIELENS_NAME}.zip"
    zip_path.parent.mkdir()
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name, text in FIXTURE.items():
            zf.writestr(f"{D.MOVIELENS_NAME}/{name}", text)
    monkeypatch.setattr(D, "MOVIELENS_FILES", {n: _sha(t.encode()) for n, t in FIXTURE.items()})
    monkeypatch.setattr(D, "MOVIELENS_ZIP_SHA256", _sha(zip_path.read_bytes()))
    monkeypatch.setattr(D, "MOVIELENS_URL", (tmp_path / "nowhere.zip").as_uri())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    D._CACHE.clear()
    yield {"folder": src.parent, "zip_dir": zip_path.parent, "zip": zip_path, "tmp": tmp_path}
    D._CACHE.clear()


def test_load_from_folder_is_tidy(fixture_data):
    ds = D.load_movielens(fixture_data["folder"], download=False)
    inter = ds.interactions
    assert list(inter.columns) == [S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP]
    assert inter[S.USER_ID].dtype == np.int64 and inter[S.RATING].dtype == np.float64
    assert str(inter[S.TIMESTAMP].dt.tz) == "UTC"
    assert inter[S.TIMESTAMP].iloc[0] == pd.Timestamp(964982703, unit="s", tz="UTC")
    items = ds.items.set_index(S.ITEM_ID)
    assert items.loc[1, S.TITLE] == "Toy Story" and items.loc[1, S.YEAR] == 1995
    assert items.loc[2, S.TITLE] == "American President, The"
    assert pd.isna(items.loc[3, S.YEAR]) and items.loc[3, S.TITLE] == "Some Untitled Film"
    assert str(ds.items[S.YEAR].dtype) == "Int64"
    assert items.loc[1, S.GENRES] == ["Adventure", "Animation", "Children"]
    assert items.loc[3, S.GENRES] == []
    assert items.loc[1, S.TAGS] == ["fun", "pixar"]  # lower-cased, de-duplicated, sorted
    assert items.loc[2, S.TAGS] == []
    assert ds.links[S.IMDB_ID].iloc[0] == "0114709"  # leading zeros kept
    assert pd.isna(ds.links[S.TMDB_ID].iloc[2])


def test_load_from_zip_extracts_verified_copy(fixture_data):
    ds = D.load_movielens(fixture_data["zip_dir"], download=False)
    assert len(ds.interactions) == 4
    assert (fixture_data["zip_dir"] / D.MOVIELENS_NAME / "ratings.csv").is_file()


def test_env_var_is_used(fixture_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(fixture_data["folder"]))
    assert len(D.load_movielens(download=False).items) == 3


def test_argument_wins_over_env(fixture_data, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "empty"))
    assert len(D.load_movielens(fixture_data["folder"], download=False).items) == 3


def test_checksum_mismatch_in_folder(fixture_data):
    (fixture_data["folder"] / D.MOVIELENS_NAME / "ratings.csv").write_text("userId\n1\n")
    with pytest.raises(D.ChecksumError, match="ratings.csv"):
        D.load_movielens(fixture_data["folder"], download=False)


def test_checksum_mismatch_in_zip(fixture_data):
    fixture_data["zip"].write_bytes(fixture_data["zip"].read_bytes() + b"tampered")
    with pytest.raises(D.ChecksumError, match="not the official archive"):
        D.load_movielens(fixture_data["zip_dir"], download=False)


def test_download_verifies_and_caches(fixture_data, monkeypatch):
    monkeypatch.setattr(D, "MOVIELENS_URL", fixture_data["zip"].as_uri())
    ds = D.load_movielens()
    cache = fixture_data["tmp"] / "cache" / "course_utils"
    assert (cache / f"{D.MOVIELENS_NAME}.zip").is_file()
    assert (cache / D.MOVIELENS_NAME / "movies.csv").is_file()
    assert len(ds.interactions) == 4
    assert not list(cache.glob(".download-*")) and not list(cache.glob(".extract-*"))


def test_bad_download_is_never_kept(fixture_data, monkeypatch, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    monkeypatch.setattr(D, "MOVIELENS_URL", bad.as_uri())
    with pytest.raises(D.ChecksumError):
        D.load_movielens()
    cache = fixture_data["tmp"] / "cache" / "course_utils"
    assert not any(cache.iterdir())


def test_offline_error_names_url_directory_and_synthetic(fixture_data, tmp_path):
    with pytest.raises(D.DataNotFoundError) as err:
        D.load_movielens(tmp_path / "empty")
    msg = str(err.value)
    assert fixture_data["tmp"].joinpath("nowhere.zip").as_uri() in msg
    assert "COURSE_DATA_DIR" in msg and "load_dataset('synthetic')" in msg
    assert str(tmp_path / "empty") in msg


def test_no_download_flag(fixture_data, tmp_path):
    with pytest.raises(D.DataNotFoundError, match="download=False"):
        D.load_movielens(tmp_path / "empty", download=False)


def test_extraction_ignores_unexpected_members(fixture_data, tmp_path):
    evil_zip = tmp_path / "evil" / f"{D.MOVIELENS_NAME}.zip"
    evil_zip.parent.mkdir()
    with zipfile.ZipFile(evil_zip, "w") as zf:
        for name, text in FIXTURE.items():
            zf.writestr(f"{D.MOVIELENS_NAME}/{name}", text)
        zf.writestr("../escaped.txt", "gotcha")
        zf.writestr("/abs_escaped.txt", "gotcha")
        zf.writestr(f"{D.MOVIELENS_NAME}/../../escaped2.txt", "gotcha")
    out = D._safe_extract(evil_zip, evil_zip.parent)
    assert sorted(p.name for p in out.iterdir()) == sorted(FIXTURE)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "escaped2.txt").exists()
    assert not Path("/abs_escaped.txt").exists()


def test_load_dataset_dispatch(fixture_data):
    assert D.load_dataset("movielens", data_dir=fixture_data["folder"]).name == "movielens"
    with pytest.raises(ValueError, match="'movielens' or 'synthetic'"):
        D.load_dataset("netflix")


def test_returned_frames_are_copies(fixture_data):
    a = D.load_movielens(fixture_data["folder"])
    a.interactions.loc[:, S.RATING] = 0.0
    b = D.load_movielens(fixture_data["folder"])
    assert b.interactions[S.RATING].max() == 5.0


@requires_movielens
def test_real_movielens_counts():
    ds = D.load_movielens(download=False)
    assert ds.interactions[S.USER_ID].nunique() == 610
    assert len(ds.items) == 9742 and len(ds.interactions) == 100_836
    assert ds.items[S.YEAR].isna().sum() < 20


# --------------------------------------------------------------------------- reliability
def _cache(fixture_data) -> Path:
    return fixture_data["tmp"] / "cache" / "course_utils"


def test_an_interrupted_download_is_wrapped_with_a_fix_hint(fixture_data, monkeypatch):
    import http.client

    class Truncated:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n=-1):
            raise http.client.IncompleteRead(b"PK\x03", 978_202)

    monkeypatch.setattr(D.urllib.request, "urlopen", lambda url, timeout: Truncated())
    with pytest.raises(D.DataNotFoundError) as err:
        D.load_movielens()
    assert "IncompleteRead" in str(err.value) and "retry" in str(err.value)
    assert not list(_cache(fixture_data).glob(".download-*"))


def test_a_captive_portal_page_names_the_url_and_both_digests(fixture_data, monkeypatch):
    page = fixture_data["tmp"] / "portal.html"
    page.write_text("<html>Please log in to the hotel Wi-Fi</html>")
    monkeypatch.setattr(D, "MOVIELENS_URL", page.as_uri())
    with pytest.raises(D.ChecksumError) as err:
        D.load_movielens()
    message = str(err.value)
    assert page.as_uri() in message and D.MOVIELENS_ZIP_SHA256 in message
    assert _sha(page.read_bytes()) in message and "captive portal" in message
    assert ".download-" not in message  # no name of a file that no longer exists
    assert not any(_cache(fixture_data).iterdir())


def test_a_bad_zip_in_the_cache_is_replaced(fixture_data, monkeypatch):
    cache = _cache(fixture_data)
    cache.mkdir(parents=True)
    (cache / f"{D.MOVIELENS_NAME}.zip").write_bytes(b"half a download")
    with pytest.raises(D.ChecksumError, match="delete .* and download"):
        D.load_movielens(download=False)  # without a download: a clear error with the fix
    monkeypatch.setattr(D, "MOVIELENS_URL", fixture_data["zip"].as_uri())
    assert len(D.load_movielens().interactions) == 4  # with one: replaced
    assert D._sha256(cache / f"{D.MOVIELENS_NAME}.zip") == D.MOVIELENS_ZIP_SHA256


def test_a_damaged_cache_folder_is_replaced_from_the_cached_zip(fixture_data, monkeypatch):
    monkeypatch.setattr(D, "MOVIELENS_URL", fixture_data["zip"].as_uri())
    D.load_movielens()
    D._CACHE.clear()
    (_cache(fixture_data) / D.MOVIELENS_NAME / "ratings.csv").write_text("userId\n")
    assert len(D.load_movielens(download=False).interactions) == 4


def test_a_bad_zip_in_your_directory_is_reported_with_a_fix_never_deleted(fixture_data):
    fixture_data["zip"].write_bytes(b"garbage")
    with pytest.raises(D.ChecksumError, match="download .* again"):
        D.load_movielens(fixture_data["zip_dir"], download=False)
    assert fixture_data["zip"].read_bytes() == b"garbage"


def test_a_read_only_directory_with_the_zip_is_extracted_once(fixture_data, monkeypatch):
    read_only = {fixture_data["zip_dir"]}
    monkeypatch.setattr(D, "_writable", lambda d: Path(d).is_dir() and Path(d) not in read_only)
    extractions = []
    real = D._safe_extract
    monkeypatch.setattr(D, "_safe_extract", lambda z, d: extractions.append(d) or real(z, d))
    for _ in range(3):
        D._CACHE.clear()
        assert len(D.load_movielens(fixture_data["zip_dir"], download=False).interactions) == 4
    assert extractions == [_cache(fixture_data)]  # once, into the cache; then reused
    assert not (fixture_data["zip_dir"] / D.MOVIELENS_NAME).exists()


def test_read_only_data_and_cache_give_a_clear_message(fixture_data, monkeypatch):
    monkeypatch.setattr(D, "_writable", lambda d: False)
    with pytest.raises(D.DataNotFoundError) as err:
        D.load_movielens(fixture_data["zip_dir"], download=False)
    message = str(err.value)
    assert "read-only" in message and "XDG_CACHE_HOME" in message and "COURSE_DATA_DIR" in message


def test_stale_temporary_files_are_cleaned(fixture_data, monkeypatch):
    import os
    import time

    cache = _cache(fixture_data)
    cache.mkdir(parents=True)
    old, fresh = cache / ".download-killed.zip", cache / ".download-running.zip"
    old_dir = cache / ".extract-killed"
    for path in (old, fresh):
        path.write_bytes(b"partial")
    old_dir.mkdir()
    stale = time.time() - 2 * D._STALE_AFTER_S
    os.utime(old, (stale, stale))
    os.utime(old_dir, (stale, stale))
    monkeypatch.setattr(D, "MOVIELENS_URL", fixture_data["zip"].as_uri())
    D.load_movielens()
    assert not old.exists() and not old_dir.exists()
    assert fresh.exists()  # maybe another process's download in progress


def test_members_beyond_their_official_size_are_never_written(fixture_data, monkeypatch):
    sizes = {name: len(text.encode()) for name, text in FIXTURE.items()}
    monkeypatch.setattr(D, "MOVIELENS_SIZES", {**sizes, "ratings.csv": sizes["ratings.csv"] - 1})
    with pytest.raises(D.ChecksumError, match="ratings.csv declares"):
        D.load_movielens(fixture_data["zip_dir"], download=False)
    assert not (fixture_data["zip_dir"] / D.MOVIELENS_NAME).exists()
    assert not list(fixture_data["zip_dir"].glob(".extract-*"))
    import io

    with pytest.raises(D.ChecksumError, match="larger than the official file"):
        D._copy_capped(io.BytesIO(b"x" * 11), io.BytesIO(), 10, "a member whose header lies")


def test_a_file_that_is_not_a_zip_is_a_checksum_error(fixture_data, monkeypatch):
    fixture_data["zip"].write_bytes(b"PK not really")
    monkeypatch.setattr(D, "MOVIELENS_ZIP_SHA256", _sha(b"PK not really"))
    with pytest.raises(D.ChecksumError, match="not a valid zip"):
        D.load_movielens(fixture_data["zip_dir"], download=False)


_CHILD = """
import json, os, sys
from course_utils.data import movielens as D
patch = json.loads(os.environ["PATCH"])
D.MOVIELENS_FILES, D.MOVIELENS_ZIP_SHA256 = patch["files"], patch["zip"]
D.MOVIELENS_URL = patch["url"]
print(len(D.load_movielens(patch["data_dir"]).interactions))
"""


@pytest.mark.parametrize("source", ["zip beside", "download"])
def test_six_processes_loading_for_the_first_time_all_succeed(fixture_data, source):
    import json
    import os
    import subprocess
    import sys

    patch = {
        "files": D.MOVIELENS_FILES,
        "zip": D.MOVIELENS_ZIP_SHA256,
        "url": fixture_data["zip"].as_uri(),
        "data_dir": str(fixture_data["zip_dir"]) if source == "zip beside" else None,
    }
    env = {
        **os.environ,
        "PATCH": json.dumps(patch),
        "XDG_CACHE_HOME": str(fixture_data["tmp"] / "cache"),
    }
    env.pop("COURSE_DATA_DIR", None)
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    processes = [
        subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]  # fmt: skip
    results = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, [err[-2000:] for _, err in results]
    assert [out.strip() for out, _ in results] == ["4"] * 6
    where = fixture_data["zip_dir"] if source == "zip beside" else _cache(fixture_data)
    D._verify_folder(where / D.MOVIELENS_NAME)
    assert not list(where.glob(".extract-*")) and not list(where.glob(".download-*"))
