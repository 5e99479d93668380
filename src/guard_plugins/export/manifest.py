"""``manifest.json`` of an exported model folder (docs/ARCHITECTURE.md section 4)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..runtime.manifest import MANIFEST_FILE, SCHEMA_VERSION, sha256_file

WINDOW_KEYS = {"input": ("input_window", "input_stride"),
               "output": ("output_max_len", "output_max_prompt", "output_carry")}


def file_entries(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file in ``folder`` except the manifest itself."""
    return {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST_FILE}


def tokenizer_info(path: Path, file: str = "tokenizer.json") -> dict[str, Any]:
    """Special ids and casing of a BERT ``tokenizer.json``."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    raw = json.loads(path.read_text(encoding="utf-8"))
    norm = raw.get("normalizer") or {}
    return {"file": file, "cls_id": tok.token_to_id("[CLS]"), "sep_id": tok.token_to_id("[SEP]"),
            "pad_id": tok.token_to_id("[PAD]"), "unk_id": tok.token_to_id("[UNK]"),
            "lowercase": bool(norm.get("lowercase", False)), "vocab_size": tok.get_vocab_size()}


def windowing_for(kind: str, meta: dict[str, Any]) -> dict[str, int]:
    """The checkpoint's windowing constants for this kind (defaults from runtime.windows)."""
    from ..runtime._common import WINDOW_DEFAULTS

    raw = meta.get("windowing") or {}
    return {k: int(raw.get(k, raw.get(k.upper(), WINDOW_DEFAULTS[k]))) for k in WINDOW_KEYS[kind]}


def build_manifest(kind: str, name: str, meta: dict[str, Any], onnx: dict[str, Any],
                   tokenizer: dict[str, Any], parity: dict[str, Any]) -> dict[str, Any]:
    """The manifest without ``files`` (added by :func:`write_manifest`)."""
    metrics = dict(meta.get("metrics") or {})
    for k in ("target_fpr", "achieved"):
        if k in meta and k not in metrics:
            metrics[k] = meta[k]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "name": name,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "files": {},
        "onnx": onnx,
        "tokenizer": tokenizer,
        "windowing": windowing_for(kind, meta),
        "threshold": float(meta["threshold"]),
        "categories": list(meta.get("categories") or []),
        "category_titles": dict(meta.get("category_titles") or {}),
        "constitution": meta.get("constitution") or {},
        "training_data": meta.get("data") or {},
        "metrics": metrics,
        "parity": parity,
    }


def write_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Hash the folder's files into ``manifest["files"]`` and write ``manifest.json``."""
    manifest = {**manifest, "files": file_entries(folder)}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str) + "\n",
                                        encoding="utf-8")
    return manifest


def model_sha256(manifest: Mapping[str, Any]) -> str:
    """sha256 of a manifest's ONNX graph file (as recorded in ``files``)."""
    return str(((manifest.get("files") or {}).get((manifest.get("onnx") or {}).get("file", "model.onnx"))
                or {}).get("sha256"))


def rewrite_manifest(folder: Path, kind: str, manifest: Mapping[str, Any]) -> None:
    """Write an edited ``manifest.json`` of an exported folder (its files unchanged, so their
    hashes stay) and load it back, so what was written is known to load."""
    from ..runtime.manifest import load_manifest

    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    load_manifest(folder, kind=kind)

