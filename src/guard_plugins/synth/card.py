"""Dataset card: what a ``guard-synth`` data folder holds, where it came from, and checks.

:func:`write_dataset_card` writes ``dataset_card.json`` (machine-readable; ``guard-train``
copies its ``summary`` into the checkpoint) and ``DATASET_CARD.md`` (for people) next to the
JSONL files. The card records:

* counts per split x label x category x source x kind, for inputs and outputs, with the
  usual marginals (split x label, category x split x label, source, language);
* the final mix of real training items per source (share, labels) and what the source cap
  (``--max-source-share``) dropped;
* augmentation counts (records with any augmentation, and per augmentation name);
* the licence of every source used, and which of them restrict commercial use;
* the constitution (name, version, content hash) and the generator parameters;
* the leak check: normalised duplicates across splits (the split keys must show 0).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..constitution import Constitution
from ..errors import DataError
from .schema import SPLITS, atomic_write
from .split import input_key, leaks, output_key

__all__ = ["CARD_SCHEMA_VERSION", "write_dataset_card", "build_dataset_card", "leak_report",
           "render_markdown"]

CARD_SCHEMA_VERSION = 1
# Licence strings that limit use of a model trained on the data (flagged in the card).
_RESTRICTIVE_MARKERS = ("NC", "non-commercial", "noncommercial", "GPL", "no licence", "no license",
                        "unknown", "see repo")


def _response_key(r: Mapping[str, Any]) -> str:
    return r["response"]


def leak_report(inputs: Sequence[Mapping[str, Any]], outputs: Sequence[Mapping[str, Any]]) -> dict:
    """Normalised duplicates across every pair of splits.

    ``inputs.text`` and ``outputs.prompt`` are the split keys: they must be 0 (``ok``).
    ``outputs.response`` is informative (a stock refusal may recur under different prompts).
    """
    def by_split(records):
        d: dict[str, list] = {s: [] for s in SPLITS}
        for r in records:
            d.setdefault(str(r.get("split")), []).append(r)
        return d

    ins, outs = by_split(inputs), by_split(outputs)
    pairs = [(a, b) for i, a in enumerate(SPLITS) for b in SPLITS[i + 1:]]
    checks = {
        "inputs.text": {f"{a}|{b}": leaks(ins[a], ins[b], input_key) for a, b in pairs},
        "outputs.prompt": {f"{a}|{b}": leaks(outs[a], outs[b], output_key) for a, b in pairs},
        "outputs.response": {f"{a}|{b}": leaks(outs[a], outs[b], _response_key) for a, b in pairs},
    }
    ok = all(v == 0 for k in ("inputs.text", "outputs.prompt") for v in checks[k].values())
    return {"ok": ok, "must_be_zero": ["inputs.text", "outputs.prompt"], **checks}


def _is_restrictive(licence: str) -> bool:
    low = licence.lower()
    return any((m in licence) if m.isupper() else (m in low) for m in _RESTRICTIVE_MARKERS)


def _counts(records: Sequence[Mapping[str, Any]]) -> dict:
    rows: Counter[tuple] = Counter()
    split_label: dict[str, Counter] = defaultdict(Counter)
    cat: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    source: dict[str, Counter] = defaultdict(Counter)
    kind: dict[str, Counter] = defaultdict(Counter)
    aug_names: Counter[str] = Counter()
    aug_by_split: Counter[str] = Counter()
    licences: dict[str, Counter] = defaultdict(Counter)
    lang: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in records:
        s, lab, c = str(r.get("split")), int(r["label"]), r.get("category")
        src, k = str(r["source"]), str(r["kind"])
        rows[(s, lab, c, src, k)] += 1
        split_label[s][f"label_{lab}"] += 1
        split_label[s]["total"] += 1
        cat[c if c is not None else "(none)"][s][f"label_{lab}"] += 1
        source[src][f"label_{lab}"] += 1
        source[src]["total"] += 1
        kind[k][f"label_{lab}"] += 1
        augs = r.get("augmentations") or []
        if augs:
            aug_by_split[s] += 1
            aug_names.update(augs)
        licences[src][str(r.get("license"))] += 1
        lang[str(r.get("language") or "(unmarked)")][s][f"label_{lab}"] += 1
    return {
        "total": len(records),
        "per_split": {s: {"total": split_label[s]["total"], "label_0": split_label[s]["label_0"],
                          "label_1": split_label[s]["label_1"]} for s in SPLITS},
        "per_category": {c: {s: dict(v[s]) for s in SPLITS if v[s]} for c, v in sorted(cat.items())},
        "per_source": {k: dict(v) for k, v in sorted(source.items())},
        "per_kind": {k: dict(v) for k, v in sorted(kind.items())},
        "per_language": {k: {s: dict(v[s]) for s in SPLITS if v[s]} for k, v in sorted(lang.items())},
        "augmented": {"records": sum(aug_by_split.values()), "per_split": dict(aug_by_split),
                      "per_augmentation": dict(sorted(aug_names.items()))},
        "licences": {k: dict(v) for k, v in sorted(licences.items())},
        "rows": [{"split": s, "label": lab, "category": c, "source": src, "kind": k, "n": n}
                 for (s, lab, c, src, k), n in sorted(rows.items(), key=lambda kv: tuple(
                     "" if x is None else str(x) for x in kv[0]))],
    }


def build_dataset_card(*, constitution: Constitution, inputs: Sequence[Mapping[str, Any]],
                       outputs: Sequence[Mapping[str, Any]], public_report: Mapping[str, Any] | None,
                       params: Mapping[str, Any], dedupe: Mapping[str, Any] | None = None,
                       generation: Mapping[str, Any] | None = None) -> dict:
    """The card as a dict (see module docstring). Records must carry ``split``."""
    missing = sum(1 for r in list(inputs) + list(outputs) if r.get("split") not in SPLITS)
    if missing:
        raise DataError(f"dataset card: {missing} records have no valid split; assign splits first")
    ci, co = _counts(inputs), _counts(outputs)
    licences: dict[str, set[str]] = defaultdict(set)
    for c in (ci, co):
        for src, lic in c["licences"].items():
            licences[src].update(lic)
    licence_list = {src: sorted(v) for src, v in sorted(licences.items())}
    restrictive = {src: lic for src, lic in licence_list.items() if any(_is_restrictive(x) for x in lic)}
    leak = leak_report(inputs, outputs)
    con = {"name": constitution.name, "version": constitution.version, "hash": constitution.content_hash(),
           "restricted": constitution.restricted_ids, "permitted": constitution.permitted_ids}
    summary = {
        "inputs": {"total": ci["total"], **{s: ci["per_split"][s] for s in SPLITS}},
        "outputs": {"total": co["total"], **{s: co["per_split"][s] for s in SPLITS}},
        "sources": sorted(licence_list), "constitution_hash": con["hash"], "leak_check_ok": leak["ok"],
    }
    return {
        "schema_version": CARD_SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "constitution": con,
        "params": dict(params),
        "summary": summary,
        "inputs": ci,
        "outputs": co,
        "licences": licence_list,
        "restricted_licences": restrictive,
        "dedupe": dict(dedupe) if dedupe else None,
        "public": dict(public_report) if public_report else None,
        "generation": dict(generation) if generation else None,
        "leak_check": leak,
    }


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def render_markdown(card: Mapping[str, Any]) -> str:
    """``DATASET_CARD.md`` text for a card built by :func:`build_dataset_card`."""
    con = card["constitution"]
    lines = [
        f"# Dataset card: {con['name']} {con['version']}",
        "",
        f"Generated by `guard-synth` on {card['created']} for constitution **{con['name']}** "
        f"version {con['version']} (`{con['hash']}`): {len(con['restricted'])} restricted and "
        f"{len(con['permitted'])} permitted categories.",
        "",
        "Files: `inputs.{train,dev,calib}.jsonl` (input classifier) and "
        "`outputs.{train,dev,calib}.jsonl` (streaming output classifier); schemas in "
        "docs/ARCHITECTURE.md section 2. Label 1 = harmful.",
        "",
        "## Counts per split",
        "",
    ]
    rows = []
    for which in ("inputs", "outputs"):
        for s in SPLITS:
            c = card[which]["per_split"][s]
            rows.append([which, s, c["total"], c["label_0"], c["label_1"],
                         card[which]["augmented"]["per_split"].get(s, 0)])
    lines += [_md_table(["file", "split", "total", "label 0", "label 1", "augmented"], rows), ""]

    mix = (card.get("params") or {}).get("real_mix") or {}
    if mix.get("train_mix"):
        lines += ["## Training mix (train split)", "",
                  "Real = public sets written by people or real LLMs (`public/...`, including "
                  "`realworld/*/train.jsonl`), as they are; augmented = variants of real or "
                  "synthetic records (preamble splices of real responses, wrapper twins of real "
                  "prompts, jailbreak wrappers, ...); synthetic = the constitution's offline or "
                  "LLM generator. `realworld/*/dev.jsonl` is never imported: records whose text is "
                  "in one of those files are dropped from every split "
                  f"({mix.get('realworld_dev_overlap_dropped')}).", ""]
        rows = []
        for which in ("inputs", "outputs"):
            t = mix["train_mix"][which]
            agg: dict[str, list[int]] = {}
            for src, d in t["per_source"].items():
                key = ("augmented" if "(augmented)" in src else
                       "real" if src.startswith("public/") else "synthetic")
                a = agg.setdefault(key, [0, 0])
                a[0] += d["0"]
                a[1] += d["1"]
            for key in ("real", "augmented", "synthetic"):
                a = agg.get(key, [0, 0])
                rows.append([which, key, a[0], a[1], a[0] + a[1],
                             f"{100 * (a[0] + a[1]) / max(1, t['total']):.1f} %"])
        lines += [_md_table(["file", "part", "label 0", "label 1", "total", "share"], rows), ""]
        rows = []
        for which in ("inputs", "outputs"):
            for src, d in mix["train_mix"][which]["per_source"].items():
                rows.append([which, f"`{src}`", d["0"], d["1"]])
        lines += ["Per source (train split):", "",
                  _md_table(["file", "source", "label 0", "label 1"], rows), ""]

    lines += _source_balance_md(mix)
    lines += _languages_md(card)

    for which in ("inputs", "outputs"):
        lines += [f"## {which.capitalize()} per category (label 0 / label 1)", ""]
        rows = []
        for cat, per in card[which]["per_category"].items():
            rows.append([cat] + [f"{per.get(s, {}).get('label_0', 0)} / {per.get(s, {}).get('label_1', 0)}"
                                 for s in SPLITS])
        lines += [_md_table(["category", *SPLITS], rows), ""]

    lines += ["## Sources and licences", ""]
    rows = []
    for src, lic in card["licences"].items():
        ni = card["inputs"]["per_source"].get(src, {}).get("total", 0)
        no = card["outputs"]["per_source"].get(src, {}).get("total", 0)
        flag = " (restricts use)" if src in card["restricted_licences"] else ""
        rows.append([f"`{src}`", ni, no, "; ".join(lic) + flag])
    lines += [_md_table(["source", "inputs", "outputs", "licence"], rows), ""]
    if card["restricted_licences"]:
        lines += ["Some sources carry non-commercial, copyleft or unclear licences (flagged above): "
                  "record them in the model card of any model trained on this folder, and leave them "
                  "out (`--public-sets`, `--no-public`) where that matters.", ""]

    for which in ("inputs", "outputs"):
        lines += [f"## {which.capitalize()} per kind", ""]
        rows = [[k, v.get("label_0", 0), v.get("label_1", 0)] for k, v in card[which]["per_kind"].items()]
        lines += [_md_table(["kind", "label 0", "label 1"], rows), ""]

    lines += ["## Augmentations", ""]
    rows = []
    for which in ("inputs", "outputs"):
        for name, n in card[which]["augmented"]["per_augmentation"].items():
            rows.append([which, name, n])
    lines += [_md_table(["file", "augmentation", "records"], rows) if rows else "None.", ""]

    pub = card.get("public") or {}
    rows = []
    for name, e in pub.items():
        if not isinstance(e, Mapping):
            continue
        labels = e.get("labels") or {}
        skipped = e.get("skipped") or {}
        rows.append([name, e.get("kind", ""), e.get("license", ""), e.get("rows_read", ""),
                     e.get("kept", ""), labels.get("0", ""), labels.get("1", ""),
                     "; ".join(f"{k}: {v}" for k, v in skipped.items())])
    if rows:
        lines += ["## Public sets (as imported, before deduplication)", "",
                  _md_table(["set", "kind", "licence", "rows read", "kept", "label 0", "label 1",
                             "skipped"], rows), ""]

    dd = card.get("dedupe") or {}
    if dd:
        lines += ["## Deduplication", "",
                  "Normalised-text duplicates removed; the first record wins, in priority order: "
                  "constitution-derived synthetic records, then public sets, then augmented variants.", ""]
        rows = [[which, d.get("total"), d.get("kept"), d.get("removed"), d.get("label_conflicts")]
                for which, d in dd.items() if isinstance(d, Mapping)]
        lines += [_md_table(["file", "total", "kept", "removed", "label conflicts"], rows), ""]

    leak = card["leak_check"]
    lines += ["## Leak check", "",
              f"Distinct normalised keys shared by two splits (the split keys must be 0): "
              f"**{'pass' if leak['ok'] else 'FAIL'}**.", ""]
    pairs = list(leak["inputs.text"])
    rows = [[k, *[leak[k][p] for p in pairs]] for k in ("inputs.text", "outputs.prompt", "outputs.response")]
    lines += [_md_table(["key", *pairs], rows), ""]

    params = {k: v for k, v in card["params"].items() if k != "real_mix"}
    if mix:
        params["real_mix"] = {k: v for k, v in mix.items()
                              if k not in ("train_mix", "source_cap_pool", "source_cap_train")}
        for k in ("source_cap_pool", "source_cap_train"):  # tables above; levels and drops here
            if mix.get(k):
                params["real_mix"][k] = {w: {"level": r.get("level"), "dropped": r.get("dropped")}
                                         for w, r in mix[k].items()}
    lines += ["## Generation parameters", "", "```json",
              json.dumps(params, indent=2, sort_keys=True, default=str), "```", ""]
    lines += ["## Safety notes", "",
              "Synthetic harmful responses are structural mocks: every operational detail is a "
              "placeholder such as `[REDACTED]`. Public harmful prompts are kept as data only. "
              "Do not use this folder to train generators.", ""]
    return "\n".join(lines)


def _source_balance_md(mix: Mapping[str, Any]) -> list[str]:
    """The final mix of real training items per source, and what the source cap dropped."""
    train = mix.get("source_cap_train") or {}
    pool = mix.get("source_cap_pool") or {}
    if not train:
        return []
    first = next(iter(train.values()))
    share, by_label = first["max_share"], first.get("by_label")
    scope = ("of a model's benign real items, nor of its harmful ones," if by_label else
             "of a model's real items")
    flag = " --source-cap-by-label" if by_label else ""
    lines = ["## Source balance (real training items)", "",
             f"No public source holds more than {100 * share:g} % {scope} in the "
             f"`train` split (`--max-source-share {share:g}{flag}`). Items over the cap are dropped, "
             "stratified by label and language in a fixed order per seed: first over the whole "
             "real pool (so splices and twins are only made of kept items), then over the train "
             "split. Shares below are of the real train items of each model; augmented and "
             "synthetic items are not counted.", ""]
    for which, rep in train.items():
        after = rep["after"]
        dropped: dict[str, int] = {}
        for r in (pool.get(which) or {}, rep):
            for src, n in (r.get("dropped") or {}).items():
                dropped[src] = dropped.get(src, 0) + n
        note = "" if rep.get("feasible", True) else " (too few sources: cap not applied)"
        lines += [f"{which.capitalize()}: {after['total']} real train items{note}.", ""]
        rows = [[f"`{src}`", d["items"], f"{100 * d['share']:.1f} %", d["0"], d["1"], dropped.get(src, 0)]
                for src, d in after["per_source"].items()]
        lines += [_md_table(["source", "items", "share", "label 0", "label 1", "dropped by the cap"],
                            rows), ""]
    return lines


def _languages_md(card: Mapping[str, Any]) -> list[str]:
    per = card["inputs"].get("per_language") or {}
    if set(per) <= {"(unmarked)", "en"}:
        return []
    lines = ["## Inputs per language (label 0 / label 1)", "",
             "From the record's `language` (ISO 639-1 where the source gives one); `(unmarked)` "
             "records are English sets that give no language.", ""]
    rows = [[lang] + [f"{v.get(s, {}).get('label_0', 0)} / {v.get(s, {}).get('label_1', 0)}" for s in SPLITS]
            for lang, v in per.items()]
    return lines + [_md_table(["language", *SPLITS], rows), ""]


def _atomic_write_text(path: Path, text: str) -> None:
    with atomic_write(path) as fh:
        fh.write(text)


def write_dataset_card(out_dir: str | Path, *, constitution: Constitution,
                       inputs: Sequence[Mapping[str, Any]], outputs: Sequence[Mapping[str, Any]],
                       public_report: Mapping[str, Any] | None, params: Mapping[str, Any],
                       dedupe: Mapping[str, Any] | None = None,
                       generation: Mapping[str, Any] | None = None) -> dict:
    """Write ``dataset_card.json`` and ``DATASET_CARD.md`` into ``out_dir``; return the card."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    card = build_dataset_card(constitution=constitution, inputs=inputs, outputs=outputs,
                              public_report=public_report, params=params, dedupe=dedupe,
                              generation=generation)
    _atomic_write_text(out / "dataset_card.json",
                       json.dumps(card, indent=2, ensure_ascii=False, default=str) + "\n")
    _atomic_write_text(out / "DATASET_CARD.md", render_markdown(card))
    return card
