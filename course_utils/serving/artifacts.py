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

:func:`load_artifacts` refuses, with an :class:`ArtifactError` subclass saying what is
wrong, a directory with a missing manifest, file or array (:class:`IncompleteArtifactError`),
a file whose checksum differs from the manifest (:class:`ArtifactIntegrityError`) or an
artifact written by another package or format version (:class:`ArtifactVersionError`).
The checksums catch corruption and accidental edits; they do not stop an attacker who can
also rewrite the manifest (a registry would sign it).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import course_utils
from course_utils.data import schema as S
from course_utils.serving.pipeline import ServingPipeline

__all__ = [
    "ArtifactError",
    "ArtifactIntegrityError",
    "ArtifactVersionError",
    "Artifacts",
    "FORMAT",
    "IncompleteArtifactError",
    "file_sha256",
    "load_artifacts",
    "save_artifacts",
    "training_data_hash",
]

FORMAT = "course_utils.serving/1"
MANIFEST = "manifest.json"


class ArtifactError(ValueError):
    """An artifact directory cannot be loaded safely."""


class IncompleteArtifactError(ArtifactError):
    """A manifest, file or array the artifact needs is missing."""


class ArtifactIntegrityError(ArtifactError):
    """A file's content differs from the checksum in the manifest."""


class ArtifactVersionError(ArtifactError):
    """The artifact was written by another format, package or model version."""


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


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read in 1 MB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
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


def save_artifacts(
    pipeline: ServingPipeline,
    directory: str | os.PathLike,
    *,
    model_version: str,
    training_interactions: pd.DataFrame,
    metrics: dict | None = None,
    overwrite: bool = False,
) -> Artifacts:
    """Write ``pipeline`` to ``directory`` (npz files plus ``manifest.json``).

    The files are written to a temporary sibling directory that is renamed at the end,
    so a crash never leaves a half-written artifact under ``directory``.

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
        Offline metrics to record (JSON-serialisable numbers).
    overwrite : bool, default False
        Replace an existing directory.

    Returns
    -------
    Artifacts
    """
    if not isinstance(pipeline, ServingPipeline):
        raise TypeError(f"pipeline must be a ServingPipeline; got {type(pipeline).__name__}")
    if not isinstance(model_version, str) or not model_version:
        raise ValueError(f"model_version must be a non-empty str; got {model_version!r}")
    pipeline.validate()
    target = Path(directory)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
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
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "config": pipeline.config,
        "files": {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for component, arrays in pipeline.components.items():
            name = f"{component}.npz"
            np.savez(staging / name, **_plain(arrays, component))
            manifest["files"][name] = {
                "sha256": file_sha256(staging / name),
                "arrays": sorted(arrays),
            }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Artifacts(pipeline, manifest)


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise IncompleteArtifactError(
            f"no {MANIFEST} in {directory}; is this an artifact directory?"
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{path} is not valid JSON: {err}") from err
    need = ["format", "model_version", "package_version", "config", "files"]
    missing = [k for k in need if k not in manifest] if isinstance(manifest, dict) else need
    if missing:
        raise IncompleteArtifactError(f"{path} lacks the fields {missing}")
    return manifest


def load_artifacts(
    directory: str | os.PathLike, *, expected_model_version: str | None = None
) -> Artifacts:
    """Load and verify an artifact directory written by :func:`save_artifacts`.

    Checks, in order: the manifest exists and parses; format and package versions match
    this code (and ``expected_model_version`` when given); every listed file exists and
    matches its sha256; every listed array is present; the pipeline is consistent.

    Raises
    ------
    IncompleteArtifactError, ArtifactIntegrityError, ArtifactVersionError
        All subclasses of :class:`ArtifactError` (a ``ValueError``).
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    if manifest["format"] != FORMAT:
        raise ArtifactVersionError(
            f"artifact format is {manifest['format']!r}; this code reads {FORMAT!r}"
        )
    if manifest["package_version"] != course_utils.__version__:
        raise ArtifactVersionError(
            f"artifact was written by course_utils {manifest['package_version']}; "
            f"this is {course_utils.__version__}: re-export the model with this version"
        )
    if expected_model_version is not None and manifest["model_version"] != expected_model_version:
        raise ArtifactVersionError(
            f"expected model version {expected_model_version!r}; the artifact holds {manifest['model_version']!r}"
        )
    components = {}
    for name, entry in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise IncompleteArtifactError(
                f"{name} is listed in the manifest but missing from {directory}"
            )
        digest = file_sha256(path)
        if digest != entry["sha256"]:
            raise ArtifactIntegrityError(
                f"{name} was modified or corrupted: its sha256 is {digest[:12]}..., "
                f"the manifest says {entry['sha256'][:12]}..."
            )
        try:
            with np.load(path, allow_pickle=False) as npz:
                missing = sorted(set(entry["arrays"]) - set(npz.files))
                if missing:
                    raise IncompleteArtifactError(f"{name} lacks the arrays {missing}")
                components[name.removesuffix(".npz")] = {key: npz[key] for key in entry["arrays"]}
        except ArtifactError:
            raise
        except (ValueError, OSError) as err:  # object arrays (pickle) or a broken archive
            raise ArtifactError(f"cannot read {name} without pickle: {err}") from err
    pipeline = ServingPipeline(components, manifest["config"])
    try:
        pipeline.validate()
    except KeyError as err:
        raise IncompleteArtifactError(
            f"artifact in {directory} is incomplete: {err.args[0]}"
        ) from err
    except ValueError as err:
        raise ArtifactError(f"artifact in {directory} is inconsistent: {err}") from err
    return Artifacts(pipeline, manifest)
