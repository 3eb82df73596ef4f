"""Hostile and careless artifacts: every one refused at load with an ArtifactError naming the
file and the field, never a raw exception, never a request-time failure, never a wrong answer."""

from __future__ import annotations

import copy
import json
import os
import shutil
import zipfile

import numpy as np
import pytest

from course_utils.serving import (
    ArtifactError,
    ArtifactIntegrityError,
    RecommendationService,
    load_artifacts,
    save_artifacts,
)
from course_utils.serving.artifacts import file_sha256, manifest_digest
from tests.test_artifacts import saved  # noqa: F401 (the module-scoped fixture)


@pytest.fixture
def copy_of(saved, tmp_path):  # noqa: F811
    target = tmp_path / "copy"
    shutil.copytree(saved[3], target)
    return target


def _manifest(directory):
    return json.loads((directory / "manifest.json").read_text())


def _resign(directory, manifest):
    """Write ``manifest`` with a recomputed digest (what a careless tool or an attacker does)."""
    manifest = {**manifest, "manifest_sha256": manifest_digest(manifest)}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _refused(directory, *fragments):
    with pytest.raises(ArtifactError) as info:
        load_artifacts(directory)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_an_unsigned_manifest_edit_is_caught_by_the_digest(copy_of):
    manifest = _manifest(copy_of)
    manifest["config"]["n_candidates"] = 2  # would silently change every list
    (copy_of / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactIntegrityError, match="manifest.json was modified"):
        load_artifacts(copy_of)


def _set(path, value):
    def edit(m):
        node = m
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _drop_retriever(m):
    del m["config"]["retrievers"]["pop"]
    del m["files"]["retriever.pop.npz"]


def _swap_features(m):
    names = m["config"]["ranker_features"]
    names[0], names[1] = names[1], names[0]


@pytest.mark.parametrize(
    "edit, fragments",
    [
        (_set(["config", "n_candidates"], 0), ["config.n_candidates", "int >= 1"]),
        (_set(["config", "n_candidates"], -5), ["config.n_candidates"]),
        (_set(["config", "n_candidates"], 2.5), ["config.n_candidates"]),
        (_set(["config", "n_candidates"], True), ["config.n_candidates"]),
        (_set(["config", "n_candidates"], "30"), ["config.n_candidates"]),
        (_set(["config", "ranking"], "magic"), ["config.ranking", "magic"]),
        (_set(["config", "ranking"], "rrf"), ["config.ranker_features"]),
        (_set(["config", "ranking"], None), ["config.ranking"]),
        (_set(["config", "retrievers", "als"], "magic"), ["config.retrievers.als", "kind"]),
        (_set(["config", "retrievers"], {}), ["config.retrievers"]),
        (_set(["config", "retrievers"], ["als"]), ["config.retrievers"]),
        (_set(["config", "ranker_features"], ["made_up"]), ["config.ranker_features", "made_up"]),
        (_set(["config", "ranker_features"], "ease_rank"), ["config.ranker_features"]),
        (_set(["config", "extra"], 1), ["config", "unknown fields"]),
        (_set(["config"], []), ["config"]),
        (_swap_features, ["config.ranker_features", "differ from the ranker"]),
        (_drop_retriever, ["config.ranker_features", "pop_rank"]),
        (_set(["metrics", "ndcg@10"], "high"), ["metrics.ndcg@10"]),
        (_set(["n_training_interactions"], -1), ["n_training_interactions"]),
        (_set(["n_training_interactions"], "9"), ["n_training_interactions"]),
        (_set(["model_version"], ""), ["model_version"]),
        (_set(["model_version"], 7), ["model_version"]),
        (_set(["created_at"], "yesterday-ish"), ["created_at"]),
        (_set(["training_data_sha256"], "abc"), ["training_data_sha256"]),
        (_set(["surprise"], {}), ["surprise"]),
        (_set(["files"], []), ["files"]),
        (_set(["files", "ranker.npz", "sha256"], 5), ["files.ranker.npz.sha256"]),
        (_set(["files", "ranker.npz", "arrays"], "value"), ["files.ranker.npz.arrays"]),
        (_set(["files", "ranker.npz", "extra"], 1), ["files.ranker.npz"]),
        (_set(["files", "bonus.npz"], {"sha256": "0" * 64, "arrays": []}), ["files", "bonus.npz"]),
    ],
)
def test_a_resigned_malformed_manifest_is_refused_naming_the_field(copy_of, edit, fragments):
    manifest = _manifest(copy_of)
    edit(manifest)
    _resign(copy_of, manifest)
    _refused(copy_of, *fragments)


