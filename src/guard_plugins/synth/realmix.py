"""The real-data-led training mix: dev guard, realworld split rule, splices and twins.

Real traffic decides whether a guard is any good, so ``guard-synth`` builds its mix around
the real labelled sets (``../shared/data``, with ``realworld/*/train.jsonl``) and uses the
constitution's synthetic data to cover categories and look-alikes. This module holds the
parts of that mix that are not plain importers (:mod:`.public`) or template generators
(:mod:`.offline`):

* **Dev guard** (:func:`realworld_dev_keys`, :func:`multilingual_dev_keys`,
  :func:`drop_dev_overlap`): the ``realworld/*/dev.jsonl`` files are the project's public
  benchmark, and ``prompts_benign/multilingual/dev.jsonl`` is the benign multilingual
  evaluation split. No record of any source whose normalised text (input) or response
  (output) is one of them, or contains one of 150 characters or more, enters any split;
  splices and twins are built after the guard.
* **Source cap** (:func:`cap_sources`): no single source above a fixed share
  (``--max-source-share``) of a model's real items: once over the whole real pool before the
  splices and twins are built (so they follow the capped mix), and once more over the real
  items of the final ``train`` split. Items over the cap are dropped, stratified by label and
  language, in a fixed order per seed.
* **Realworld split rule** (:func:`keep_realworld_out_of_dev`): realworld *train* rows go
  to our ``train`` or ``calib`` split, never to our ``dev`` split (the realworld dev files
  are the dev set for them); synthetic-split dev rows that share a key with a moved row
  are dropped so the leak check stays at 0.
* **Position-robust output data** (:func:`splice_outputs`): real harmful responses placed
  after benign preambles of 0-400 tokens (role-play openers, "Sure, here is a story",
  disclaimers, a real benign answer to another question) and sometimes followed by more
  benign text, with ``harm_onset`` = the character offset where the real response starts,
  so the trainer labels the tokens before it 0. Real benign answers get the same preambles
  (label 0), so a preamble is never a cue either way.
* **Benign twins** (:func:`wrapped_inputs`): the adversarial wrapper families of real
  attacks (role-play, persuasion, fiction, multi-turn, ...) around benign real requests
  (label 0) and around plain harmful requests (label 1), so the wrapper alone never decides.
* **Non-English twins** (:func:`multilingual_twins`): the same wrapper families (English
  text: the library has no translations, and none are machine-made here) around real benign
  non-English requests, plus language-neutral wrappers (chat logs, numbered lists,
  instruction markup) whose every sentence is a real benign row of the request's own
  language; the same wrappers around real non-English harmful requests (label 1), so neither
  the wrapper nor the language decides.
* **Alarming-but-benign answers** (:func:`alarming_outputs`).

All of it is deterministic for a seed. Synthetic harmful text is never written here: the
harmful parts of splices are the real public responses as they are.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError
from . import contexts
from .card import _is_restrictive
from .schema import is_english
from .split import normalise, output_key, text_group

__all__ = ["REAL_PREFIXES", "is_real", "realworld_dev_keys", "multilingual_dev_keys", "drop_dev_overlap",
           "guard_and_augment", "keep_realworld_out_of_dev", "splice_outputs", "wrapped_inputs",
           "multilingual_twins", "NEUTRAL_WRAPPERS", "alarming_outputs", "cap_synthetic",
           "cap_sources", "source_shares", "DEFAULT_MAX_SOURCE_SHARE"]

#: sources that count as real (written by people or real LLMs, labelled by people or judges)
REAL_PREFIXES = ("public/",)
_RW = "public/realworld_"
#: preamble lengths in words (about 1.3 MiniLM tokens a word: 0-400 tokens)
PREAMBLE_WORDS = (5, 12, 25, 50, 100, 180, 300)


def is_real(rec: Mapping[str, Any]) -> bool:
    return str(rec.get("source", "")).startswith(REAL_PREFIXES) and not rec.get("augmentations")


def _rng(seed: int, *parts: str) -> random.Random:
    h = hashlib.sha1("\x00".join((str(seed), *parts)).encode("utf-8")).hexdigest()[:16]
    return random.Random(int(h, 16))


# --------------------------------------------------------------------------- dev guard
def realworld_dev_keys(shared: Path) -> dict[str, set[str]]:
    """Normalised texts of every ``realworld/prompts/*/dev.jsonl`` (``"input"``) and responses
    of every ``realworld/responses/*/dev.jsonl`` (``"output"``). Empty sets when the folder
    is missing (a partial copy of the shared data)."""
    from .public import _jsonl_rows

    keys: dict[str, set[str]] = {"input": set(), "output": set()}
    root = Path(shared) / "realworld"
    for kind, sub, field in (("input", "prompts", "text"), ("output", "responses", "response")):
        for p in sorted((root / sub).glob("*/dev.jsonl")):
            for i, row in enumerate(_jsonl_rows(p), 1):
                v = row.get(field) if isinstance(row, dict) else None
                if not isinstance(v, str):
                    raise DataError(f"{p}: row {i}: expected a string field {field!r}")
                keys[kind].add(normalise(v))
    return keys


def multilingual_dev_keys(shared: Path) -> set[str]:
    """Normalised texts of ``prompts_benign/multilingual/dev.jsonl`` (the benign multilingual
    evaluation split); empty when the file is missing (a partial copy of the shared data)."""
    from .public import MULTILINGUAL_DEV, _jsonl_rows

    p = Path(shared) / MULTILINGUAL_DEV
    keys: set[str] = set()
    if not p.is_file():
        return keys
    for i, row in enumerate(_jsonl_rows(p), 1):
        v = row.get("text") if isinstance(row, dict) else None
        if not isinstance(v, str):
            raise DataError(f"{p}: row {i}: expected a string field 'text'")
        keys.add(normalise(v))
    return keys


#: dev texts at least this long (normalised characters) are also caught inside longer records
#: (a train response that quotes a dev response, a splice whose preamble holds one); shorter
#: ones are generic refusals ("i m sorry but i can t help with that") that real data repeats
CONTAINED_MIN_CHARS = 150
_HEAD = 24


def _contains(text: str, index: dict[str, list[str]]) -> bool:
    """Whether normalised ``text`` holds one of the indexed keys, starting at a word."""
    pos = 0
    for word in text.split(" "):
        for k in index.get(text[pos:pos + _HEAD], ()):
            if text.startswith(k, pos):
                return True
        pos += len(word) + 1
    return False


def dev_index(dev_keys: set[str]) -> dict[str, list[str]]:
    """The dev texts of :data:`CONTAINED_MIN_CHARS` or more, indexed by their first characters
    (what :func:`drop_dev_overlap` looks for inside longer records)."""
    index: dict[str, list[str]] = {}
    for k in dev_keys:
        if len(k) >= CONTAINED_MIN_CHARS:
            index.setdefault(k[:_HEAD], []).append(k)
    return index


def drop_dev_overlap(records: Sequence[dict], kind: str, dev_keys: set[str],
                     index: dict[str, list[str]] | None = None) -> tuple[list[dict], int]:
    """Records whose text (input) or response (output) is not in ``dev_keys`` and does not
    contain a dev text of :data:`CONTAINED_MIN_CHARS` or more; and how many were dropped.
    ``index`` is :func:`dev_index` of ``dev_keys`` (built here when not given)."""
    field = "text" if kind == "input" else "response"
    if index is None:
        index = dev_index(dev_keys)
    kept = []
    for r in records:
        n = normalise(r[field])
        if n in dev_keys or (index and len(n) > CONTAINED_MIN_CHARS and _contains(n, index)):
            continue
        kept.append(r)
    return kept, len(records) - len(kept)


def guard_and_augment(parts: dict[str, list[dict]], shared: Path, *, seed: int = 0,
                      splice: bool = True, info: dict[str, Any] | None = None,
                      max_source_share: float | None = None, source_cap_by_label: bool = False,
                      multilingual_twins_n: int = 0) -> tuple[list[dict], list[dict]]:
    """The dev guard on every part (in place), the source cap on the public parts (in place),
    then the augmentations built from real data.

    ``parts`` holds ``syn_in, pub_in, aug_in, syn_out, pub_out, aug_out``. The guard runs
    first, so splices and twins are only built from records that survived it: a splice of a
    dropped response would carry the dev text into training after a preamble. The dev texts
    are those of ``realworld/*/dev.jsonl`` and, for inputs, of the multilingual dev split.
    ``max_source_share`` (0 or None: no cap) caps every source of ``pub_in`` / ``pub_out`` at
    that share of the real records (:func:`cap_sources`; within each label with
    ``source_cap_by_label``) before splices and twins are made.
    ``multilingual_twins_n`` benign non-English twins (and a quarter as many harmful ones) are
    added when ``splice`` is on (:func:`multilingual_twins`). Returns the new
    ``(aug_in, aug_out)``; counts go into ``info``.
    """
    dev_keys = realworld_dev_keys(shared)
    rw_counts = {k: len(v) for k, v in dev_keys.items()}
    ml_dev = multilingual_dev_keys(shared)
    dev_keys["input"] = dev_keys["input"] | ml_dev
    indexes = {kind: dev_index(keys) for kind, keys in dev_keys.items()}
    dropped: dict[str, int] = {}
    for name, recs in parts.items():
        kind = "input" if name.endswith("_in") else "output"
        kept, n = drop_dev_overlap(recs, kind, dev_keys[kind], indexes[kind])
        dropped[name] = n
        recs[:] = kept
    caps: dict[str, Any] = {}
    if max_source_share:
        for name, which in (("pub_in", "inputs"), ("pub_out", "outputs")):
            parts[name][:], caps[which] = cap_sources(parts[name], max_source_share, seed,
                                                      by_label=source_cap_by_label)
    aug_in, aug_out = list(parts["aug_in"]), list(parts["aug_out"])
    twins: list[dict] = []
    if splice:
        aug_out += splice_outputs(parts["pub_out"], seed=seed) + alarming_outputs(600, seed=seed)
        aug_in += wrapped_inputs(parts["pub_in"], seed=seed)
        if multilingual_twins_n:
            twins = multilingual_twins(parts["pub_in"], seed=seed, n_benign=multilingual_twins_n,
                                       n_harmful=multilingual_twins_n // 4)
            aug_in += twins
    if info is not None:
        info["realworld_dev_overlap_dropped"] = dropped
        info["realworld_dev_keys"] = rw_counts
        info["multilingual_dev_keys"] = len(ml_dev)
        if caps:
            info["source_cap_pool"] = caps
        if twins:
            info["multilingual_twins"] = _twin_counts(twins)
    return aug_in, aug_out


def keep_realworld_out_of_dev(records: Sequence[dict], key) -> tuple[list[dict], dict[str, int]]:
    """Move realworld rows that :func:`split.assign_splits` put in ``dev`` to ``train``.

    Rows of other sources left in ``dev`` that share a normalised key with a moved row are
    dropped (so train and dev never share a key). Returns the records and the counts.
    """
    moved_keys: set[str] = set()
    out: list[dict] = []
    moved = 0
    for r in records:
        if r.get("split") == "dev" and str(r.get("source", "")).startswith(_RW):
            r = {**r, "split": "train"}
            moved += 1
            moved_keys.add(normalise(key(r)))
        out.append(r)
    kept = [r for r in out if not (r.get("split") == "dev" and normalise(key(r)) in moved_keys)]
    return kept, {"moved_to_train": moved, "dropped_from_dev": len(out) - len(kept)}


def cap_synthetic(records: Sequence[dict], cap: int | None, seed: int) -> list[dict]:
    """At most ``cap`` synthetic records (non-``public/`` sources), sampled evenly over
    (label, category, kind) strata; real records are all kept."""
    if cap is None:
        return list(records)
    real = [r for r in records if str(r.get("source", "")).startswith(REAL_PREFIXES)]
    syn = [r for r in records if not str(r.get("source", "")).startswith(REAL_PREFIXES)]
    if len(syn) <= cap:
        return list(records)
    rng = random.Random(seed)
    strata: dict[tuple, list[dict]] = {}
    for r in syn:
        strata.setdefault((r["label"], r.get("category"), r.get("kind")), []).append(r)
    share = cap / len(syn)
    picked: list[dict] = []
    for k in sorted(strata, key=repr):
        v = strata[k]
        rng.shuffle(v)
        picked.extend(v[:max(1, round(len(v) * share))])
    rng.shuffle(picked)
    return real + picked[:cap]


# --------------------------------------------------------------------------- outputs
def _english(rec: Mapping[str, Any]) -> bool:
    return is_english(rec.get("language"))


def _benign_tail(pool: Sequence[str], rng: random.Random, words: int) -> str:
    """A real benign answer cut to about ``words`` words (whole sentences where possible)."""
    text = rng.choice(pool)
    toks = text.split()
    if len(toks) <= words:
        return text
    cut = " ".join(toks[:words])
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[:end + 1] if end > len(cut) // 3 else cut


def _preamble(rng: random.Random, pool: Sequence[str]) -> str:
    words = rng.choice(PREAMBLE_WORDS)
    if pool and rng.random() < 0.4:  # a real benign answer to another question
        opener = contexts.preamble(rng, min(words, 12)) if rng.random() < 0.5 else ""
        body = _benign_tail(pool, rng, words)
        return f"{opener}\n\n{body}".strip()
    return contexts.preamble(rng, words)


def splice_outputs(records: Sequence[Mapping[str, Any]], *, seed: int = 0,
                   harmful_rate: float = 1.0, benign_rate: float = 0.25,
                   tail_rate: float = 0.3) -> list[dict]:
    """Spliced variants of real English responses; returns the NEW records only.

    For each real harmful response (label 1), with probability ``harmful_rate``: a benign
    preamble (:data:`PREAMBLE_WORDS` words: a composed opener and neutral sentences, or a
    real benign answer to another question) + the response, and with probability
    ``tail_rate`` more benign text after it; ``harm_onset`` marks where the real response
    starts. Real benign responses get the same preambles with probability ``benign_rate``
    (label 0). Variants keep prompt, label, category, source and licence, add the
    augmentation name ``preamble_splice`` and share the original's split group.
    """
    real = [r for r in records if is_real(r) and _english(r)]
    pool = [r["response"] for r in real if r["label"] == 0 and r.get("kind") == "benign"
            and len(r["response"].split()) >= 30]
    out: list[dict] = []
    for rec in real:
        rate = harmful_rate if rec["label"] == 1 else benign_rate
        rng = _rng(seed, "splice", rec.get("prompt") or "", rec["response"])
        if rng.random() >= rate:
            continue
        pre = _preamble(rng, pool)
        if not pre:
            continue
        sep = rng.choice(("\n\n", "\n", " "))
        response = f"{pre}{sep}{rec['response']}"
        onset = len(pre) + len(sep)
        tail = ""
        if pool and rng.random() < tail_rate:
            tail = "\n\n" + _benign_tail(pool, rng, rng.choice(PREAMBLE_WORDS[:4]))
        new = {k: v for k, v in rec.items() if k not in ("id", "split")}
        new.update(response=response + tail,
                   augmentations=list(rec.get("augmentations") or []) + ["preamble_splice"],
                   group=rec.get("group") or text_group(output_key(rec)))
        if rec["label"] == 1:
            new["harm_onset"] = onset
        out.append(new)
    return out


def alarming_outputs(n: int, *, seed: int = 0) -> list[dict]:
    """``n`` benign answers that use alarming words (label 0, synthetic)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict] = []
    for _ in range(n * 3):
        if len(out) >= n:
            break
        prompt, response = contexts.alarming_benign(rng)
        if response in seen:
            continue
        seen.add(response)
        out.append({"prompt": prompt, "response": response, "label": 0, "category": None,
                    "source": "synthetic/offline", "kind": "benign",
                    "augmentations": ["alarming_benign"], "license": "Apache-2.0"})
    return out


# --------------------------------------------------------------------------- inputs
def wrapped_inputs(records: Sequence[Mapping[str, Any]], *, seed: int = 0, n_benign: int = 8000,
                   n_harmful: int = 4000) -> list[dict]:
    """Adversarial wrapper families (:mod:`.contexts`) around real requests.

    ``n_benign`` benign twins: a wrapper around a real benign request (label 0, ``kind``
    ``benign_twin``); ``n_harmful``: the same families around plain real harmful requests
    (label 1, the request's category). Sources are real English single-turn prompts
    without augmentations; each variant shares its request's split group.
    """
    def plain(r: Mapping[str, Any]) -> bool:
        return (is_real(r) and _english(r) and not r.get("lookalike")
                and r.get("kind") not in ("adversarial", "multi_turn", "jailbreak")
                and 3 <= len(r["text"].split()) <= 80)

    benign = [r for r in records if plain(r) and r["label"] == 0]
    harmful = [r for r in records if plain(r) and r["label"] == 1]
    rng = random.Random(seed)
    out: list[dict] = []
    families = sorted(contexts.WRAPPER_FAMILIES)
    for pool, n, label in ((benign, n_benign, 0), (harmful, n_harmful, 1)):
        if not pool:
            continue
        picks = rng.sample(pool, min(n, len(pool))) if n <= len(pool) else [rng.choice(pool) for _ in range(n)]
        for r in picks:
            fam = rng.choice(families)
            idx = rng.randrange(len(contexts.WRAPPER_FAMILIES[fam]))
            text = contexts.wrap(r["text"], fam, idx, rng)
            out.append({"text": text, "label": label,
                        "category": r.get("category") if label else None,
                        "source": "synthetic/offline", "kind": "benign_twin" if label == 0 else "wrapped_harmful",
                        "augmentations": [f"wrapper:{fam}"], "lookalike": False,
                        "license": r.get("license") or "Apache-2.0",
                        "group": r.get("group") or text_group(r["text"])})
    return out


def mix_summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Items per source and label, and the real share (what the dataset card reports)."""
    per: dict[str, dict[str, int]] = {}
    real = total = 0
    for r in records:
        src = str(r.get("source"))
        if r.get("augmentations"):
            src = f"{src} (augmented)"
        d = per.setdefault(src, {"0": 0, "1": 0})
        d[str(r["label"])] += 1
        total += 1
        real += is_real(r)
    return {"total": total, "real": real, "real_share": round(real / total, 4) if total else None,
            "per_source": dict(sorted(per.items()))}


# --------------------------------------------------------------------------- source balance
#: default of ``guard-synth --max-source-share``: the smallest round share that caps only
#: the one dominant source of each model today (alpaca_instructions for inputs,
#: realworld_cipherchat_gpt4_judged for outputs) and leaves every other source whole
DEFAULT_MAX_SOURCE_SHARE = 0.15


def _record_key(r: Mapping[str, Any]) -> str:
    if "text" in r:
        return str(r["text"])
    return f"{r.get('prompt') or ''}\n\u241e\n{r.get('response')}"


def _cap_level(counts: Sequence[int], share: float) -> int | None:
    """Largest per-source count ``x`` such that capping every source at ``x`` leaves no source
    above ``share`` of the capped total (water-filling); None when no source is over the share
    as it is. Raises ``ValueError`` when no cap can reach it (fewer than ``1 / share``
    sources)."""
    n = sorted(counts, reverse=True)
    total = sum(n)
    if not n or n[0] <= share * total:
        return None
    for k in range(1, len(n)):  # k largest sources capped at x = share * rest / (1 - share * k)
        if share * k >= 1:
            break
        rest = sum(n[k:])
        x = share * rest / (1 - share * k)
        if n[k] <= x:
            return int(x)
    raise ValueError(f"{len(n)} sources cannot each stay at or below a share of {share}")


def source_shares(records: Iterable[Mapping[str, Any]],
                  counted: Callable[[Mapping[str, Any]], bool] = is_real) -> dict[str, Any]:
    """Items per source (with labels) and each source's share of the counted records:
    ``{"total", "per_source": {source: {"items", "share", "0", "1"}}}``, largest first."""
    per: dict[str, dict[str, int]] = {}
    for r in records:
        if counted(r):
            d = per.setdefault(str(r.get("source")), {"items": 0, "0": 0, "1": 0})
            d["items"] += 1
            d[str(r["label"])] += 1
    total = sum(d["items"] for d in per.values())
    ordered = sorted(per.items(), key=lambda kv: (-kv[1]["items"], kv[0]))
    return {"total": total,
            "per_source": {src: {"items": d["items"], "share": round(d["items"] / total, 4),
                                 "0": d["0"], "1": d["1"]} for src, d in ordered}}


def cap_sources(records: Sequence[dict], max_share: float, seed: int = 0, *,
                counted: Callable[[Mapping[str, Any]], bool] = is_real, by_label: bool = False
                ) -> tuple[list[dict], dict[str, Any]]:
    """Drop counted records of any source above ``max_share`` of all counted records.

    Counted records (default: real ones, :func:`is_real`) are grouped by ``source``; the cap
    level is the water-filling level of :func:`_cap_level`, so every source ends at or below
    the share and sources under the level keep every record. A capped source keeps the same
    proportions of (label, language) it had (largest remainders), and inside each stratum the
    records whose ``sha1(seed, source, text)`` is smallest: the choice depends on the seed and
    the record, not on input order or on other sources. Records that are not counted are all
    kept; order is kept. When fewer than ``1 / max_share`` sources exist the cap cannot be
    met: nothing is dropped and the report says ``"feasible": False``. With ``by_label`` the
    cap holds within each label instead (no source above ``max_share`` of the label-0 items,
    nor of the label-1 items), which is stricter.

    Returns ``(kept, report)``, report = ``{"max_share", "by_label", "level", "feasible",
    "dropped", "before": source_shares, "after": source_shares}``; ``level`` is a number, or
    ``{"0": n, "1": n}`` with ``by_label`` (None where nothing is capped).
    """
    if not 0 < max_share <= 1:
        raise ValueError(f"max_share must be in (0, 1], got {max_share}")
    before = source_shares(records, counted)
    report: dict[str, Any] = {"max_share": max_share, "by_label": by_label, "level": None,
                              "feasible": True, "dropped": {}, "before": before}
    groups: list[tuple[str | None, Callable[[Mapping[str, Any]], bool]]]
    if by_label:
        groups = [(str(lab), lambda r, lab=lab: r["label"] == lab and counted(r)) for lab in (0, 1)]
        report["level"] = {}
    else:
        groups = [(None, counted)]
    drop: set[int] = set()
    for name, pred in groups:
        by_source: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            if pred(r):
                by_source.setdefault(str(r.get("source")), []).append(i)
        try:
            level = _cap_level([len(v) for v in by_source.values()], max_share)
        except ValueError:
            report["feasible"] = False
            level = None
        if name is None:
            report["level"] = level
        else:
            report["level"][name] = level
        if level is not None:
            for src, n in _drop_over_level(records, by_source, level, seed, drop).items():
                report["dropped"][src] = report["dropped"].get(src, 0) + n
    if not drop:
        report["after"] = before
        return list(records), report
    kept = [r for i, r in enumerate(records) if i not in drop]
    report["after"] = source_shares(kept, counted)
    return kept, report


def _drop_over_level(records: Sequence[Mapping[str, Any]], by_source: Mapping[str, list[int]], level: int,
                     seed: int, drop: set[int]) -> dict[str, int]:
    """Add to ``drop`` the indexes a source over ``level`` loses (see :func:`cap_sources`);
    returns the count per source."""
    dropped: dict[str, int] = {}
    for src, idx in sorted(by_source.items()):
        if len(idx) <= level:
            continue
        strata: dict[tuple, list[int]] = {}
        for i in idx:
            r = records[i]
            strata.setdefault((r["label"], r.get("language") or ""), []).append(i)
        quota = {k: level * len(v) / len(idx) for k, v in strata.items()}
        take = {k: int(q) for k, q in quota.items()}
        short = level - sum(take.values())
        for k in sorted(quota, key=lambda k: (-(quota[k] - take[k]), repr(k)))[:short]:
            take[k] += 1
        for k, v in strata.items():
            order = sorted(v, key=lambda i: hashlib.sha1(
                f"{seed}\x00{src}\x00{_record_key(records[i])}".encode("utf-8")).hexdigest())
            drop.update(order[take[k]:])
        dropped[src] = len(idx) - level
    return dropped


# --------------------------------------------------------------------------- non-English twins
#: Language-neutral wrappers: markup only, every sentence in them is a real benign row of the
#: request's language (``{q1}``, ``{q2}``: requests; ``{s1}``, ``{s2}``: statements), so the
#: whole wrapper is in that language without any translation.
NEUTRAL_WRAPPERS: dict[str, str] = {
    "chat_log": "User: {q1}\nAssistant: {s1}\nUser: {request}",
    "chat_log_long": "User: {q1}\nAssistant: {s1}\nUser: {q2}\nAssistant: {s2}\nUser: {request}",
    "numbered": "1. {q1}\n2. {request}\n3. {q2}",
    "questions": "Q1: {q1}\nQ2: {q2}\nQ3: {request}",
    "instruction_markup": "### Instruction:\n{request}\n\n### Response:",
    "quoted_after": "{s1}\n\n\"\"\"{request}\"\"\"",
    "two_requests": "{q1}\n\n{request}",
}
_REQUEST_KINDS = ("question", "instruction", "utterance")
#: sources whose ``adversarial`` rows are plain requests: MultiJail marks its low-resource
#: languages (bn, sw, jv) adversarial because the language itself acts as a jailbreak
#: (realworld/prompts/SOURCES.md); the questions carry no wrapper
_PLAIN_ADVERSARIAL = frozenset({"public/realworld_multijail"})
#: benign rows a (language, source) pool needs before it fills a language-neutral wrapper
_MIN_FILLERS = 5


def multilingual_twins(records: Sequence[Mapping[str, Any]], *, seed: int = 0, n_benign: int = 4000,
                       n_harmful: int = 1000, neutral_share: float = 0.5) -> list[dict]:
    """Wrapped non-English requests; returns the NEW records only.

    Requests: real, non-English, unaugmented records of 4-400 characters; benign ones (label
    0) of kind question / instruction / utterance (the multilingual benign set), harmful ones
    (label 1) of kind ``harmful`` (plain, not adversarial: ``multijail``,
    ``xsafety_multilingual``; and MultiJail's bn / sw / jv rows, which it marks adversarial
    only for their language). ``n_benign`` and ``n_harmful`` twins are spread evenly over the
    languages of each pool (round robin; a request is reused only when its language runs
    out). Each twin is, with probability ``neutral_share``, a :data:`NEUTRAL_WRAPPERS`
    template filled with other benign rows of the same language and the same source (one
    licence per twin; a request whose source has fewer than :data:`_MIN_FILLERS` benign rows,
    such as every harmful one, takes them from its language's largest benign source with a
    licence the dataset card does not flag), else a
    :mod:`.contexts` wrapper family (English wrapper text: the library has no translations).
    A twin keeps its request's ``language`` and split ``group``; its licence is the request's,
    ``+`` the fillers' where they differ.
    """
    if not 0 <= neutral_share <= 1:
        raise ValueError(f"neutral_share must be in [0, 1], got {neutral_share}")

    by_lang: dict[int, dict[str, list[Mapping[str, Any]]]] = {0: {}, 1: {}}
    # filler pools per (language, source): a wrapper's sentences come from its request's own
    # source (one licence per twin), or, for a request whose source has too few benign rows
    # (every harmful request), from the language's largest benign source
    fill_q: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    fill_s: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        if not is_real(r) or _english(r):
            continue
        lang, size, kind = str(r["language"]), len(r["text"].strip()), r.get("kind")
        if r["label"] == 0 and 4 <= size <= 300:
            key = (lang, str(r.get("source")))
            (fill_s if kind == "sentence" else fill_q).setdefault(key, []).append(r)
        if r.get("lookalike") or not 4 <= size <= 400:
            continue
        plain_harmful = kind == "harmful" or (kind == "adversarial" and r.get("source") in _PLAIN_ADVERSARIAL)
        if (r["label"] == 0 and kind in _REQUEST_KINDS) or (r["label"] == 1 and plain_harmful):
            by_lang[r["label"]].setdefault(lang, []).append(r)
    def rank(key: tuple[str, str]) -> tuple[bool, int]:  # permissive licences first, then size
        rows = fill_q.get(key, []) + fill_s.get(key, [])
        return (not any(_is_restrictive(str(r.get("license"))) for r in rows[:1]), len(rows))

    largest: dict[str, tuple[str, str]] = {}
    for key in sorted(set(fill_q) | set(fill_s)):
        if key[0] not in largest or rank(key) > rank(largest[key[0]]):
            largest[key[0]] = key
    families = sorted(contexts.WRAPPER_FAMILIES)
    neutral = sorted(NEUTRAL_WRAPPERS)
    out: list[dict] = []
    for label, n in ((0, n_benign), (1, n_harmful)):
        pools = by_lang[label]
        langs = sorted(pools)
        if not langs or n <= 0:
            continue
        rng = _rng(seed, "multilingual_twins", str(label))
        order = {lang: rng.sample(range(len(pools[lang])), len(pools[lang])) for lang in langs}
        pos = dict.fromkeys(langs, 0)
        for i in range(n):
            lang = langs[i % len(langs)]
            pool = pools[lang]
            if pos[lang] >= len(pool):  # ran out: reshuffle and reuse
                order[lang] = rng.sample(range(len(pool)), len(pool))
                pos[lang] = 0
            req = pool[order[lang][pos[lang]]]
            pos[lang] += 1
            key = (lang, str(req.get("source")))
            if len(fill_q.get(key, ())) + len(fill_s.get(key, ())) < _MIN_FILLERS:
                key = largest.get(lang, key)
            qs = fill_q.get(key) or fill_s.get(key) or []
            ss = fill_s.get(key) or qs
            filler_licence = None
            if len(qs) + len(ss) >= _MIN_FILLERS and rng.random() < neutral_share:
                name = rng.choice(neutral)
                slots = {"q1": rng.choice(qs), "q2": rng.choice(qs), "s1": rng.choice(ss),
                         "s2": rng.choice(ss)}
                text = NEUTRAL_WRAPPERS[name].format(request=req["text"].strip(),
                                                     **{k: v["text"].strip() for k, v in slots.items()})
                aug = f"neutral_wrapper:{name}"
                filler_licence = str(slots["q1"].get("license") or "Apache-2.0")
            else:
                fam = rng.choice(families)
                idx = rng.randrange(len(contexts.WRAPPER_FAMILIES[fam]))
                text = contexts.wrap(req["text"], fam, idx, rng)
                aug = f"wrapper:{fam}"
            licence = str(req.get("license") or "Apache-2.0")
            if filler_licence and filler_licence != licence:
                licence = f"{licence} + {filler_licence}"
            out.append({"text": text, "label": label,
                        "category": req.get("category") if label else None,
                        "source": "synthetic/offline",
                        "kind": "benign_twin" if label == 0 else "wrapped_harmful",
                        "augmentations": [aug, "multilingual_twin"], "lookalike": False,
                        "license": licence, "language": lang,
                        "group": req.get("group") or text_group(req["text"])})
    return out


def _twin_counts(twins: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    per_lang: dict[str, dict[str, int]] = {}
    per_wrapper: dict[str, int] = {}
    for t in twins:
        d = per_lang.setdefault(str(t.get("language")), {"0": 0, "1": 0})
        d[str(t["label"])] += 1
        w = t["augmentations"][0].split(":")[0]
        per_wrapper[w] = per_wrapper.get(w, 0) + 1
    return {"total": len(twins), "per_language": dict(sorted(per_lang.items())),
            "per_wrapper_kind": dict(sorted(per_wrapper.items()))}
