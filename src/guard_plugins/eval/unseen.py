"""The ``unseen`` part of the suite: labelled sets from sources nothing in training comes from.

The shared data folder's ``unseen/`` holds ``prompts/<set>/test.jsonl`` (input guard,
``{"text", "label", "lang", ...}``) and ``responses/<set>/test.jsonl`` (output guard,
``{"prompt", "response", "label", "lang", ...}``). They are **evaluation only**: never trained
or calibrated on, so they are scored whole (``max_per_set`` can cap them, stratified by label
with a fixed seed).

Outputs go through the suite's streaming rule (realistic chunks through ``stream.feed``,
halting at the first flag) and the whole-response check; the runtime makes the two verdicts
bit-identical (``docs/ARCHITECTURE.md``, "Even rows"), and each row reports their agreement
(``stream_agreement``). The headline numbers of an output row are the streaming ones.

:func:`run_unseen` gives one row per set (precision, recall, F1, FPR, AUPRC, recall at 1 %
and 5 % FPR), per-group breakdowns for the fields in :data:`GROUP_FIELDS` that a set has
(``category``, and its prefix before ``/`` as ``topic`` where categories have one; ``response_type``; ``model``), and
pooled rows over the English sets (``lang`` ``en``): ``unseen prompts pooled (English)`` and
``unseen responses pooled (English)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import EvalRecord
from .evaluate import ChunkSpec, EvalResult, GuardLike
from .rows import SetFile, SuiteRow, find_split_files, pool_items, score_set_file, select_sets, suite_row

__all__ = ["UnseenSet", "GROUP_FIELDS", "find_unseen_sets", "record_language", "pool_items",
           "run_unseen"]

#: Record fields broken down per value when a set has them (``topic`` is derived: the part of
#: ``category`` before ``/``, e.g. ``gender`` of ``gender/attack-group``).
GROUP_FIELDS: tuple[str, ...] = ("topic", "category", "response_type", "model")


UnseenSet = SetFile
"""One unseen test file: ``name`` (the folder), ``kind`` and ``path``."""


def find_unseen_sets(root: str | Path) -> list[UnseenSet]:
    """Every ``prompts/<set>/test.jsonl`` (input) and ``responses/<set>/test.jsonl`` (output).

    Raises :class:`DataError` when ``root`` is not a folder, holds neither ``prompts/`` nor
    ``responses/``, or a set folder has no ``test.jsonl``.
    """
    return find_split_files(root, "test.jsonl", "unseen data", "every unseen set is one test.jsonl")


def record_language(extra: dict[str, Any]) -> str | None:
    """The record's language code (``lang`` or ``language`` field, lower case), if any."""
    v = extra.get("lang", extra.get("language"))
    return v.strip().lower() if isinstance(v, str) and v.strip() else None


def _with_topic(records: list[EvalRecord]) -> list[EvalRecord]:
    """When some ``category`` of the set has a ``/``, each string category's prefix before it
    as ``topic`` (a category without ``/`` is its own topic)."""
    if not any(isinstance(r.extra.get("category"), str) and "/" in r.extra["category"]
               for r in records):
        return records
    out = []
    for rec in records:
        cat = rec.extra.get("category")
        if isinstance(cat, str):
            rec = EvalRecord(line=rec.line, label=rec.label, text=rec.text, response=rec.response,
                             extra={**rec.extra, "topic": cat.split("/", 1)[0]})
        out.append(rec)
    return out


def _groups(res: EvalResult, fields: Sequence[str]) -> dict[str, dict[str, Any]]:
    res.group_by = list(fields)
    out = res.groups()
    res.group_by = []
    return out


def run_unseen(guard: GuardLike, root: str | Path, *, sets: Sequence[str] | None = None,
               max_per_set: int | None = None, seed: int = 0, chunking: ChunkSpec | None = None,
               progress: bool = True, models: str | None = None,
               kinds: Sequence[str] = ("input", "output")) -> dict[str, Any]:
    """Score every unseen set; returns ``{"rows", "groups", "notes", "results"}``.

    ``rows``: suite rows (group ``unseen``, with ``language`` the set's most common language
    and ``languages`` all of them; pooled rows carry ``pooled: True``); ``groups``:
    ``{set: {field: {value: {n, n_pos, n_neg, precision, recall, f1, fpr, auprc[, stream_*]}}}}``
    for the :data:`GROUP_FIELDS` a set has; ``results``: ``{(kind, set): EvalResult}``.
    ``sets``: only these (folder names; an unknown one is a :class:`DataError`).
    """
    spec = chunking or ChunkSpec(seed=seed)
    found = select_sets(find_unseen_sets(root), sets, root, "unseen")
    rows: list[SuiteRow] = []
    groups: dict[str, Any] = {}
    notes: list[str] = []
    results: dict[tuple[str, str], EvalResult] = {}
    chosen = [s for s in found if s.kind in kinds]
    if not chosen:
        notes.append(f"{root}: no unseen set of kind {', '.join(kinds)}")
    for s in chosen:
        d, res, total = score_set_file(guard, s, max_per_set=max_per_set, seed=seed, chunking=spec,
                                       progress=progress, models=models, prepare=_with_topic)
        recs = d.records
        results[(s.kind, s.name)] = res
        langs = Counter(record_language(r.extra) or "?" for r in recs)
        rows.append(suite_row(s.name, res, {
            "group": "unseen", "rows_in_file": total, "path": str(s.path),
            "language": langs.most_common(1)[0][0], "languages": dict(langs)}))
        fields = [f for f in GROUP_FIELDS if any(f in r.extra for r in recs)]
        if fields:
            groups[s.name] = _groups(res, fields)
    for kind, label in (("input", "unseen prompts pooled (English)"),
                        ("output", "unseen responses pooled (English)")):
        parts = [(name, r) for (k, name), r in results.items() if k == kind]
        if not parts:
            continue
        pooled = pool_items(label, [r for _, r in parts],
                            keep=lambda it: record_language(it.extra) == "en")
        if pooled is None:
            continue
        names = [name for name, r in parts
                 if any(record_language(it.extra) == "en" for it in r.items)]
        rows.append(suite_row(label, pooled, {"group": "unseen", "pooled": True, "sets": names,
                                              "language": "en", "languages": {"en": len(pooled.items)}}))
    return {"rows": rows, "groups": groups, "notes": notes, "results": results}