@pytest.mark.parametrize("name", ["../outside.npz", "/tmp/outside.npz", "sub/ranker.npz", ".npz"])
def test_paths_in_the_manifest_stay_inside_the_directory(copy_of, name):
    outside = copy_of.parent / "outside.npz"
    shutil.copy(copy_of / "ranker.npz", outside)
    manifest = _manifest(copy_of)
    manifest["files"][name] = manifest["files"].pop("ranker.npz")
    _resign(copy_of, manifest)
    _refused(copy_of, "files", name)


def test_a_symlink_out_of_the_directory_is_refused(copy_of):
    outside = copy_of.parent / "elsewhere.npz"
    shutil.move(copy_of / "ranker.npz", outside)
    os.symlink(outside, copy_of / "ranker.npz")
    _refused(copy_of, "ranker.npz", "outside")


@pytest.mark.parametrize(
    "text", ["[]", "null", '"manifest"', "[" * 100_000 + "]" * 100_000, '{"a": NaN}', "\xff"]
)
def test_a_manifest_that_is_not_an_object_is_refused(copy_of, text):
    (copy_of / "manifest.json").write_bytes(text.encode("latin-1"))
    _refused(copy_of, "manifest.json")


def _rewrite(directory, name, data: bytes):
    (directory / name).write_bytes(data)
    manifest = _manifest(directory)
    manifest["files"][name]["sha256"] = file_sha256(directory / name)
    _resign(directory, manifest)


def _arrays(directory, name):
    with np.load(directory / name) as npz:
        return {k: npz[k] for k in npz.files}


def _savez(directory, name, arrays):
    np.savez(directory / name, **arrays)
    _rewrite(directory, name, (directory / name).read_bytes())


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b"",  # empty
        lambda b: b"PK\x03\x04" + b"\x00" * 200,  # a zip header and nothing else
        lambda b: bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)),
        lambda b: b[:-30] + b"\x00" * 30,  # a broken central directory
    ],
)
def test_a_broken_npz_with_a_recomputed_digest_is_refused(copy_of, damage):
    name = "retriever.als.npz"
    _rewrite(copy_of, name, damage((copy_of / name).read_bytes()))
    _refused(copy_of, name)


def _npy(header: dict, data: bytes) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


@pytest.mark.parametrize("shape", [(10**12,), (2**40, 2**40), (3,)])
def test_a_member_whose_header_lies_about_its_size_is_refused_before_allocating(copy_of, shape):
    name = "retriever.pop.npz"
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        header = {"descr": "<f8", "fortran_order": False, "shape": shape}
        archive.writestr("scores.npy", _npy(header, np.zeros(5).tobytes()))
    _rewrite(copy_of, name, buffer.getvalue())
    _refused(copy_of, name, "header declares")


def test_a_compressed_member_is_refused(copy_of):
    name = "retriever.pop.npz"
    np.savez_compressed(copy_of / name, **_arrays(copy_of, name))
    _rewrite(copy_of, name, (copy_of / name).read_bytes())
    _refused(copy_of, name, "compressed")


def _tree_bad(a):
    a["left"] = a["left"].copy()
    a["left"][0] += 1


def _nan_factors(a):
    a["item_factors"] = a["item_factors"].copy()
    a["item_factors"][0, 0] = np.nan


