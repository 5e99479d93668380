"""Dataset record schemas and JSONL input/output (docs/ARCHITECTURE.md section 2).

Torch-free and small: ``guard-synth`` writes with it, ``guard-train`` and ``guard-eval`` read
with it. Two record kinds:

* **input** records (what the input guard scores)::

    {"id", "text", "label": 0|1, "category": str|null, "source", "kind",
     "augmentations": [str], "lookalike": bool, "license"}

* **output** records (prompt + full response; label 1 = the response is harmful)::

    {"id", "prompt", "response", "label", "category", "source",
     "kind": "compliant"|"refusal"|"benign"|"public", "augmentations", "license",
     "harm_onset": int|null}

  ``harm_onset`` (optional) is the character offset in ``response`` where harmful content
  starts, when it is known by construction (a real harmful response spliced after a benign
  preamble): the trainer labels the response tokens before it 0 and from it on 1. Absent or
  null means the label holds for the whole response (the usual case).

Both may also carry ``group`` (the near-duplicate / seed group the split was drawn by),
``split`` (``train`` | ``dev`` | ``calib``) and ``language`` (ISO 639-1 code where the
source gives one, e.g. ``"en"``, ``"zh"``). Unknown fields are errors, so a typo in a
producer never passes silently.

:func:`read_jsonl` reports every malformed line with file and line number
(:class:`~guard_plugins.errors.DataError`); it raises on the first one unless the caller
asks for errors to be collected, in which case nothing is dropped without being reported.
:func:`write_jsonl` is atomic (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import DataError

__all__ = [
    "SPLITS",
    "OUTPUT_KINDS",
    "InputRecord",
    "OutputRecord",
    "RecordKind",
    "validate_record",
    "read_jsonl",
    "write_jsonl",
    "atomic_write",
    "data_file",
    "is_english",
]

SPLITS: tuple[str, ...] = ("train", "dev", "calib")
_ENGLISH = {"en", "eng", "english"}


def is_english(language: Any) -> bool:
    """Whether a record's ``language`` value means English; absent (``None``) counts as English
    (most sets give no language and are English)."""
    return language is None or (isinstance(language, str) and language.strip().lower() in _ENGLISH)

OUTPUT_KINDS: tuple[str, ...] = ("compliant", "refusal", "benign", "public")
RecordKind = Literal["input", "output"]

Split = Literal["train", "dev", "calib"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=False)

    id: str = Field(min_length=1)
    label: Literal[0, 1]
    category: str | None = None
    source: str = Field(min_length=1, description="synthetic/offline, synthetic/llm:<model> or public/<set>")
    augmentations: list[str] = Field(default_factory=list)
    license: str = Field(min_length=1)
    group: str | None = Field(default=None, description="split group (seed / near-duplicate group)")
    split: Split | None = None
    language: str | None = Field(default=None, description="ISO 639-1 code where the source gives one")

    @field_validator("label", mode="before")
    @classmethod
    def _strict_label(cls, v: Any) -> Any:
        # bool is an int subclass and 1.0 == 1: only accept real 0 / 1 integers.
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"label must be the integer 0 or 1, got {v!r}")
        return v


class InputRecord(_Record):
    """One item for the input classifier."""

    text: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="how the item was made (generator-specific)")
    lookalike: bool = False

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is blank")
        return v


class OutputRecord(_Record):
    """One prompt + full response for the streaming output classifier."""

    prompt: str
    response: str = Field(min_length=1)
    kind: Literal["compliant", "refusal", "benign", "public"]
    harm_onset: int | None = Field(default=None, ge=0,
                                   description="character offset where harm starts (label 1 only)")

    @field_validator("response")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("response is blank")
        return v

    @field_validator("harm_onset")
    @classmethod
    def _onset(cls, v: int | None, info: Any) -> int | None:
        if v is None:
            return v
        if info.data.get("label") != 1:
            raise ValueError("harm_onset is only meaningful for label 1")
        resp = info.data.get("response")
        if isinstance(resp, str) and v >= len(resp):
            raise ValueError(f"harm_onset {v} is past the end of the response ({len(resp)} chars)")
        return v


_MODELS: dict[str, type[_Record]] = {"input": InputRecord, "output": OutputRecord}


def _model_for(kind: str) -> type[_Record]:
    try:
        return _MODELS[kind]
    except KeyError:
        raise ValueError(f"kind must be 'input' or 'output', got {kind!r}") from None


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:3]:
        loc = ".".join(str(p) for p in e["loc"]) or "<record>"
        msg = "field required" if e["type"] == "missing" else (
            "unknown field" if e["type"] == "extra_forbidden" else e["msg"])
        parts.append(f"field '{loc}': {msg}")
    more = len(err.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def validate_record(record: Mapping[str, Any], kind: RecordKind, where: str = "<record>") -> dict:
    """Validate one record and return it as a plain dict (fields in schema order).

    Optional fields that are absent (``group``, ``split``) are left out of the result.
    Raises :class:`DataError` naming ``where`` and the offending field.
    """
    model = _model_for(kind)
    if not isinstance(record, Mapping):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    try:
        obj = model.model_validate(dict(record))
    except ValidationError as e:
        raise DataError(f"{where}: invalid {kind} record: {_describe(e)}") from None
    return _dump(obj)


def _dump(obj: _Record) -> dict:
    out = obj.model_dump(mode="json")
    for opt in ("group", "split", "language", "harm_onset"):
        if out.get(opt) is None:
            out.pop(opt, None)
    return out


def read_jsonl(path: str | Path, kind: RecordKind | None = None, *,
               errors: list[DataError] | None = None) -> list[dict]:
    """Read a JSONL file; validate each line as ``kind`` (``"input"``/``"output"``) if given.

    Blank lines are allowed. A malformed line (bad JSON, not an object, schema violation)
    raises :class:`DataError` ``"<file>:<line>: ..."``, unless ``errors`` is a list: then the
    error is appended there, the line is left out of the result, and reading goes on (the
    caller decides what to do with the list; nothing is dropped unreported).
    A missing or unreadable file always raises.
    """
    p = Path(path)
    if kind is not None:
        _model_for(kind)
    try:
        fh = p.open("rb")
    except FileNotFoundError:
        raise DataError(f"{p}: file not found") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read file: {e}") from None
    out: list[dict] = []
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            where = f"{p}:{lineno}"
            try:
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(f"{where}: not valid UTF-8 ({e.reason})") from None
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from None
                if not isinstance(obj, dict):
                    raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
                out.append(validate_record(obj, kind, where) if kind is not None else obj)
            except DataError as e:
                if errors is None:
                    raise
                errors.append(e)
    return out


@contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[str]]:
    """Open a text file for writing such that ``path`` only ever holds complete content.

    Writes go to a unique temporary file in the same folder (normal permissions, umask
    applied), which is flushed, fsynced and renamed over ``path`` when the block succeeds,
    and removed when it raises.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]], *,
                kind: RecordKind | None = None) -> int:
    """Write records as JSONL atomically (temporary file in the same folder, then rename).

    If ``kind`` is given, every record is validated first and the file is not touched when
    one fails. Returns the number of records written.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    rows = list(records)
    if kind is not None:
        rows = [validate_record(r, kind, f"{p}: record {i}") for i, r in enumerate(rows)]
    with atomic_write(p) as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    return len(rows)


def data_file(data_dir: str | Path, kind: RecordKind, split: str) -> Path:
    """Path of one dataset file: ``DATA/{inputs|outputs}.{split}.jsonl``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return Path(data_dir) / f"{'inputs' if _model_for(kind) is InputRecord else 'outputs'}.{split}.jsonl"
