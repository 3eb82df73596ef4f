"""Artifacts: a pickle-free round trip, a manifest that records provenance, clear refusals."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

import course_utils
from course_utils.data import schema as S
from course_utils.serving import (
    ArtifactError,
    ArtifactIntegrityError,
    ArtifactVersionError,
    IncompleteArtifactError,
    RecommendationService,
    export_pipeline,
    load_artifacts,
    save_artifacts,
    training_data_hash,
)
from course_utils.serving.artifacts import file_sha256, manifest_digest
from tests.test_serving import small_world


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    data, model = small_world()
    pipeline = export_pipeline(model, data.items)
    directory = tmp_path_factory.mktemp("artifacts") / "model"
    artifacts = save_artifacts(
        pipeline,
        directory,
        model_version="two-stage-test-1",
        training_interactions=data.interactions,
        metrics={"ndcg@10": 0.25},
    )
    return data, model, pipeline, directory, artifacts


@pytest.fixture
def copy_of(saved, tmp_path):
    """A fresh copy of the saved directory that a test may damage."""
    target = tmp_path / "copy"
    shutil.copytree(saved[3], target)
    return target


def _manifest(directory):
    return json.loads((directory / "manifest.json").read_text())


def _write_manifest(directory, manifest, *, resign=True):
    """Write a manifest; ``resign`` recomputes its digest, as someone bypassing it would."""
    if resign:
        manifest = {**manifest, "manifest_sha256": manifest_digest(manifest)}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_round_trip_gives_the_same_arrays_and_answers(saved):
    data, model, pipeline, directory, _ = saved
    loaded = load_artifacts(directory)
    assert loaded.model_version == "two-stage-test-1"
    assert loaded.pipeline.config == pipeline.config
    for name, arrays in pipeline.components.items():
        for key, value in arrays.items():
            np.testing.assert_array_equal(loaded.pipeline.components[name][key], value)
            assert loaded.pipeline.components[name][key].dtype == np.asarray(value).dtype
    fresh = RecommendationService(pipeline, model_version="two-stage-test-1")
    served = RecommendationService(loaded)
    for user in model.users_.ids_[:15].tolist() + [10**9]:
        assert served.recommend(user, k=10)["items"] == fresh.recommend(user, k=10)["items"]


def test_files_are_npz_and_json_only_and_load_without_pickle(saved):
    directory = saved[3]
    names = {p.name for p in directory.iterdir()}
    assert names == {"manifest.json"} | set(_manifest(directory)["files"])
    assert all(n.endswith(".npz") for n in names - {"manifest.json"})
    for path in directory.glob("*.npz"):
        with np.load(path, allow_pickle=False) as npz:
            assert all(npz[key].dtype.kind != "O" for key in npz.files)


def test_manifest_records_provenance(saved):
    data, _, _, directory, _ = saved
    manifest = _manifest(directory)
    assert manifest["model_version"] == "two-stage-test-1"
    assert manifest["package_version"] == course_utils.__version__
    assert manifest["training_data_sha256"] == training_data_hash(data.interactions)
    assert manifest["n_training_interactions"] == len(data.interactions)
    last = data.interactions[S.TIMESTAMP].max()
    assert pd.Timestamp(manifest["training_cutoff"]) == last
    assert manifest["metrics"] == {"ndcg@10": 0.25}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == file_sha256(directory / name)


def test_training_data_hash_ignores_order_and_sees_changes(saved):
    data = saved[0]
    df = data.interactions
    assert training_data_hash(df.sample(frac=1.0, random_state=0)) == training_data_hash(df)
    changed = df.copy()
    changed.loc[changed.index[0], S.TIMESTAMP] += pd.Timedelta(seconds=1)
    assert training_data_hash(changed) != training_data_hash(df)
    assert training_data_hash(df.iloc[1:]) != training_data_hash(df)
    with pytest.raises(ValueError, match="lacks columns"):
        training_data_hash(df.drop(columns=S.ITEM_ID))


def test_a_tampered_file_is_refused(copy_of):
    path = copy_of / "retriever.als.npz"
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["item_factors"][0, 0] += 1.0  # a plausible, silent edit
    np.savez(path, **arrays)
    with pytest.raises(ArtifactIntegrityError, match="retriever.als.npz was modified or corrupted"):
        load_artifacts(copy_of)


def test_a_missing_file_or_manifest_is_refused(copy_of):
    (copy_of / "ranker.npz").unlink()
    with pytest.raises(
        IncompleteArtifactError, match="ranker.npz is listed in the manifest but missing"
    ):
        load_artifacts(copy_of)
    (copy_of / "manifest.json").unlink()
    with pytest.raises(IncompleteArtifactError, match="no manifest.json"):
        load_artifacts(copy_of)


def test_a_missing_array_is_refused(copy_of):
    path = copy_of / "catalogue.npz"
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "titles"}
    np.savez(path, **arrays)
    manifest = _manifest(copy_of)
    manifest["files"]["catalogue.npz"]["sha256"] = file_sha256(path)  # checksum "fixed" too
    _write_manifest(copy_of, manifest)
    with pytest.raises(
        IncompleteArtifactError, match=r"catalogue.npz lacks the arrays \['titles'\]"
    ):
        load_artifacts(copy_of)
    manifest["files"]["catalogue.npz"]["arrays"].remove("titles")  # the manifest agrees
    _write_manifest(copy_of, manifest)
    with pytest.raises(IncompleteArtifactError, match="catalogue' lacks arrays"):
        load_artifacts(copy_of)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("package_version", "0.0.1", "written by course_utils 0.0.1"),
        ("format", "course_utils.serving/0", "artifact format"),
    ],
)
def test_a_version_mismatch_is_refused(copy_of, field, value, match):
    manifest = _manifest(copy_of)
    manifest[field] = value
    _write_manifest(copy_of, manifest)
    with pytest.raises(ArtifactVersionError, match=match):
        load_artifacts(copy_of)


def test_an_unexpected_model_version_is_refused(saved):
    with pytest.raises(ArtifactVersionError, match="expected model version 'v2'"):
        load_artifacts(saved[3], expected_model_version="v2")
    assert load_artifacts(saved[3], expected_model_version="two-stage-test-1")


def test_a_broken_manifest_is_refused(copy_of):
    (copy_of / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifacts(copy_of)
    _write_manifest(copy_of, {"format": "course_utils.serving/1"})
    with pytest.raises(IncompleteArtifactError, match="lacks the fields"):
        load_artifacts(copy_of)


class _Payload:
    """Unpickling this would create a file: the attack pickle enables."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_pickled_array_is_never_executed(copy_of, tmp_path):
    marker = tmp_path / "code_ran"
    path = copy_of / "catalogue.npz"
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    arrays["titles"] = evil
    np.savez(path, **arrays)  # numpy pickles object arrays into the archive
    manifest = _manifest(copy_of)
    manifest["files"]["catalogue.npz"]["sha256"] = file_sha256(path)
    _write_manifest(copy_of, manifest)
    pickle.dumps(evil)  # the payload is a valid pickle ...
    with pytest.raises(ArtifactError, match="without pickle"):
        load_artifacts(copy_of)
    assert not marker.exists()  # ... yet loading never ran it


def test_save_refuses_object_arrays_and_existing_directories(saved, tmp_path):
    data, _, pipeline, directory, _ = saved
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_artifacts(
            pipeline, directory, model_version="x", training_interactions=data.interactions
        )
    bad = export_pipeline(saved[1], data.items)
    bad.components["catalogue"]["titles"] = bad.components["catalogue"]["titles"].astype(object)
    with pytest.raises(TypeError, match="catalogue/titles: has dtype object"):
        save_artifacts(
            bad, tmp_path / "bad", model_version="x", training_interactions=data.interactions
        )
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ValueError, match="model_version"):
        save_artifacts(
            pipeline, tmp_path / "m", model_version="", training_interactions=data.interactions
        )
    again = save_artifacts(
        pipeline, tmp_path / "m", model_version="v1", training_interactions=data.interactions
    )
    replaced = save_artifacts(
        pipeline, tmp_path / "m", model_version="v2", training_interactions=data.interactions,
        overwrite=True,
    )  # fmt: skip
    assert (again.model_version, load_artifacts(tmp_path / "m").model_version) == ("v1", "v2")
    assert replaced.manifest["files"] == again.manifest["files"]  # same arrays, same bytes