@pytest.mark.parametrize(
    "name, change, fragments",
    [
        ("ranker.npz", _tree_bad, ["ranker", "depth first"]),
        ("ranker.npz", lambda a: a.update(n_features=np.array([3])), ["ranker"]),
        ("ranker.npz", lambda a: a.update(n_features=np.array([], dtype=np.int64)), ["ranker"]),
        ("ranker.npz", lambda a: a.update(feature=a["feature"].astype(str)), ["ranker"]),
        ("ranker.npz", lambda a: a.update(feature_names=np.arange(3)), ["ranker"]),
        ("retriever.als.npz", _nan_factors, ["retriever.als", "NaN"]),
        ("retriever.als.npz", lambda a: a.update(temperature=np.array([0.0])), ["temperature"]),
        (
            "retriever.als.npz",
            lambda a: a.update(user_factors=a["user_factors"][:-1]),
            ["user_factors"],
        ),
        ("retriever.pop.npz", lambda a: a.update(scores=a["scores"].astype(str)), ["scores"]),
        ("catalogue.npz", lambda a: a.update(item_ids=a["item_ids"][::-1].copy()), ["item_ids"]),
        ("catalogue.npz", lambda a: a.update(titles=np.arange(len(a["titles"]))), ["titles"]),
        (
            "users.npz",
            lambda a: a.update(history_indices=a["history_indices"] + 10**6),
            ["history"],
        ),
        (
            "users.npz",
            lambda a: a.update(history_indptr=a["history_indptr"][::-1].copy()),
            ["history"],
        ),
        ("features.npz", lambda a: a.update(span=np.array([0])), ["features", "span"]),
        (
            "features.npz",
            lambda a: a.update(item_event_pos=a["item_event_pos"] + 10**6),
            ["item_event_pos"],
        ),
    ],
)
def test_bad_arrays_with_recomputed_digests_are_refused_at_load(copy_of, name, change, fragments):
    arrays = _arrays(copy_of, name)
    change(arrays)
    _savez(copy_of, name, arrays)
    message = _refused(copy_of, *fragments)
    assert name in message or "manifest.json" in message


def test_a_sound_artifact_still_serves(saved):  # noqa: F811
    artifacts = load_artifacts(saved[3])
    service = RecommendationService(artifacts)
    user = int(service.users.ids_[0])
    assert len(service.recommend(user, k=5)["items"]) == 5


# --------------------------------------------------------------------------- saving
def _save(pipeline, target, version, data, **kwargs):
    return save_artifacts(
        pipeline, target, model_version=version, training_interactions=data.interactions, **kwargs
    )


def test_overwrite_replaces_only_a_previous_artifact(saved, tmp_path):  # noqa: F811
    data, _, pipeline, _, _ = saved
    unrelated = tmp_path / "home"
    (unrelated / "notes").mkdir(parents=True)
    (unrelated / "thesis.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not an artifact directory"):
        _save(pipeline, unrelated, "v", data, overwrite=True)
    assert (unrelated / "thesis.txt").read_text() == "precious" and (unrelated / "notes").is_dir()
    target = tmp_path / "model"
    _save(pipeline, target, "v1", data)
    (target / "thesis.txt").write_text("precious")  # an artifact dir someone put a file into
    with pytest.raises(FileExistsError, match="not an artifact directory"):
        _save(pipeline, target, "v2", data, overwrite=True)
    assert (target / "thesis.txt").exists() and load_artifacts(target).model_version == "v1"
    (target / "thesis.txt").unlink()
    _save(pipeline, target, "v2", data, overwrite=True)
    assert load_artifacts(target).model_version == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "model"]  # no temp dirs left
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(FileExistsError):
        _save(pipeline, a_file, "v", data, overwrite=True)


def test_a_crash_while_saving_leaves_the_previous_artifact_whole(saved, tmp_path, monkeypatch):  # noqa: F811
    data, _, pipeline, _, _ = saved
    target = tmp_path / "model"
    _save(pipeline, target, "v1", data)
    calls = []

    def crash(path, **arrays):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(path, **arrays)

    real = np.savez
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        _save(pipeline, target, "v2", data, overwrite=True)
    monkeypatch.undo()
    assert load_artifacts(target).model_version == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_pipeline_that_could_never_serve_is_refused_at_export_and_save(saved, tmp_path):  # noqa: F811
    data, _, pipeline, _, _ = saved
    bad = copy.deepcopy(pipeline)
    bad.config["n_candidates"] = 0
    with pytest.raises(ValueError, match="config.n_candidates"):
        save_artifacts(
            bad, tmp_path / "m", model_version="v", training_interactions=data.interactions
        )
    assert not (tmp_path / "m").exists()
    with pytest.raises(ValueError, match="config.n_candidates"):
        RecommendationService(bad)
