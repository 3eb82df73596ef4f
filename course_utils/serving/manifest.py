"""The artifact manifest: its digest, its schema, and the safe reading of its ``.npz`` files.

:mod:`course_utils.serving.artifacts` writes and loads artifact directories; this module
holds what it checks them with (see that module's docstring for the guarantees): the
error types, :func:`manifest_digest` (sha256 of the manifest's canonical JSON),
:func:`check_manifest` (every top-level field's type and value), :func:`check_files` (file
names confined to the directory, exactly the files the config needs) and
:func:`read_npz` (plain uncompressed non-object ``.npy`` members whose declared size
matches, read without pickle).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.serving.pipeline import REQUIRED_ARRAYS, RETRIEVER_ARRAYS

__all__ = [
    "ArtifactError",
    "ArtifactIntegrityError",
    "ArtifactVersionError",
    "FORMAT",
    "IncompleteArtifactError",
    "MANIFEST",
    "check_files",
    "check_manifest",
    "file_sha256",
    "manifest_digest",
    "read_manifest",
    "read_npz",
]

FORMAT = "course_utils.serving/2"  # 2: manifest digest, ranker feature names
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 10 * 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.]{0,127}\.npz$")
_FIELDS = {  # manifest field -> allowed JSON types
    "format": (str,), "model_version": (str,), "package_version": (str,),
    "created_at": (str,), "training_data_sha256": (str,), "training_cutoff": (str, type(None)),
    "n_training_interactions": (int,), "metrics": (dict,), "config": (dict,),
    "files": (dict,), "manifest_sha256": (str,),
}  # fmt: skip


class ArtifactError(ValueError):
    """An artifact directory cannot be loaded safely."""


class IncompleteArtifactError(ArtifactError):
    """A manifest, file or array the artifact needs is missing."""


class ArtifactIntegrityError(ArtifactError):
    """A file's content differs from the checksum in the manifest."""


class ArtifactVersionError(ArtifactError):
    """The artifact was written by another format, package or model version."""


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read in 1 MB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_digest(manifest: dict) -> str:
    """sha256 of ``manifest``'s canonical JSON (sorted keys, no spaces) without ``manifest_sha256``.

    Examples
    --------
    >>> manifest_digest({"b": 1, "a": [2]}) == manifest_digest({"a": [2], "b": 1})
    True
    """
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise IncompleteArtifactError(
            f"no {MANIFEST} in {directory}; is this an artifact directory?"
        )
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ArtifactError(f"{path} is over {MAX_MANIFEST_BYTES} bytes; not a manifest of ours")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ArtifactError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} must hold a JSON object; got {type(manifest).__name__}")
    need = ["format", "model_version", "package_version", "config", "files", "manifest_sha256"]
    missing = [k for k in need if k not in manifest]
    if missing:
        raise IncompleteArtifactError(f"{path} lacks the fields {missing}")
    return manifest


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def check_manifest(manifest: dict, path: Path) -> None:
    """Every top-level field's type and value (the config is checked with the pipeline)."""

    def bad(field: str, why: str) -> ArtifactError:
        return ArtifactError(f"{path}: field {field!r} {why}")

    unknown = sorted(set(manifest) - set(_FIELDS))
    if unknown:
        raise bad(unknown[0], f"is not a manifest field (allowed: {sorted(_FIELDS)})")
    missing = sorted(set(_FIELDS) - set(manifest))
    if missing:
        raise IncompleteArtifactError(f"{path} lacks the fields {missing}")
    for field, types in _FIELDS.items():
        value = manifest[field]
        if not isinstance(value, types) or isinstance(value, bool):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise bad(field, f"must be {names}; got {type(value).__name__}")
    if not manifest["model_version"].strip() or len(manifest["model_version"]) > 200:
        raise bad("model_version", "must be a non-empty str of at most 200 characters")
    for field in ("training_data_sha256", "manifest_sha256"):
        if not _HEX64.match(manifest[field]):
            raise bad(field, "must be 64 lowercase hex digits")
    if manifest["n_training_interactions"] < 0:
        raise bad("n_training_interactions", "must be >= 0")
    for field in ("created_at", "training_cutoff"):
        if manifest[field] is not None:
            try:
                pd.Timestamp(manifest[field])
            except (ValueError, TypeError, OverflowError) as err:
                raise bad(field, f"must be an ISO timestamp; got {manifest[field]!r:.60}") from err
    for key, value in manifest["metrics"].items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise bad(f"metrics.{key}", f"must be a finite number; got {value!r:.60}")


