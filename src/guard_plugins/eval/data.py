"""Reading labelled evaluation files for ``guard-eval`` (JSONL, one record a line).

The evaluation contract is deliberately looser than the training schema
(:mod:`guard_plugins.synth.schema`), so that any labelled set can be scored:

* ``--kind input``: ``{"text": str, "label": 0|1, ...}``
* ``--kind output``: ``{"prompt": str, "response": str, "label": 0|1, ...}``

Every other field is kept (``extra``) and can be used for per-group breakdowns
(``--group-by``). ``label`` must be the integer 0 or 1 (``true``/``1.0``/``"1"`` are errors:
a producer that writes those has a bug worth seeing). ``text`` and ``response`` must be
non-blank strings; ``prompt`` may be empty. Whitespace-only lines are ignored.

A malformed line is **never skipped silently**: :func:`read_eval_file` raises
:class:`~guard_plugins.errors.DataError` listing the first problems with their line numbers,
or, with ``skip_bad=True``, keeps the good records and returns every bad line number and
reason in :attr:`EvalData.bad`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import DataError

__all__ = ["Kind", "EvalRecord", "BadLine", "EvalData", "read_eval_file", "parse_eval_record"]

Kind = Literal["input", "output"]
_MAX_LISTED = 10


@dataclass(frozen=True)
class EvalRecord:
    """One labelled item. ``text`` is the prompt to score (input) or the prompt context (output)."""

    line: int
    label: int
    text: str
    response: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class EvalData:
    """The good records of a file and every bad line (number and reason)."""

    path: str
    kind: Kind
    records: list[EvalRecord]
    bad: list[BadLine]

    @property
    def labels(self) -> list[int]:
        return [r.label for r in self.records]


def _check_str(obj: dict[str, Any], key: str, *, allow_blank: bool) -> str:
    if key not in obj:
        raise ValueError(f"missing field {key!r}")
    v = obj[key]
    if not isinstance(v, str):
        raise ValueError(f"field {key!r} must be a string, got {type(v).__name__}")
    if not allow_blank and not v.strip():
        raise ValueError(f"field {key!r} is blank")
    return v


def parse_eval_record(obj: Any, kind: Kind, line: int = 0) -> EvalRecord:
    """Validate one decoded JSON value; raises ``ValueError`` with the reason."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "label" not in obj:
        raise ValueError("missing field 'label'")
    label = obj["label"]
    if isinstance(label, bool) or not isinstance(label, int) or label not in (0, 1):
        raise ValueError(f"field 'label' must be the integer 0 or 1, got {label!r}")
    if kind == "input":
        text = _check_str(obj, "text", allow_blank=False)
        extra = {k: v for k, v in obj.items() if k not in ("text", "label")}
        return EvalRecord(line=line, label=label, text=text, extra=extra)
    prompt = _check_str(obj, "prompt", allow_blank=True)
    response = _check_str(obj, "response", allow_blank=False)
    extra = {k: v for k, v in obj.items() if k not in ("prompt", "response", "label")}
    return EvalRecord(line=line, label=label, text=prompt, response=response, extra=extra)


def read_eval_file(path: str | Path, kind: Kind, *, skip_bad: bool = False,
                   limit: int | None = None) -> EvalData:
    """Read a labelled JSONL file.

    Raises :class:`DataError` when the file is missing or unreadable, when it holds no
    record, or (unless ``skip_bad``) when any line is malformed; the message lists the first
    bad lines as ``FILE:LINE: reason``. ``limit`` keeps the first N good records (the whole
    file is still validated).
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', got {kind!r}")
    p = Path(path)
    records: list[EvalRecord] = []
    bad: list[BadLine] = []
    try:
        fh = p.open("rb")  # decoded line by line: a bad byte costs one line, with its number
    except FileNotFoundError:
        raise DataError(f"{p}: file not found") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read: {e}") from None
    with fh:
        for lineno, raw_bytes in enumerate(fh, 1):
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as e:
                bad.append(BadLine(lineno, f"not valid UTF-8 ({e.reason} at byte {e.start})"))
                continue
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                bad.append(BadLine(lineno, f"invalid JSON ({e.msg} at column {e.colno})"))
                continue
            try:
                rec = parse_eval_record(obj, kind, lineno)
            except ValueError as e:
                bad.append(BadLine(lineno, str(e)))
                continue
            if limit is None or len(records) < limit:
                records.append(rec)
    if bad and not skip_bad:
        listed = "\n".join(f"  {p}:{b.line}: {b.reason}" for b in bad[:_MAX_LISTED])
        more = f"\n  ... and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        raise DataError(f"{p}: {len(bad)} malformed line{'s' if len(bad) != 1 else ''} "
                        f"(expected {_expected(kind)} per line; pass --skip-bad to evaluate the "
                        f"rest and report them):\n{listed}{more}")
    if not records:
        raise DataError(f"{p}: no {kind} records (expected {_expected(kind)} per line)")
    return EvalData(path=str(p), kind=kind, records=records, bad=bad)


def _expected(kind: Kind) -> str:
    if kind == "input":
        return '{"text": ..., "label": 0|1}'
    return '{"prompt": ..., "response": ..., "label": 0|1}'
