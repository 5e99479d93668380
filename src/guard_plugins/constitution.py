"""The constitution: what must be blocked (restricted) and what must pass (permitted).

A constitution is a YAML file validated with pydantic. Loading a broken file raises
:class:`~guard_plugins.errors.ConstitutionError` naming the file, the field and what was
expected. :meth:`Constitution.content_hash` is a stable hash of the semantic content (not
of the YAML formatting) that goes into every dataset card and model manifest.

Format (see ``constitutions/default.yaml``)::

    name: my-constitution
    version: "1.0"
    principles: |
      Free text: what the guard is for.
    restricted:
      - id: cbrne                     # lower-case slug, unique across the file
        title: Indiscriminate weapons
        description: What is in and what is out, in plain words.
        examples: ["a short seed request", ...]   # at least one
        severity: critical            # optional: low | medium | high | critical
        notes: optional free text
        topics: [optional, noun phrases]  # optional, used by the offline generator
    permitted:
      - id: chemistry_education
        ...
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConstitutionError

DEFAULT_CONSTITUTION = "default"

Severity = Literal["low", "medium", "high", "critical"]


class Category(BaseModel):
    """One restricted or permitted category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="lower-case slug")
    title: str = Field(min_length=1)
    description: str = Field(min_length=10)
    examples: tuple[str, ...] = Field(min_length=1)
    severity: Severity | None = None
    notes: str | None = None
    topics: tuple[str, ...] = ()

    @field_validator("examples", "topics")
    @classmethod
    def _non_empty_strings(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, s in enumerate(v):
            if not isinstance(s, str) or not s.strip():
                raise ValueError(f"item {i} must be a non-empty string")
        return tuple(s.strip() for s in v)


class Constitution(BaseModel):
    """A validated constitution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    principles: str = Field(min_length=1)
    restricted: tuple[Category, ...] = Field(min_length=1)
    permitted: tuple[Category, ...] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_str(cls, v: object) -> object:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _unique_ids(self) -> "Constitution":
        seen: set[str] = set()
        for group in ("restricted", "permitted"):
            for i, c in enumerate(getattr(self, group)):
                if c.id in seen:
                    raise ValueError(f"{group}.{i}.id: duplicate category id {c.id!r}")
                seen.add(c.id)
        return self

    # -- accessors ---------------------------------------------------------------------
    @property
    def categories(self) -> tuple[Category, ...]:
        return self.restricted + self.permitted

    @property
    def restricted_ids(self) -> list[str]:
        return [c.id for c in self.restricted]

    @property
    def permitted_ids(self) -> list[str]:
        return [c.id for c in self.permitted]

    def category(self, category_id: str) -> Category:
        for c in self.categories:
            if c.id == category_id:
                return c
        raise KeyError(category_id)

    def is_restricted(self, category_id: str) -> bool:
        return category_id in self.restricted_ids

    # -- identity ----------------------------------------------------------------------
    def canonical_json(self) -> str:
        """Sorted-key JSON of the content: the input of :meth:`content_hash`."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))

    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical content; YAML formatting does not change it."""
        return "sha256:" + hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def summary(self) -> dict:
        return {"name": self.name, "version": self.version, "hash": self.content_hash(),
                "restricted": self.restricted_ids, "permitted": self.permitted_ids}


def _format_validation_error(err: ValidationError, source: str) -> ConstitutionError:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "<top level>"
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "field required"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field (allowed: see guard_plugins.constitution docs)"
    more = len(err.errors()) - 1
    tail = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
    return ConstitutionError(f"{source}: field '{loc}': {msg}{tail}", path=source, field=loc)


def parse_constitution(data: object, source: str = "<constitution>") -> Constitution:
    """Validate an already-parsed mapping."""
    if not isinstance(data, dict):
        raise ConstitutionError(
            f"{source}: expected a mapping with fields name, version, principles, restricted, "
            f"permitted at the top level, got {type(data).__name__}", path=source, field="<top level>")
    try:
        return Constitution.model_validate(data)
    except ValidationError as e:
        raise _format_validation_error(e, source) from None


def default_constitution_path() -> Path:
    return Path(str(resources.files("guard_plugins") / "constitutions" / "default.yaml"))


def load_constitution(path: str | Path | None = None) -> Constitution:
    """Load and validate a constitution; ``None`` or ``"default"`` gives the shipped one."""
    if path is None or str(path) == DEFAULT_CONSTITUTION:
        path = default_constitution_path()
    p = Path(path)
    source = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConstitutionError(f"{source}: file not found", path=source) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConstitutionError(f"{source}: cannot read file: {e}", path=source) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConstitutionError(f"{source}: invalid YAML{where}: {getattr(e, 'problem', e)}",
                                path=source) from None
    return parse_constitution(data, source)
