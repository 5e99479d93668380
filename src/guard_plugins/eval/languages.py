"""The ``languages`` part of the suite: how the input guard treats text that is not English.

Four measures, all on the input guard:

* :func:`benign_fpr_by_language`: the benign multilingual dev split
  (``prompts_benign/multilingual/dev.jsonl``, every row label 0, field ``lang``): FPR per
  language and pooled, with the share per ``kind`` (question, sentence, ...) and the category
  the flagged rows get most often;
* :func:`recall_by_language`: recall per language on harmful multilingual real-world dev
  splits (``realworld/prompts/{multijail,xsafety_multilingual}/dev.jsonl``, field
  ``language``; xsafety's ``sp`` is Spanish, ``es``), per set and pooled over both;
* :func:`twin_audit`: the **language-twin audit**. Rows that say the same benign thing in
  several languages form a twin group; a good guard flags none of a group (flagging one
  language and not another is a language effect, not a content effect). Groups come from a
  link field (:data:`TWIN_FIELDS`: ``twin_id``, ``parallel_id`` or ``index_id``) when the rows
  carry one. The shared dev split carries none (its rows have only ``text``, ``label``,
  ``lang``, ``source``, ``kind``, ``licence``, and it is split by the hash of each text, so
  parallel rows are scattered over train and dev); then twins are **approximated**: rows of
  the same parallel source (:data:`PARALLEL_SOURCES`) in different languages whose numbers
  (any script's digits, separators dropped) are the same, and distinctive (two or more
  numbers, or one of 4+ digits that is not a year 1000-2099: a year or a short number alone
  links unrelated sentences), and unique within their language and source. The result says which
  method made the groups (``method``) and lists every group's texts, so a reader can check
  them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import metrics as M
from ..errors import DataError
from .data import EvalData, EvalRecord, read_eval_file
from .evaluate import EvalResult, GuardLike, ItemResult, evaluate
from .rows import sample_records

__all__ = ["LANG_ALIASES", "TWIN_FIELDS", "PARALLEL_SOURCES", "RECALL_SETS", "norm_lang",
           "benign_fpr_by_language", "recall_by_language", "ranking_by_language", "twin_groups",
           "twin_audit", "run_languages"]

#: Language codes some sets write differently (xsafety: ``sp`` for Spanish).
LANG_ALIASES = {"sp": "es"}
#: Fields that link parallel rows (the same content in several languages).
TWIN_FIELDS: tuple[str, ...] = ("twin_id", "parallel_id", "index_id")
#: Sources of the benign multilingual split whose rows are translations of one another.
PARALLEL_SOURCES: tuple[str, ...] = ("sib200", "tatoeba_laser", "xsid", "xcopa",
                                     "multilingualsift_vicuna", "llmzoo_ml100",
                                     "hplt_oasst_test")
#: The real-world dev splits of harmful multilingual prompts (folder names).
RECALL_SETS: tuple[str, ...] = ("multijail", "xsafety_multilingual")

_NUM = re.compile(r"\d+(?:[.,]\d+)*")


def norm_lang(code: Any) -> str:
    """A language code in lower case with :data:`LANG_ALIASES` applied (``?`` when absent)."""
    if not isinstance(code, str) or not code.strip():
        return "?"
    c = code.strip().lower()
    return LANG_ALIASES.get(c, c)


def _lang(rec: EvalRecord | ItemResult) -> str:
    """The language of a record or a scored item (field ``lang``, else ``language``)."""
    return norm_lang(rec.extra.get("lang", rec.extra.get("language")))


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


# --------------------------------------------------------------------------- benign FPR
def benign_fpr_by_language(result: EvalResult) -> dict[str, Any]:
    """FPR per language of a scored benign set: ``{"pooled": {...}, "languages": [...]}``.

    Each language entry: ``lang, n, flagged, fpr, by_kind {kind: {n, flagged, fpr}},
    top_category`` (the category flagged rows get most often, with its count); sorted by FPR,
    highest first. ``pooled``: the same over every row, plus ``languages``, ``over_5pct`` (the
    languages whose FPR is above 5 %) and ``max_fpr``. Labels other than 0 are an error (the
    set is benign by definition).
    """
    if any(it.label != 0 for it in result.items):
        raise DataError(f"{result.data_path}: the benign multilingual set has rows with label 1")
    by: dict[str, list[Any]] = defaultdict(list)
    for it in result.items:
        by[_lang(it)].append(it)

    def entry(items: Sequence[Any]) -> dict[str, Any]:
        flagged = [it for it in items if it.flagged]
        kinds: dict[str, list[Any]] = defaultdict(list)
        for it in items:
            kinds[str(it.extra.get("kind", "?"))].append(it)
        cats = Counter(str(it.category) for it in flagged)
        top = cats.most_common(1)[0] if cats else None
        return {"n": len(items), "flagged": len(flagged), "fpr": _rate(len(flagged), len(items)),
                "by_kind": {k: {"n": len(v), "flagged": sum(it.flagged for it in v),
                                "fpr": _rate(sum(it.flagged for it in v), len(v))}
                            for k, v in sorted(kinds.items())},
                "top_category": None if top is None else {"category": top[0], "n": top[1]}}

    langs = [{"lang": lang, **entry(items)} for lang, items in by.items()]
    langs.sort(key=lambda e: (-(e["fpr"] or 0.0), e["lang"]))
    pooled = entry(result.items)
    pooled.update(languages=len(langs),
                  over_5pct=[e["lang"] for e in langs if (e["fpr"] or 0.0) > 0.05],
                  max_fpr=max((e["fpr"] or 0.0) for e in langs) if langs else None)
    return {"pooled": pooled, "languages": langs}


# --------------------------------------------------------------------------- recall
def recall_by_language(results: dict[str, EvalResult]) -> dict[str, Any]:
    """Recall per language of scored harmful sets (``{set: EvalResult}``).

    Returns ``{"sets": {set: {"pooled": {n, n_pos, recall}, "languages": {lang: {...}}}},
    "pooled": {...}, "languages": {lang: {...}}}`` (the last two over every set together).
    Only harmful rows count (recall); a set's benign rows, if any, give ``fpr``.
    """
    def entry(items: Sequence[Any]) -> dict[str, Any]:
        pos = [it for it in items if it.label == 1]
        neg = [it for it in items if it.label == 0]
        out = {"n": len(items), "n_pos": len(pos),
               "recall": _rate(sum(it.flagged for it in pos), len(pos))}
        if neg:
            out["fpr"] = _rate(sum(it.flagged for it in neg), len(neg))
        return out

    def split(items: Sequence[Any]) -> dict[str, dict[str, Any]]:
        by: dict[str, list[Any]] = defaultdict(list)
        for it in items:
            by[norm_lang(it.extra.get("language", it.extra.get("lang")))].append(it)
        return {k: entry(v) for k, v in sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0]))}

    every = [it for res in results.values() for it in res.items]
    return {"sets": {name: {"pooled": entry(res.items), "languages": split(res.items)}
                     for name, res in results.items()},
            "pooled": entry(every), "languages": split(every)}


# --------------------------------------------------------------------------- ranking
def ranking_by_language(benign: EvalResult, harmful: dict[str, EvalResult], *,
                        min_rows: int = 20) -> dict[str, Any]:
    """Harmful against benign prompts of the same language, threshold-free.

    ``benign``: the scored benign multilingual set; ``harmful``: scored harmful sets
    (``{set: EvalResult}``; only their label-1 rows count). Returns ``{"languages": [{lang,
    n_benign, n_harmful, auroc, recall_at_1pct_fpr, recall_at_5pct_fpr}], "macro": {...},
    "pooled": {...}, "min_rows": min_rows}``: languages with at least ``min_rows`` rows of
    each class (sorted by AUROC, lowest first); ``macro`` is the mean of those languages'
    measures (each language counts once); ``pooled`` is every row of those languages together.
    Recall at x % FPR uses the threshold that flags at most x % of that language's benign rows.
    """
    ben: dict[str, list[float]] = defaultdict(list)
    harm: dict[str, list[float]] = defaultdict(list)
    for it in benign.items:
        if it.label == 0:
            ben[_lang(it)].append(it.score)
    for res in harmful.values():
        for it in res.items:
            if it.label == 1:
                harm[_lang(it)].append(it.score)

    def measures(b: Sequence[float], h: Sequence[float]) -> dict[str, Any]:
        y = [0] * len(b) + [1] * len(h)
        s = list(b) + list(h)
        return {"n_benign": len(b), "n_harmful": len(h), "auroc": M.roc_auc(y, s),
                "recall_at_1pct_fpr": M.recall_at_fpr(y, s, 0.01),
                "recall_at_5pct_fpr": M.recall_at_fpr(y, s, 0.05)}

    langs = [{"lang": lang, **measures(ben[lang], harm[lang])} for lang in sorted(ben)
             if lang != "?" and len(ben[lang]) >= min_rows and len(harm.get(lang, ())) >= min_rows]
    langs.sort(key=lambda e: (e["auroc"], e["lang"]))
    keys = ("auroc", "recall_at_1pct_fpr", "recall_at_5pct_fpr")
    macro = ({k: sum(e[k] for e in langs) / len(langs) for k in keys} | {"languages": len(langs)}
             if langs else None)
    pooled = (measures([x for e in langs for x in ben[e["lang"]]],
                       [x for e in langs for x in harm[e["lang"]]]) if langs else None)
    return {"languages": langs, "macro": macro, "pooled": pooled, "min_rows": min_rows}


# --------------------------------------------------------------------------- twins
def _signature(text: str) -> tuple[str, ...] | None:
    """The numbers of ``text`` (any script's decimal digits as ASCII, ``.``/``,`` dropped),
    sorted; ``None`` unless distinctive (two or more numbers, or one of 4+ digits that is not
    a year 1000-2099)."""
    ascii_digits = "".join(str(unicodedata.digit(c)) if not c.isascii()
                           and unicodedata.digit(c, None) is not None else c for c in text)
    nums = sorted(re.sub(r"[.,]", "", n) for n in _NUM.findall(ascii_digits))
    if not nums:
        return None
    if len(nums) == 1 and (len(nums[0]) < 4 or 1000 <= int(nums[0]) <= 2099):
        return None
    return tuple(nums)


def twin_groups(records: Sequence[EvalRecord]) -> tuple[str, dict[str, list[int]]]:
    """Twin groups of ``records``: ``(method, {group key: [record index, ...]})``.

    ``method`` is ``"field:<name>"`` when rows carry a :data:`TWIN_FIELDS` field (every row
    with a value joins its group), else ``"numbers"`` (the approximation described in the
    module docstring, over :data:`PARALLEL_SOURCES`). Only groups with two or more languages
    are kept.
    """
    for fld in TWIN_FIELDS:
        if any(r.extra.get(fld) not in (None, "") for r in records):
            by: dict[str, list[int]] = defaultdict(list)
            for i, r in enumerate(records):
                v = r.extra.get(fld)
                if v not in (None, ""):
                    by[f"{r.extra.get('source', '')}:{v}"].append(i)
            return f"field:{fld}", {k: v for k, v in by.items()
                                    if len({_lang(records[i]) for i in v}) >= 2}
    cand: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if r.extra.get("source") not in PARALLEL_SOURCES:
            continue
        sig = _signature(r.text)
        if sig is not None:
            cand[(str(r.extra.get("source")), sig)].append(i)
    out: dict[str, list[int]] = {}
    for (src, sig), idx in cand.items():
        langs = [_lang(records[i]) for i in idx]
        # a language twice means the numbers do not single out one sentence: not a twin group
        if len(set(langs)) >= 2 and len(set(langs)) == len(langs):
            out[f"{src}:{'|'.join(sig)}"] = idx
    return "numbers", out


def twin_audit(records: Sequence[EvalRecord], result: EvalResult, *, worst: int = 5,
               min_groups: int = 3) -> dict[str, Any]:
    """Which twin groups have a flagged member (``records`` in the order of ``result.items``).

    Returns ``{"method", "rows_considered", "rows_in_groups", "groups" (n), "any_flagged"
    (groups with a flagged twin), "share_any_flagged", "all_flagged", "mixed" (some but not
    all twins flagged), "languages": [{lang, groups, flagged, share}] (worst first),
    "worst": [...] (the ``worst`` languages with at least ``min_groups`` groups),
    "group_list": [{key, source, members: [{lang, flagged, score, text}]}]}``.
    """
    if len(records) != len(result.items):
        raise ValueError("records and result.items differ in length")
    method, groups = twin_groups(records)
    parallel = sum(1 for r in records if r.extra.get("source") in PARALLEL_SOURCES)
    glist: list[dict[str, Any]] = []
    per_lang: dict[str, list[bool]] = defaultdict(list)
    any_f = all_f = 0
    for key, idx in sorted(groups.items()):
        members = [{"lang": _lang(records[i]), "flagged": bool(result.items[i].flagged),
                    "score": float(result.items[i].score), "text": records[i].text} for i in idx]
        flags = [m["flagged"] for m in members]
        any_f += any(flags)
        all_f += all(flags)
        for m in members:
            per_lang[m["lang"]].append(m["flagged"])
        glist.append({"key": key, "source": str(records[idx[0]].extra.get("source", "")),
                      "any_flagged": any(flags), "members": members})
    langs = [{"lang": lang, "groups": len(v), "flagged": sum(v), "share": _rate(sum(v), len(v))}
             for lang, v in per_lang.items()]
    langs.sort(key=lambda e: (-(e["share"] or 0.0), -e["groups"], e["lang"]))
    n = len(glist)
    return {"method": method, "rows_considered": parallel if method == "numbers" else len(records),
            "rows_in_groups": sum(len(g["members"]) for g in glist), "groups": n,
            "any_flagged": any_f, "share_any_flagged": _rate(any_f, n), "all_flagged": all_f,
            "mixed": any_f - all_f, "languages": langs,
            "worst": [e for e in langs if e["groups"] >= min_groups][:worst],
            "group_list": glist}


# --------------------------------------------------------------------------- the part
def run_languages(guard: GuardLike, *, multilingual: Path | None, realworld: Path | None,
                  recall_sets: Sequence[str] = RECALL_SETS, max_rows: int | None = None,
                  seed: int = 0, progress: bool = True, models: str | None = None
                  ) -> dict[str, Any]:
    """The languages part: ``{"benign": ..., "recall": ..., "twins": ..., "notes": [...]}``.

    ``multilingual``: the benign multilingual dev file (``None``: FPR and twin audit skipped);
    ``realworld``: the real-world folder whose ``prompts/<set>/dev.jsonl`` of ``recall_sets``
    give recall per language (``None``: skipped); ``max_rows`` caps each file (stratified,
    fixed seed; the twin audit then sees only the sample).
    """
    notes: list[str] = []
    out: dict[str, Any] = {"benign": None, "recall": None, "twins": None, "ranking": None,
                           "notes": notes}
    benign_res: EvalResult | None = None
    if multilingual is not None:
        d = read_eval_file(multilingual, "input")
        recs = sample_records(d.records, max_rows, seed)
        if max_rows is not None and len(recs) < len(d.records):
            notes.append(f"{multilingual}: {len(recs)} of {len(d.records)} rows sampled "
                         f"(seed {seed}); the twin audit sees only those")
        res = evaluate(guard, EvalData(path=str(multilingual), kind="input", records=recs,
                                       bad=d.bad), progress=progress, models=models)
        benign_res = res
        ben = benign_fpr_by_language(res)
        ben["path"] = str(multilingual)
        ben["auprc"] = None  # one class: only FPR applies
        ben["threshold"] = res.threshold
        ben["seconds"] = res.seconds
        out["benign"] = ben
        out["twins"] = twin_audit(recs, res)
    if realworld is not None:
        results: dict[str, EvalResult] = {}
        for name in recall_sets:
            p = Path(realworld) / "prompts" / name / "dev.jsonl"
            if not p.is_file():
                notes.append(f"{p}: not found, recall per language skipped for {name}")
                continue
            d = read_eval_file(p, "input")
            recs = sample_records(d.records, max_rows, seed)
            results[name] = evaluate(guard, EvalData(path=str(p), kind="input", records=recs,
                                                     bad=d.bad), progress=progress, models=models)
        if results:
            out["recall"] = recall_by_language(results)
            if benign_res is not None:
                out["ranking"] = ranking_by_language(benign_res, results)
    return M.json_safe(out)