def _expected_files(config: dict) -> set[str]:
    comps = {"catalogue", "users"} | {f"retriever.{name}" for name in config["retrievers"]}
    if config["ranking"] == "ranker":
        comps |= {"features", "ranker"}
    comps |= {f"index.{name}" for name in config.get("index", {})}
    return {f"{c}.npz" for c in comps}


def check_files(manifest: dict, directory: Path, path: Path) -> None:
    """File names confined to the directory, the expected set of files, entry schema."""
    files = manifest["files"]
    root = directory.resolve()
    for name, entry in files.items():
        if not _FILE_NAME.match(name) or Path(name).name != name:
            raise ArtifactError(
                f"{path}: field 'files' names {name!r:.80}, not a plain <component>.npz name "
                "inside the artifact directory"
            )
        resolved = (directory / name).resolve()
        if resolved.parent != root:
            raise ArtifactError(f"{path}: file {name!r} resolves outside {directory}")
        if not isinstance(entry, dict) or set(entry) != {"sha256", "arrays"}:
            raise ArtifactError(f"{path}: field 'files.{name}' must be {{'sha256', 'arrays'}}")
        if not isinstance(entry["sha256"], str) or not _HEX64.match(entry["sha256"]):
            raise ArtifactError(f"{path}: field 'files.{name}.sha256' must be 64 hex digits")
        arrays = entry["arrays"]
        if (
            not isinstance(arrays, list)
            or not all(isinstance(a, str) and re.match(r"^\w{1,64}$", a) for a in arrays)
            or len(set(arrays)) != len(arrays)
        ):
            raise ArtifactError(
                f"{path}: field 'files.{name}.arrays' must be a list of distinct array names"
            )
    expected = _expected_files(manifest["config"])
    if set(files) != expected:
        extra, lacking = sorted(set(files) - expected), sorted(expected - set(files))
        error = IncompleteArtifactError if lacking and not extra else ArtifactError
        raise error(
            f"{path}: field 'files' must list exactly {sorted(expected)} for this config; "
            f"missing {lacking}, unexpected {extra}"
        )
    for name in files:
        component = name.removesuffix(".npz")
        kind = manifest["config"]["retrievers"].get(component.removeprefix("retriever."))
        if component.startswith("index."):
            needed = ("meta",)  # the index checks its own arrays against its meta on load
        elif component.startswith("retriever."):
            needed = RETRIEVER_ARRAYS[kind]
        else:
            needed = REQUIRED_ARRAYS[component]
        lacking = sorted(set(needed) - set(files[name]["arrays"]))
        if lacking:
            raise IncompleteArtifactError(f"{path}: component {component!r} lacks arrays {lacking}")


def read_npz(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    """The listed arrays of a plain ``np.savez`` archive, each checked before it is read.

    Members must be stored uncompressed, hold non-object ``.npy`` data whose header-declared
    size equals the member's size, and be no larger than the file: a crafted archive can
    neither run code nor make the loader allocate more memory than the file's size.
    """
    limit = path.stat().st_size
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            missing = sorted(n for n in names if f"{n}.npy" not in members)
            if missing:
                raise IncompleteArtifactError(f"{path.name} lacks the arrays {missing}")
            for name in names:
                info = members[f"{name}.npy"]
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > limit:
                    raise ArtifactError(
                        f"{path.name}: array {name!r} is compressed or larger than the file; "
                        "np.savez writes neither"
                    )
                with archive.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    else:
                        raise ValueError(f"unsupported .npy version {version}")
                    if dtype.hasobject:
                        raise ValueError("object arrays can only be read with pickle")
                    need = math.prod(shape) * dtype.itemsize
                    if need != info.file_size - fh.tell():
                        raise ValueError(
                            f"its header declares {need} bytes; the member holds "
                            f"{info.file_size - fh.tell()}"
                        )
                with archive.open(info) as fh:
                    out[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except ArtifactError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, TypeError, KeyError,
            RuntimeError, NotImplementedError, OverflowError, MemoryError) as err:  # fmt: skip
        raise ArtifactError(
            f"cannot read {path.name} without pickle: {type(err).__name__}: {err}"
        ) from err
    return out
