"""Normalisation, deduplication and leak-free train / dev / calib splits.

Stdlib only and linear-time: 100k records split in about a second.

* :func:`normalise` is the one text key used for every duplicate check in the project
  (NFKC, lower case, accents and zero-width characters stripped, runs of non-alphanumerics
  collapsed to one space).
* :func:`dedupe` drops exact duplicates of the normalised key; the *first* record wins, so
  the caller orders records by priority (for instance synthetic before public, or
  human-labelled before model-judged).
* :func:`assign_splits` groups near-duplicates with a union-find over

  a. equal ``group`` values (augmented variants carry their seed's group),
  b. equal normalised text (the key),
  c. equal values of an optional extra key (for instance the text with a wrapper removed),

  and sends each connected component to one split, chosen by a salted hash of the
  component's smallest node name, so the result depends neither on input order nor on
  what other records are present (adding data never moves an existing component).

A record without a ``group`` behaves as if its group were :func:`text_group` of its key, so
an augmented variant whose group was derived from its seed's text (``augment`` does that)
joins the seed even when the seed itself carries no group.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .schema import SPLITS

__all__ = [
    "ZERO_WIDTH",
    "normalise",
    "text_group",
    "input_key",
    "output_key",
    "dedupe",
    "assign_splits",
    "leaks",
    "split_counts",
]

#: Invisible characters removed by :func:`normalise` (zero-width spaces and joiners, word
#: joiner, BOM, soft hyphen, Mongolian vowel separator, invisible math operators).
ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
_ZW_RE = re.compile("[" + ZERO_WIDTH + "]+")
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
#: Combining diacritical marks (the blocks accents decompose into under NFKD).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")

Record = Mapping[str, Any]
KeyFn = Callable[[Record], str]


def normalise(text: str) -> str:
    """Canonical form of ``text`` for duplicate detection.

    NFKC (folds full-width and compatibility forms), zero-width characters removed, case
    folded, accents stripped (NFKD, combining diacritical marks dropped), every run of characters that
    are not letters or digits collapsed to a single space, ends trimmed.

    >>> normalise("  Héllo,\u200b WORLD!! ")
    'hello world'
    """
    if text.isascii():  # fast path: NFKC, zero-width and accent steps are no-ops on ASCII
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    t = _ZW_RE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    if not t.isascii():
        t = _COMBINING.sub("", unicodedata.normalize("NFKD", t))
    return _NON_ALNUM.sub(" ", t).strip()


def _norm_key(text: str) -> str:
    """:func:`normalise`, falling back to the stripped raw text when nothing alphanumeric is
    left (emoji-only or punctuation-only prompts must not all collapse onto one key)."""
    n = normalise(text)
    return n if n else "\x00raw:" + text.strip()


def _sha1(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def text_group(text: str) -> str:
    """The implicit group of a record whose key is ``text``: ``"t:" + sha1(normalised)[:16]``.

    Augmenters give variants ``seed.get("group") or text_group(key(seed))`` so that a variant
    and a group-less seed meet in :func:`assign_splits`.
    """
    return "t:" + _sha1(_norm_key(text))[:16]


def input_key(record: Record) -> str:
    """Default key of input records: the scored ``text``."""
    return record["text"]


def output_key(record: Record) -> str:
    """Default key of output records: the ``prompt`` (all responses to one prompt stay on one
    side); the response when the prompt is empty."""
    prompt = record.get("prompt") or ""
    return prompt if prompt.strip() else record["response"]


def dedupe(records: Sequence[Record], key: KeyFn) -> tuple[list[dict], dict]:
    """Remove records whose normalised key was already seen; the first occurrence wins.

    Returns ``(kept, report)``; ``kept`` holds the surviving records (the same dict objects,
    in input order). ``report``::

        {"total": n_in, "kept": n, "removed": n,
         "label_conflicts": n,   # removed duplicates whose label differs from the winner's
         "by_source": {source: {"total", "kept", "removed",
                                "duplicate_of": {winning source: n}}}}
    """
    seen: dict[str, Record] = {}
    kept: list[dict] = []
    by_source: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"total": 0, "kept": 0, "removed": 0, "duplicate_of": Counter()})
    conflicts = 0
    for r in records:
        src = str(r.get("source", "?"))
        stats = by_source[src]
        stats["total"] += 1
        k = _norm_key(key(r))
        first = seen.get(k)
        if first is None:
            seen[k] = r
            kept.append(r)  # type: ignore[arg-type]
            stats["kept"] += 1
            continue
        stats["removed"] += 1
        stats["duplicate_of"][str(first.get("source", "?"))] += 1
        if "label" in r and r.get("label") != first.get("label"):
            conflicts += 1
    report = {
        "total": len(records),
        "kept": len(kept),
        "removed": len(records) - len(kept),
        "label_conflicts": conflicts,
        "by_source": {s: {**v, "duplicate_of": dict(v["duplicate_of"])}
                      for s, v in sorted(by_source.items())},
    }
    return kept, report


class _UnionFind:
    """Union-find over string nodes with path halving and union by size."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}

    def add(self, x: str) -> None:
        if x not in self.parent:
            self.parent[x] = x
            self.size[x] = 1

    def find(self, x: str) -> str:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    fr = tuple(float(f) for f in fractions)
    if len(fr) != len(SPLITS):
        raise ValueError(f"fractions must have {len(SPLITS)} values for {SPLITS}, got {fr}")
    if any(f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be non-negative and sum to 1, got {fr}")
    return fr


def _bucket(node: str, salt: str, fractions: tuple[float, ...]) -> str:
    h = int(hashlib.sha1(f"{salt}\x00{node}".encode("utf-8")).hexdigest()[:15], 16)
    u = h / float(1 << 60)  # uniform in [0, 1)
    acc = 0.0
    for name, f in zip(SPLITS, fractions):
        acc += f
        if u < acc:
            return name
    return SPLITS[-1]


def assign_splits(records: Sequence[Record], *, key: KeyFn, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                  salt: str = "guard-plugins",
                  extra_key: Callable[[Record], str | None] | None = None) -> list[dict]:
    """Return copies of ``records`` with ``id`` and ``split`` set (input order kept).

    Records are linked when they share a ``group``, a normalised key, or a normalised
    ``extra_key`` value (when given and not None); each connected component lands in one
    split (``train`` / ``dev`` / ``calib`` by ``fractions``), picked by a salted hash of the
    component's smallest node name. Stable across runs and input order.

    ``id`` is ``sha1(source, normalised key)[:16]``; when several records share it (the
    same text with different responses, augmentations or labels) the record's full content
    is mixed in, so ids are unique and still order-independent.
    """
    fr = _check_fractions(fractions)
    uf = _UnionFind()
    nodes_of: list[str] = []
    norm_keys: list[str] = []
    for r in records:
        nk = _norm_key(key(r))
        norm_keys.append(nk)
        tnode = "t:" + _sha1(nk)[:16]
        uf.add(tnode)
        group = r.get("group")
        if group:
            gnode = str(group) if str(group).startswith("t:") else "g:" + str(group)
            uf.add(gnode)
            uf.union(tnode, gnode)
        if extra_key is not None:
            ek = extra_key(r)
            if ek is not None and ek.strip():
                xnode = "t:" + _sha1(_norm_key(ek))[:16]
                uf.add(xnode)
                uf.union(tnode, xnode)
        nodes_of.append(tnode)
    smallest: dict[str, str] = {}
    for node in uf.parent:
        root = uf.find(node)
        cur = smallest.get(root)
        if cur is None or node < cur:
            smallest[root] = node
    split_of_root = {root: _bucket(node, salt, fr) for root, node in smallest.items()}

    out: list[dict] = []
    bases = [_sha1(f"{r.get('source', '')}\x00{nk}")[:16] for r, nk in zip(records, norm_keys)]
    base_ids = Counter(bases)
    used: Counter[str] = Counter()
    for r, base, tnode in zip(records, bases, nodes_of):
        rec = dict(r)
        if base_ids[base] > 1:
            content = repr(sorted((k, repr(v)) for k, v in r.items() if k not in ("id", "split")))
            base = _sha1(f"{base}\x00{content}")[:16]
        used[base] += 1
        rec["id"] = base if used[base] == 1 else f"{base}-{used[base]}"  # identical records
        rec["split"] = split_of_root[uf.find(tnode)]
        out.append(rec)
    return out


def leaks(a: Iterable[Record], b: Iterable[Record], key: KeyFn) -> int:
    """Number of distinct normalised keys present in both ``a`` and ``b``."""
    ka = {_norm_key(key(r)) for r in a}
    return len({_norm_key(key(r)) for r in b} & ka)


def split_counts(records: Iterable[Record]) -> dict[str, dict[str, int]]:
    """``{split: {"total", "label_0", "label_1"}}`` for a quick summary of split records."""
    out: dict[str, dict[str, int]] = {s: {"total": 0, "label_0": 0, "label_1": 0} for s in SPLITS}
    for r in records:
        s = out.setdefault(str(r.get("split")), {"total": 0, "label_0": 0, "label_1": 0})
        s["total"] += 1
        s[f"label_{int(r.get('label', 0))}"] += 1
    return out
