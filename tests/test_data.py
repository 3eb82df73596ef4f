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
