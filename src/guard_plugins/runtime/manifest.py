"""Exported model folders: locating them, reading ``manifest.json`` and checking integrity.

Folder layout and manifest schema: docs/ARCHITECTURE.md section 4. Every file listed in the
manifest is checked against its sha256 and size before a session is created, so a tampered
or truncated model is refused (:class:`~guard_plugins.errors.IntegrityError`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..errors import IntegrityError, ModelLoadError, OperatingPointError

MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1
MODELS_ENV = "GUARD_PLUGINS_MODELS"
REQUIRED_KEYS = ("schema_version", "kind", "files", "onnx", "tokenizer", "windowing", "threshold")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def default_models_dir() -> Path:
    """Folder of the embedded default models (holding ``input/`` and ``output/``).

    Looked up, in order: ``$GUARD_PLUGINS_MODELS``; ``exported_models/`` inside the installed
    package; ``exported_models/`` at the root of a source checkout.
    """
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / "exported_models", here.parents[3] / "exported_models"]
    for c in candidates:
        if (c / "input" / MANIFEST_FILE).is_file() or (c / "output" / MANIFEST_FILE).is_file():
            return c
    raise ModelLoadError(
        "no embedded models found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + f"); pass a path or set ${MODELS_ENV} to a folder holding input/ and output/")


def load_manifest(folder: str | Path, *, kind: str | None = None, verify: bool = True) -> dict[str, Any]:
    """Read and validate ``folder/manifest.json``; with ``verify``, check every file's sha256.

    Raises :class:`ModelLoadError` for a missing folder/file or a malformed manifest, and
    :class:`IntegrityError` when a file's size or sha256 differs from the manifest.
    """
    folder = Path(folder)
    mpath = folder / MANIFEST_FILE
    if not folder.is_dir():
        raise ModelLoadError(f"{folder}: model folder not found")
    if not mpath.is_file():
        raise ModelLoadError(f"{mpath}: manifest not found (export models with guard-export)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{mpath}: unreadable manifest ({e})") from e
    if not isinstance(manifest, dict):
        raise ModelLoadError(f"{mpath}: manifest must be a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise ModelLoadError(f"{mpath}: manifest lacks {missing}")
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise ModelLoadError(f"{mpath}: unsupported schema_version {manifest['schema_version']!r}")
    if kind is not None and manifest["kind"] != kind:
        raise ModelLoadError(f"{mpath}: expected a {kind!r} model, found {manifest['kind']!r}")
    for key in ("files", "onnx", "tokenizer", "windowing"):
        if not isinstance(manifest[key], dict):
            raise ModelLoadError(f"{mpath}: '{key}' must be a JSON object")
    files = manifest["files"]
    if not isinstance(files, dict) or not files:
        raise ModelLoadError(f"{mpath}: 'files' must map file names to sha256/bytes")
    for needed in (manifest["onnx"].get("file"), manifest["tokenizer"].get("file")):
        if needed not in files:
            raise ModelLoadError(f"{mpath}: {needed!r} is not listed in 'files'")
    operating_points(manifest, mpath)  # a malformed block is refused at load, not at use
    if verify:
        verify_files(folder, files)
    return manifest


def operating_points(manifest: dict[str, Any], where: Any = "manifest") -> dict[str, float]:
    """``{name: threshold}`` of the manifest's named operating points (``{}`` when it has none).

    Schema (docs/ARCHITECTURE.md section 4): ``operating_points`` maps a name to an object
    with at least ``threshold`` in [0, 1]; ``default_operating_point`` names the one whose
    threshold is the manifest's ``threshold``. Raises :class:`ModelLoadError` naming the
    field when the block is malformed or the default disagrees with ``threshold``.
    """
    block = manifest.get("operating_points")
    if block is None:
        if manifest.get("default_operating_point") is not None:
            raise ModelLoadError(f"{where}: default_operating_point is set but operating_points is missing")
        return {}
    if not isinstance(block, dict) or not block:
        raise ModelLoadError(f"{where}: 'operating_points' must map names to objects with a threshold")
    out: dict[str, float] = {}
    for name, point in block.items():
        t = point.get("threshold") if isinstance(point, dict) else None
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= float(t) <= 1.0:
            raise ModelLoadError(f"{where}: operating_points.{name}.threshold must be a number in "
                                 f"[0, 1], got {t!r}")
        out[str(name)] = float(t)
    default = manifest.get("default_operating_point")
    if default not in out:
        raise ModelLoadError(f"{where}: default_operating_point {default!r} is not one of the "
                             f"operating_points {sorted(out)}")
    if abs(out[default] - float(manifest["threshold"])) > 1e-9:
        raise ModelLoadError(f"{where}: threshold {manifest['threshold']!r} differs from the default "
                             f"operating point {default!r} ({out[default]!r})")
    return out


def point_option(value: Any) -> dict[str, str]:
    """An integration's ``operating_point`` option as ``Guard.load`` keywords: ``{}`` for
    ``None`` (the manifests' default), else ``{"operating_point": value}``; anything but a name
    raises :class:`~guard_plugins.errors.OperatingPointError` (the manifests decide whether the
    name exists, at load)."""
    if value is None:
        return {}
    if not isinstance(value, str):
        raise OperatingPointError(f"operating_point must be a name such as 'strict' or 'balanced', "
                                  f"got {value!r}")
    return {"operating_point": value}


def resolve_threshold(manifest: dict[str, Any], folder: Any, threshold: float | None,
                      operating_point: str | None) -> tuple[float, str | None]:
    """The threshold a guard applies and the operating point it came from.

    An explicit ``threshold`` wins (point ``None``); else the named ``operating_point``; else
    the manifest's ``threshold`` (its ``default_operating_point``, when it names one). A name
    the manifest lacks raises :class:`~guard_plugins.errors.OperatingPointError` (a
    configuration error: an ``InputError`` and a ``ModelLoadError``), even when an explicit
    threshold would win, so a typo is never silently ignored.
    """
    from ._common import check_threshold

    point_option(operating_point)  # a name or None
    points = operating_points(manifest, folder)
    if operating_point is not None and operating_point not in points:
        have = f"it has {sorted(points)}" if points else (
            "its manifest has no operating points (add them with guard-export operating-points)")
        raise OperatingPointError(f"{folder}: no operating point {operating_point!r}; {have}")
    if threshold is not None:
        return check_threshold(threshold, f"{folder} threshold"), None
    if operating_point is None:
        return (check_threshold(manifest["threshold"], f"{folder} threshold"),
                manifest.get("default_operating_point") if points else None)
    return points[operating_point], operating_point


def verify_files(folder: Path, files: dict[str, Any]) -> None:
    """Check each listed file exists with the recorded size and sha256."""
    for name, info in files.items():
        p = folder / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ModelLoadError(f"{folder}: manifest lists a path outside the folder: {name!r}")
        if not p.is_file():
            raise ModelLoadError(f"{p}: listed in the manifest but missing")
        size = p.stat().st_size
        if "bytes" in info and size != info["bytes"]:
            raise IntegrityError(f"{p}: size {size} bytes, manifest says {info['bytes']} "
                                 "(file corrupted or tampered; refusing to load)")
        digest = sha256_file(p)
        if digest != info.get("sha256"):
            raise IntegrityError(f"{p}: sha256 {digest} does not match the manifest "
                                 f"({info.get('sha256')}); refusing to load a tampered file")
