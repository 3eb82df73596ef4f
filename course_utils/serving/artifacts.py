"""Save a serving pipeline to a directory and load it back, without pickle.

Why not pickle (or joblib, which is pickle)? Unpickling **runs code**: a pickle names
functions to call while it loads, so whoever can write the model file can execute
anything on every server that loads it. A model registry, a shared bucket or a CI cache
is then an attack surface. Here every component is saved as an ``.npz`` archive of plain
numeric and string arrays, read back with ``np.load(..., allow_pickle=False)``, which
refuses object arrays (the only pickled content an ``.npz`` can hold).

The directory holds one ``<component>.npz`` per pipeline component and a JSON
``manifest.json`` recording

- ``model_version`` and ``package_version`` (``course_utils.__version__``);
- ``training_data_sha256``: a hash of the sorted training (user, item, timestamp)
  arrays (:func:`training_data_hash`), so a model can be traced to its data;
- ``training_cutoff`` (the last training timestamp), ``metrics`` and ``created_at``;
- ``config`` (the pipeline's JSON config) and, per file, its ``sha256`` and array names.

- ``manifest_sha256``: the sha256 of the manifest's canonical JSON without this field
  (:func:`manifest_digest`). It covers every other field, the files' digests included, so
  an edit to the manifest is caught like an edit to an array.

:func:`load_artifacts` checks everything that can be checked before a request arrives, and
refuses with an :class:`ArtifactError` naming the file and the field: a missing manifest,
file or array (:class:`IncompleteArtifactError`); a manifest or file whose digest differs
(:class:`ArtifactIntegrityError`); another format or package version
(:class:`ArtifactVersionError`); and anything malformed: a manifest field of the wrong type,
range or value, a file name outside the directory, an ``.npz`` that is not a plain
uncompressed archive of non-object arrays, arrays whose shapes, dtypes, sparse structures,
trees or ranker feature names disagree with the config (:mod:`course_utils.serving.checks`).

Integrity, not authenticity: the digests catch corruption, truncation and accidental or
careless edits, but whoever can write the directory can also recompute every digest. The
schema and content checks still hold then (a rewritten artifact cannot crash the loader or
reach a request malformed), but only a signature from a key the server trusts (a model
registry's) would prove *who* wrote it.

:func:`save_artifacts` writes into a temporary sibling directory and renames it into place;
it replaces only a directory that holds a previous artifact (a ``manifest.json`` and the
files it lists, nothing else), so it can never delete unrelated files.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import course_utils
from course_utils.data import schema as S
from course_utils.serving.checks import PipelineError, check_config
from course_utils.serving.manifest import (
    FORMAT,
    MANIFEST,
    ArtifactError,
    ArtifactIntegrityError,
    ArtifactVersionError,
    IncompleteArtifactError,
    check_files,
    check_manifest,
    file_sha256,
    manifest_digest,
    read_manifest,
    read_npz,
)
from course_utils.serving.pipeline import RETRIEVER_ARRAYS, ServingPipeline

__all__ = [
    "ArtifactError",
    "ArtifactIntegrityError",
    "ArtifactVersionError",
    "Artifacts",
    "FORMAT",
    "IncompleteArtifactError",
    "file_sha256",
    "load_artifacts",
    "manifest_digest",
    "save_artifacts",
    "training_data_hash",
]


@dataclass(frozen=True)
class Artifacts:
    """A loaded (or freshly saved) pipeline and its manifest."""

    pipeline: ServingPipeline
    manifest: dict

    @property
    def model_version(self) -> str:
        return self.manifest["model_version"]


def training_data_hash(interactions: pd.DataFrame) -> str:
    """sha256 of the training interactions' user, item and timestamp arrays, sorted.

    Sorting makes the hash independent of row order; timestamps enter as int64
    nanoseconds since the epoch (UTC), so the pandas version does not matter.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [2, 1], "item_id": [5, 6]})
    >>> training_data_hash(df) == training_data_hash(df.iloc[::-1])
    True
    """
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(f"interactions must be a DataFrame; got {type(interactions).__name__}")
    missing = sorted({S.USER_ID, S.ITEM_ID} - set(interactions.columns))
    if missing:
        raise ValueError(f"interactions lacks columns {missing}; has {list(interactions.columns)}")
    cols = [interactions[S.USER_ID].to_numpy(np.int64), interactions[S.ITEM_ID].to_numpy(np.int64)]
    if S.TIMESTAMP in interactions:
        ts = interactions[S.TIMESTAMP]
        if isinstance(ts.dtype, pd.DatetimeTZDtype):
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        cols.append(ts.to_numpy("datetime64[ns]").view(np.int64))
    order = np.lexsort(cols[::-1])  # by user, then item, then time
    digest = hashlib.sha256()
    for col in cols:
        digest.update(np.ascontiguousarray(col[order]).tobytes())
    return digest.hexdigest()


def _plain(arrays: dict[str, np.ndarray], component: str) -> dict[str, np.ndarray]:
    """Arrays np.load can read back with allow_pickle=False (no object dtype)."""
    out = {}
    for key, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype.kind == "O":
            raise TypeError(f"{component}/{key} has dtype object, which only pickle can store")
        out[key] = arr
    return out


def _is_our_artifact(target: Path) -> bool:
    """True when ``target`` holds only a manifest of ours and the files it lists."""
    try:
        manifest = json.loads((target / MANIFEST).read_text())
        listed = set(manifest["files"]) | {MANIFEST}
        ours = str(manifest["format"]).startswith("course_utils.serving/")
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return ours and {p.name for p in target.iterdir()} <= listed


def save_artifacts(
    pipeline: ServingPipeline,
    directory: str | os.PathLike,
    *,
    model_version: str,
    training_interactions: pd.DataFrame,
    metrics: dict | None = None,
    overwrite: bool = False,
) -> Artifacts:
    """Write ``pipeline`` to ``directory`` (npz files plus ``manifest.json``), atomically.

    The files are written to a temporary sibling directory that is renamed into place at
    the end, so a crash never leaves a half-written artifact under ``directory``. With
    ``overwrite``, the previous artifact is first renamed aside and deleted only once the
    new one is in place.

    Parameters
    ----------
    pipeline : ServingPipeline
    directory : path
        Target directory; must not exist unless ``overwrite``.
    model_version : str
        Version tag served in every response and logged with every request.
    training_interactions : DataFrame
        The data the model was fitted on (hashed, and its last timestamp recorded).
    metrics : dict, optional
        Offline metrics to record (finite numbers).
    overwrite : bool, default False
        Replace an existing directory, only if it holds a previous artifact (its
        ``manifest.json`` and the files listed there, nothing else).

    Returns
    -------
    Artifacts

    Examples
    --------
    >>> save_artifacts(pipeline, "models/v1", model_version="v1",
    ...                training_interactions=train)  # doctest: +SKIP
    """
    if not isinstance(pipeline, ServingPipeline):
        raise TypeError(f"pipeline must be a ServingPipeline; got {type(pipeline).__name__}")
    if not isinstance(model_version, str) or not model_version.strip():
        raise ValueError(f"model_version must be a non-empty str; got {model_version!r}")
    metrics = {str(k): float(v) for k, v in (metrics or {}).items()}
    if not all(math.isfinite(v) for v in metrics.values()):
        raise ValueError(f"metrics must be finite numbers; got {metrics}")
    pipeline.validate()
    target = Path(directory)
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        if not target.is_dir() or target.is_symlink() or not _is_our_artifact(target):
            raise FileExistsError(
                f"{target} is not an artifact directory (a {MANIFEST} of ours and the files it "
                "lists, nothing else); overwrite=True replaces only a previous artifact, so "
                "choose another directory or remove this one yourself"
            )
    cutoff = None
    if S.TIMESTAMP in training_interactions:
        cutoff = pd.Timestamp(training_interactions[S.TIMESTAMP].max()).isoformat()
    manifest = {
        "format": FORMAT,
        "model_version": model_version,
        "package_version": course_utils.__version__,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "training_data_sha256": training_data_hash(training_interactions),
        "training_cutoff": cutoff,
        "n_training_interactions": len(training_interactions),
        "metrics": metrics,
        "config": pipeline.config,
        "files": {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    old = None
    try:
        for component, arrays in pipeline.components.items():
            name = f"{component}.npz"
            np.savez(staging / name, **_plain(arrays, component))
            manifest["files"][name] = {
                "sha256": file_sha256(staging / name),
                "arrays": sorted(arrays),
            }
        manifest["manifest_sha256"] = manifest_digest(manifest)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / "artifact")  # aside, restored if the swap fails
        try:
            os.replace(staging, target)
        except OSError:
            if old is not None:
                os.replace(old / "artifact", target)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return Artifacts(pipeline, manifest)


def load_artifacts(
    directory: str | os.PathLike, *, expected_model_version: str | None = None
) -> Artifacts:
    """Load and verify an artifact directory written by :func:`save_artifacts`.

    Checks, in order: the manifest exists and parses; format and package versions match
    this code (and ``expected_model_version`` when given); the manifest matches its digest;
    every manifest field has the right type and value; file names stay inside the
    directory and are exactly the files the config needs; every file matches its sha256 and
    holds its arrays as plain uncompressed ``.npy`` data; the pipeline's config and arrays
    pass :meth:`ServingPipeline.validate` (shapes, dtypes, sparse structures, trees,
    ranker feature names, retrievers the config needs).

    Raises
    ------
    IncompleteArtifactError, ArtifactIntegrityError, ArtifactVersionError, ArtifactError
        All subclasses of :class:`ArtifactError` (a ``ValueError``); the message names
        the file and the field or array.

    Examples
    --------
    >>> artifacts = load_artifacts("models/v1")  # doctest: +SKIP
    >>> artifacts.model_version  # doctest: +SKIP
    'v1'
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    path = directory / MANIFEST
    if manifest["format"] != FORMAT:
        raise ArtifactVersionError(
            f"artifact format is {manifest['format']!r:.60}; this code reads {FORMAT!r}"
        )
    if manifest["package_version"] != course_utils.__version__:
        raise ArtifactVersionError(
            f"artifact was written by course_utils {manifest['package_version']!s:.40}; "
            f"this is {course_utils.__version__}: re-export the model with this version"
        )
    if expected_model_version is not None and manifest["model_version"] != expected_model_version:
        raise ArtifactVersionError(
            f"expected model version {expected_model_version!r}; the artifact holds {manifest['model_version']!r:.60}"
        )
    try:
        digest = manifest_digest(manifest)
    except (TypeError, ValueError) as err:
        raise ArtifactError(f"{path} cannot be put in canonical form: {err}") from err
    if digest != manifest["manifest_sha256"]:
        raise ArtifactIntegrityError(
            f"{MANIFEST} was modified or corrupted: its canonical sha256 is {digest[:12]}..., "
            f"the field 'manifest_sha256' says {str(manifest['manifest_sha256'])[:12]}..."
        )
    check_manifest(manifest, path)
    config = manifest["config"]
    try:
        check_config(config, RETRIEVER_ARRAYS)
    except (PipelineError, KeyError) as err:
        raise ArtifactError(f"{path}: field {err}") from err
    check_files(manifest, directory, path)
    components = {}
    for name, entry in manifest["files"].items():
        file = directory / name
        if not file.is_file():
            raise IncompleteArtifactError(
                f"{name} is listed in the manifest but missing from {directory}"
            )
        digest = file_sha256(file)
        if digest != entry["sha256"]:
            raise ArtifactIntegrityError(
                f"{name} was modified or corrupted: its sha256 is {digest[:12]}..., "
                f"the manifest says {entry['sha256'][:12]}..."
            )
        components[name.removesuffix(".npz")] = read_npz(file, entry["arrays"])
    pipeline = ServingPipeline(components, config)
    try:
        pipeline.validate()
    except PipelineError as err:
        where = err.where.split("/")[0]
        file = MANIFEST if where.startswith("config") else f"{where.split('.npz')[0]}.npz"
        raise ArtifactError(f"artifact in {directory}: {file}: {err}") from err
    except KeyError as err:
        raise IncompleteArtifactError(
            f"artifact in {directory} is incomplete: {err.args[0]}"
        ) from err
    except (ValueError, TypeError, IndexError) as err:
        raise ArtifactError(f"artifact in {directory} is inconsistent: {err}") from err
    return Artifacts(pipeline, manifest)
