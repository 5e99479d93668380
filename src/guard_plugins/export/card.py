"""``MODEL_CARD.md``: a card a person can read, generated from the manifest.

:func:`model_card` renders the card from a ``manifest.json`` dict (``guard-export`` writes it
next to the model): what the model is for and what a flag means, the training sources as a
table (items per label, share of the mix, licence and a flag for licences that limit use),
the results of an evaluation suite run when one is given, the dev-split metrics, known limits
in plain words, then the technical details. The manifest stays the machine-readable record.

``python -m guard_plugins.export.card FOLDER [--results SUITE_JSON]`` re-renders the card of an
exported model folder from its manifest, keeps the card's hand-written ``## Release notes``
section as it is, and updates only ``files["MODEL_CARD.md"]`` (sha256 and bytes) in the
manifest, so the folder still verifies at load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..synth.card import _is_restrictive

__all__ = ["model_card", "licence_flags", "regenerate", "main"]

RELEASE_NOTES = "## Release notes"

_USE = {
    "input": ("Scores a prompt (plain text, or an OpenAI-style message list rendered by "
              "`guard_plugins.runtime.text.render_messages`) before it reaches an LLM. The score "
              "is p(harmful), the maximum over windows of 254 tokens, with the restricted "
              "category of the highest window."),
    "output": ("Scores an LLM response token by token while it streams (a causal classifier with "
               "a KV cache, context `[CLS] prompt tail [SEP] response`). The score is the running "
               "maximum of the per-token p(harmful); once flagged a stream stays flagged, so a "
               "caller can halt generation at that token."),
}
_FLAG_MEANS = {
    "input": ("**A flag means** the prompt asks for, or tries to unlock, content in one of the "
              "constitution's restricted categories below. It does not mean the prompt mentions "
              "a sensitive topic: the permitted look-alike categories (chemistry homework, "
              "history, fiction, harm reduction, ...) are trained as benign."),
    "output": ("**A flag means** the response so far provides restricted content (compliance "
               "with a harmful request). A refusal, a safety warning or a discussion of a "
               "sensitive topic is trained as benign. Always pass the prompt: the model judges "
               "a response in the context of what was asked."),
}


# ---------------------------------------------------------------------------- helpers
def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _pct(v: Any, digits: int = 1) -> str:
    return "n/a" if v is None else f"{100 * float(v):.{digits}f} %"


def licence_flags(licences: Sequence[str]) -> list[str]:
    """Why a source's licences may limit use of a model trained on it (empty: no flag).

    Which licences limit use is decided by the dataset card's rule
    (``guard_plugins.synth.card``); this names the reason. Share-alike licences (CC-BY-SA) are
    flagged too: they are copyleft for the data, though the dataset card does not count them.
    """
    flags: list[str] = []
    for lic in licences:
        low = lic.lower()
        if "-SA" in lic or "share-alike" in low or "sharealike" in low:
            flags.append("share-alike")
        if not _is_restrictive(lic):
            continue
        if "NC" in lic or "non-commercial" in low or "noncommercial" in low:
            flags.append("non-commercial")
        elif "GPL" in lic:
            flags.append("copyleft")
        elif "no licen" in low or "unknown" in low:
            flags.append("no licence")
        else:
            flags.append("unclear licence")
    return sorted(set(flags), key=["non-commercial", "copyleft", "share-alike", "no licence",
                                   "unclear licence"].index)


def _part(source: str) -> str:
    # the dataset card's split of the training mix (synth/card.py, "Training mix")
    if "(augmented)" in source:
        return "augmented"
    return "real" if source.startswith("public/") else "synthetic"


def _base_source(source: str) -> str:
    return source.replace(" (augmented)", "")


def _short(source: str) -> str:
    return source.removeprefix("public/")


# ---------------------------------------------------------------------------- sections
def _at_a_glance(manifest: Mapping[str, Any], version: str | None) -> list[str]:
    kind, onnx = manifest["kind"], manifest.get("onnx") or {}
    metrics = manifest.get("metrics") or {}
    cal = metrics.get("calibration") or {}
    const = manifest.get("constitution") or {}
    size = ((manifest.get("files") or {}).get(onnx.get("file", "model.onnx")) or {}).get("bytes")
    win = manifest.get("windowing") or {}
    rows = [["task", "prompt classifier (before the LLM)" if kind == "input"
             else "streaming response classifier (while the LLM answers)"]]
    if version:
        rows.append(["version", version])
    rows += [["base model", f"all-MiniLM-L6-v2 (BERT, {onnx.get('num_layers', '?')} layers, "
                            "384 wide, uncased English WordPiece vocabulary), fine-tuned"],
             ["file", f"`{onnx.get('file', 'model.onnx')}`, ONNX opset {onnx.get('opset')}, "
                      f"{onnx.get('quantization')}" + (f", {size / 1e6:.1f} MB" if size else "")],
             ["runtime", "`guard_plugins.Guard` (onnxruntime only, no torch)"]]
    if kind == "input":
        rows.append(["context", f"windows of {win.get('input_window', '?')} tokens, stride "
                                f"{win.get('input_stride', '?')}; the maximum over windows counts"])
    else:
        rows.append(["context", f"up to {win.get('output_max_len', '?')} positions (prompt tail "
                                f"up to {win.get('output_max_prompt', '?')} tokens); longer "
                                "responses are re-primed with the recent text"])
    thr = manifest.get("threshold")
    points = manifest.get("operating_points") or {}
    if points:
        default = manifest.get("default_operating_point")
        rows.append(["threshold", f"{thr:.4f} (operating point `{default}`, the default); "
                     + ", ".join(f"`{n}` {p['threshold']:.4f}" for n, p in points.items() if n != default)
                     + " (see Operating points)"])
    else:
        rows.append(["threshold", f"{thr:.4f}" + (
            f", set for {_pct(cal.get('target_fpr'), 0)} FPR on the calibration split "
            f"(achieved {_pct(cal.get('fpr'), 2)}, recall {_num(cal.get('recall'))})" if cal else "")])
    rows.append(["constitution", f"{const.get('name', '?')} v{const.get('version', '?')}"])
    return _md_table(["", ""], rows)


def _results(kind: str, results: Mapping[str, Any]) -> list[str]:
    rows = [r for r in results.get("rows") or [] if r.get("kind") == kind]
    if not rows:
        return []
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r.get("group") or "other"), []).append(r)
    # sources the model never saw first, then the in-distribution sets
    known = ["realworld", "dev", "public"]
    order = sorted((g for g in groups if g not in known)) + [g for g in known if g in groups]
    titles = {"realworld": "Real-world dev sets (held-out rows of training sources: in-distribution)",
              "dev": "Synthetic dev split", "public": "Older public sets (rows seen in training dropped)"}
    out = ["## Results", "",
           f"Runtime as shipped, at the shipped threshold. Models: {results.get('models', '?')}; "
           f"`{results.get('command', '?')}` ({_num(results.get('seconds'), 0)} s on "
           f"{results.get('machine', '?')}).", ""]
    for note in results.get("notes") or []:
        out += [f"- {note}"]
    if results.get("notes"):
        out += [""]
    def get(r: Mapping[str, Any], key: str, needs: str) -> Any:
        # as in docs/results.md: recall needs harmful rows, FPR benign rows, the rest both
        ok = all(r.get(n, 1) for n in ("n_pos", "n_neg")) if needs == "both" else r.get(needs, 1)
        return r.get(key) if ok else None

    for g in order:
        out += [f"### {titles.get(g, g.replace('_', ' ').capitalize())}", ""]
        table = []
        for r in groups[g]:
            name = f"**{r['set']}**" if "pooled" in str(r["set"]) else str(r["set"])
            if kind == "input":
                table.append([name, _num(r.get("n")), _num(r.get("n_pos")),
                              _num(get(r, "precision", "both")), _num(get(r, "recall", "n_pos")),
                              _num(get(r, "f1", "both")), _pct(get(r, "fpr", "n_neg")),
                              _num(get(r, "auprc", "both")),
                              _num(get(r, "recall_at_1pct_fpr", "both"))])
            else:
                table.append([name, _num(r.get("n")), _num(r.get("n_pos")),
                              _num(get(r, "stream_f1" if "stream_f1" in r else "f1", "both")),
                              _num(get(r, "stream_recall" if "stream_recall" in r else "recall", "n_pos")),
                              _pct(get(r, "stream_fpr" if "stream_fpr" in r else "fpr", "n_neg")),
                              _num(get(r, "auprc", "both")), _pct(get(r, "median_halt", "n_pos"))])
        if kind == "input":
            out += _md_table(["set", "n", "harmful", "precision", "recall", "F1", "FPR", "AUPRC",
                              "recall at 1 % FPR"], table)
        else:
            out += _md_table(["set", "n", "harmful", "F1", "recall", "FPR", "AUPRC",
                              "median share streamed before the halt"], table)
        out += [""]
    if kind == "input":
        out += _languages(results)
    out += ["`n/a`: not defined for the set (recall needs harmful rows, FPR benign rows; "
            "precision, F1, AUPRC and recall at 1 % FPR need both classes; a median halt needs "
            "flagged harmful responses)."
            + (" Responses are scored by the streaming rule: chunks as an LLM sends them, "
               "halted at the first flagged chunk." if kind == "output" else ""), ""]
    return out


def _languages(results: Mapping[str, Any]) -> list[str]:
    """Per-language table of the suite's ``languages`` part (input guard), when it ran."""
    lang = results.get("languages")
    if not isinstance(lang, Mapping):
        return []
    ben = lang.get("benign") if isinstance(lang.get("benign"), Mapping) else {}
    rec = lang.get("recall") if isinstance(lang.get("recall"), Mapping) else {}
    per: dict[str, dict[str, Any]] = {}
    for e in ben.get("languages") or []:
        if isinstance(e, Mapping) and "lang" in e:
            per.setdefault(str(e["lang"]), {})["benign"] = e
    for code, e in (rec.get("languages") or {}).items():
        if isinstance(e, Mapping):
            per.setdefault(str(code), {})["harmful"] = e
    if not per:
        return []
    rows = []
    for code in sorted(per, key=lambda c: (-((per[c].get("benign") or {}).get("fpr") or 0.0), c)):
        b, h = per[code].get("benign") or {}, per[code].get("harmful") or {}
        rows.append([code, _num(b.get("n")) if b else "", _pct(b.get("fpr")) if b else "",
                     _num(h.get("n_pos")) if h else "", _num(h.get("recall")) if h else ""])
        if b and b.get("top_category"):
            rows[-1][2] += f" (mostly `{b['top_category'].get('category')}`)"
    pb, ph = ben.get("pooled") or {}, rec.get("pooled") or {}
    rows.append(["**all**", _num(pb.get("n")) if pb else "", _pct(pb.get("fpr")) if pb else "",
                 _num(ph.get("n_pos")) if ph else "", _num(ph.get("recall")) if ph else ""])
    out = ["### Per language", "",
           "Benign prompts flagged (FPR) per language on the benign multilingual dev split, and "
           "recall per language on the harmful multilingual real-world dev splits "
           f"({', '.join(f'`{s}`' for s in (rec.get('sets') or {})) or 'none'}). An empty cell: "
           "not measured for that language.", ""]
    out += _md_table(["language", "benign prompts", "flagged (FPR)", "harmful prompts", "recall"],
                     rows)
    tw = lang.get("twins")
    if isinstance(tw, Mapping) and tw.get("groups"):
        out += ["", f"Language-twin audit (the same benign text in several languages; method "
                    f"`{tw.get('method')}`): {_num(tw.get('any_flagged'))} of "
                    f"{_num(tw.get('groups'))} twin groups have a flagged member, "
                    f"{_num(tw.get('all_flagged'))} are flagged in every language."]
    return out + [""]


def _dev_metrics(manifest: Mapping[str, Any]) -> list[str]:
    m = manifest.get("metrics") or {}
    out = ["## Metrics on the dev split", ""]
    rows = []
    for key, label in (("overall", "whole text" if manifest["kind"] == "input" else "per-token maximum"),
                       ("streaming", "streaming rule"), ("whole_response", "whole response")):
        r = m.get(key)
        if isinstance(r, Mapping) and "f1" in r:
            rows.append([label, _num(r.get("n")), _num(r.get("precision")), _num(r.get("recall")),
                         _num(r.get("f1")), _pct(r.get("fpr"), 2), _num(r.get("auprc")),
                         _num(r.get("recall_at_0.01_fpr"))])
    if not rows:
        return out + ["(none recorded)", ""]
    out += ["The trainer's own report (torch, before export) on a stratified sample of the dev "
            "split, at the calibrated threshold. Breakdowns per source and category are in "
            "`manifest.json` (`metrics.breakdowns`).", ""]
    out += _md_table(["scored as", "n", "precision", "recall", "F1", "FPR", "AUPRC",
                      "recall at 1 % FPR"], rows)
    extra = []
    for key, label in (("recall_augmented_harmful", "recall on augmented harmful items"),
                       ("fpr_lookalikes", "FPR on benign look-alikes"),
                       ("category_accuracy", "category accuracy (flagged, known category)"),
                       ("benign_flagged_in_first_16_tokens", "benign responses flagged within 16 tokens")):
        if key in m:
            v = m[key]
            extra.append(f"- {label}: {_pct(v) if 'fpr' in key or 'flagged' in key else _num(v)}")
    halt = (m.get("halt") or {}).get("flagged")
    if isinstance(halt, Mapping) and "median" in halt:
        extra.append(f"- median share of a flagged harmful response seen before the halt: "
                     f"{_pct(halt.get('median'))}")
    return out + ([""] + extra if extra else []) + [""]


def _training_data(manifest: Mapping[str, Any]) -> list[str]:
    kind = manifest["kind"]
    data = manifest.get("training_data") or {}
    out = ["## Training data and licences", ""]
    if not data:
        return out + ["(none recorded)", ""]
    licences: Mapping[str, Sequence[str]] = data.get("licences") or {}
    mix = (((data.get("params") or {}).get("real_mix") or {}).get("train_mix") or {}).get(
        "inputs" if kind == "input" else "outputs")
    summary = (data.get("summary") or {}).get("inputs" if kind == "input" else "outputs") or {}
    if summary:
        parts = [f"{s} {_num((summary.get(s) or {}).get('total'))}" for s in ("train", "dev", "calib")
                 if isinstance(summary.get(s), Mapping)]
        out += [f"Data folder `{data.get('path', '?')}` (made by `guard-synth`; its "
                f"`DATASET_CARD.md` has every count): {', '.join(parts)} items per split.", ""]
    flagged: dict[str, list[str]] = {}
    if mix and mix.get("per_source"):
        total = int(mix.get("total") or sum(int(v.get("0", 0)) + int(v.get("1", 0))
                                            for v in mix["per_source"].values()))
        per_part: dict[str, list[int]] = {}
        rows = []
        for src, d in mix["per_source"].items():
            n0, n1 = int(d.get("0", 0)), int(d.get("1", 0))
            lic = list(licences.get(_base_source(src)) or ["(not recorded)"])
            flags = licence_flags(lic)
            if flags:
                flagged[_base_source(src)] = lic
            p = per_part.setdefault(_part(src), [0, 0])
            p[0] += n0
            p[1] += n1
            rows.append((n0 + n1, [f"`{_short(src)}`", _part(src), _num(n0), _num(n1),
                                   _pct((n0 + n1) / max(1, total)), "; ".join(lic),
                                   ", ".join(f"**{f}**" for f in flags) or ""]))
        shares = ", ".join(f"{k} {_pct((v[0] + v[1]) / max(1, total), 0)}"
                           for k, v in sorted(per_part.items(), key=lambda kv: -sum(kv[1])))
        out += [f"The training split: {_num(total)} items ({shares}). *Real*: public sets "
                "written by people or real LLMs, as they are; *augmented*: variants of real or "
                "synthetic items (jailbreak wrappers, preamble splices, encodings, ...); "
                "*synthetic*: generated from the constitution (harmful examples are structural, "
                "every operational detail a placeholder). Label 1 = harmful. A synthetic source "
                "lists the licences of the public texts some of its items embed (wrapper twins "
                "carry the licence of the request they wrap); licences are recorded per source "
                "for the whole data folder, prompts and responses together.", ""]
        out += _md_table(["source", "part", "label 0", "label 1", "share of the mix", "licence",
                          "flag"], [r for _, r in sorted(rows, key=lambda x: -x[0])])
        out += [""]
    else:
        for src, lic in licences.items():
            if licence_flags(lic):
                flagged[src] = list(lic)
        if licences:
            out += _md_table(["source", "licence", "flag"],
                             [[f"`{_short(s)}`", "; ".join(lic), ", ".join(licence_flags(lic))]
                              for s, lic in licences.items()]) + [""]
    if flagged:
        out += ["**Licences to check before use.** Models trained on these sources may inherit "
                "their terms: non-commercial (CC-BY-NC), copyleft (GPL), share-alike (CC-BY-SA), "
                "no licence at all (all rights reserved by default) or a licence that is not "
                "stated clearly. Retrain without them where that matters "
                "(`guard-synth --public-sets ...`). Flagged: "
                + "; ".join(f"`{_short(s)}` ({', '.join(licence_flags(lic))})"
                            for s, lic in sorted(flagged.items())) + ".", ""]
    return out


def _limits(kind: str, manifest: Mapping[str, Any] | None = None) -> list[str]:
    langs = ((manifest or {}).get("languages") or {})
    validated = ", ".join(langs.get("validated") or [])
    validated_note = (
        f" Validated for this release: {validated} (rule: {langs.get('rule', 'see the manifest')});"
        " for any other language the verdict says `language_validated: false`, and the "
        "`unvalidated_language` option (`score`, the default, | `flag` | `allow`) decides what "
        "happens." if validated else "")
    common = [
        "- **Languages.** The encoder's vocabulary is English (uncased WordPiece) and the benign "
        "training data is English; text in other languages, above all in other scripts, is "
        "poorly read. Measure the false-positive rate on your own languages before blocking "
        "on this model." + validated_note,
        "- **Sources it never saw.** The real-world results are on held-out rows of sources the "
        "model was trained on. On text from other sources, recall and ranking are lower: "
        "evaluate on your own traffic (`guard-eval`) before relying on the numbers above.",
        ("- **Thresholds are measured, not universal.** The operating points below were set "
         "on one calibration split; scores are not calibrated probabilities elsewhere. Harder "
         "benign traffic (coding prompts, long multi-turn chats, borderline look-alikes) is "
         "flagged more often than easy questions at every point (the table by stratum)."
         if (manifest or {}).get("operating_points") else
         "- **One operating point.** The threshold is calibrated for one false-positive rate on "
         "a pooled calibration set; scores are not calibrated probabilities elsewhere. Harder "
         "benign traffic (coding prompts, long multi-turn chats, borderline look-alikes) is "
         "flagged more often; a different threshold trades recall for false positives."),
        "- **Its constitution, not a universal taxonomy.** It reflects the constitution's "
        "categories and the label policies of the public sets it learnt from.",
        "- **Not the only safeguard**, and not for decisions about people.",
        "- int8 scores differ slightly from fp32 (verdict agreement is checked at export, see "
        "Parity); the CUDA provider is untested.",
    ]
    if kind == "input":
        common.insert(2, "- **Obfuscation and new jailbreak styles** remain weaker spots; the "
                      "runtime decodes base64, rot13, leetspeak, spaced letters, reversed text "
                      "and homoglyphs before scoring, but not ciphers or translations.")
    else:
        common.insert(2, "- **Context.** Without the prompt the model flags stock answer openers "
                      "more often; always pass it. Tool-call arguments and reasoning content are "
                      "not scored by the integrations.")
    return ["## Limitations (known limits)", ""] + common + [""]


def _details(manifest: Mapping[str, Any]) -> list[str]:
    onnx = manifest.get("onnx") or {}
    const = manifest.get("constitution") or {}
    out = ["## Model details", "",
           f"- Graph inputs: {', '.join(onnx.get('inputs', []))}",
           f"- Graph outputs: {', '.join(onnx.get('outputs', []))}",
           f"- Windowing: `{json.dumps(manifest.get('windowing'))}`",
           f"- Constitution: {const.get('name', '?')} v{const.get('version', '?')}, hash "
           f"`{const.get('hash', '?')}`"]
    cats = manifest.get("categories") or []
    titles = manifest.get("category_titles") or {}
    if cats:
        out += ["- Restricted categories: " + ", ".join(f"`{c}` ({titles.get(c, c)})" for c in cats)]
    return out + [""]


def _parity(manifest: Mapping[str, Any]) -> list[str]:
    p = manifest.get("parity") or {}
    out = ["## Parity (export checks)", ""]
    if not p:
        return out + ["(none recorded)", ""]
    rows = []
    for key, d in p.items():
        if isinstance(d, Mapping):
            rows.append([f"`{key}`", ", ".join(f"{k} {_num(v, 4) if isinstance(v, float) else v}"
                                               for k, v in d.items())])
        else:
            rows.append([f"`{key}`", str(d)])
    return out + _md_table(["check", "result"], rows) + [""]


def _threshold_section(manifest: Mapping[str, Any]) -> list[str]:
    points = manifest.get("operating_points") or {}
    if not points:
        return ["## Threshold", "",
                f"Flagged when score >= **{manifest['threshold']:.4g}**, calibrated on the calibration "
                "split for the target false-positive rate in the table above. Callers may override it "
                "(`Guard.load(input_threshold=..., output_threshold=...)`; per category for the input "
                "model).", ""]
    default = manifest.get("default_operating_point")
    strata = sorted({g for p in points.values()
                     for g in (p.get("calibration") or {}).get("benign_fpr_by_stratum", {})})
    rows = []
    for name, p in points.items():
        cal = p.get("calibration") or {}
        by = cal.get("benign_fpr_by_stratum") or {}
        bal = cal.get("real_source_balanced") or {}
        rows.append([f"`{name}`" + (" (default)" if name == default else ""), f"{p['threshold']:.4f}",
                     _pct(cal.get("benign_fpr_mean_over_strata")),
                     *[_pct((by.get(g) or {}).get("fpr")) if g in by else "–" for g in strata],
                     _num(cal.get("recall")), _num(bal.get("f1"))])
    any_cal = next((p.get("calibration") or {} for p in points.values()), {})
    out = ["## Operating points", "",
           f"Flagged when score >= the threshold of the operating point in use (default "
           f"`{default}`, **{manifest['threshold']:.4g}**). Pick one with "
           "`Guard.load(operating_point=...)`, `ConstitutionalGuard(operating_point=...)`, "
           "`operating_point:` in the LiteLLM proxy config or `guard-check --operating-point`; "
           "explicit thresholds override it.", ""]
    out += [f"- `{n}`: {p.get('rule', '')}." for n, p in points.items()]
    out += ["", f"Measured on the calibration split ({any_cal.get('data', '?')}, "
                f"{_num(any_cal.get('n_benign'))} benign and {_num(any_cal.get('n_harmful'))} harmful rows "
                "scored by the runtime); benign FPR by stratum, recall on every harmful row, F1 on the "
                "real rows with sources weighted equally. Strata marked excluded (`synthetic`: "
                "guard-synth's template rows, not real traffic; `unvalidated_language`: languages "
                "the model is not validated on, which the `unvalidated_language` option governs) "
                "are reported but did not set the threshold.", ""]
    out += _md_table(["point", "threshold", "benign FPR (mean of strata)",
                      *[g + (" (excluded)" if any(((p.get("calibration") or {}).get("benign_fpr_by_stratum")
                                                    or {}).get(g, {}).get("excluded") for p in points.values())
                             else "") for g in strata],
                      "recall", "real F1"], rows)
    return out + [""]


def model_card(manifest: Mapping[str, Any], *, untrained: bool = False,
               results: Mapping[str, Any] | None = None, version: str | None = None,
               release_notes: str | None = None) -> str:
    """Markdown model card for ``manifest`` (a ``manifest.json`` dict).

    ``results``: an evaluation suite JSON (``python -m guard_plugins.eval.suite``), whose rows
    of this model's kind become the results tables. ``release_notes``: Markdown appended as
    the card's ``## Release notes`` section (the heading is added when missing).
    """
    kind = manifest["kind"]
    out = [f"# {manifest['name']} ({kind} classifier{', ' + version if version else ''})", ""]
    if untrained:
        out += ["> **Untrained development model.** Random classification head on the base "
                "encoder: scores are meaningless. For integration work only.", ""]
    out += _at_a_glance(manifest, version) + [""]
    out += ["## Intended use", "", _USE[kind], "", _FLAG_MEANS[kind], "",
            "Part of guard-plugins (Constitutional Classifiers as LLM middleware): load it with "
            "`guard_plugins.Guard.load(...)`, or through the LangChain and LiteLLM integrations. "
            "Meant as one layer of a deployment's safeguards, in front of or behind an LLM.", ""]
    out += _limits(kind, manifest)
    if results:
        out += _results(kind, results)
    out += _threshold_section(manifest)
    out += _dev_metrics(manifest)
    out += _training_data(manifest)
    out += _details(manifest)
    out += _parity(manifest)
    text = "\n".join(out)
    if release_notes:
        notes = release_notes.strip("\n")
        if not notes.startswith(RELEASE_NOTES):
            notes = f"{RELEASE_NOTES}\n\n{notes}"
        text += "\n" + notes + "\n"
    return text


# ---------------------------------------------------------------------------- regeneration
def _version_from_notes(notes: str) -> str | None:
    m = re.search(r"\*\*(v\d+\.\d+\.\d+)\b", notes)
    return m.group(1) if m else None


def regenerate(folder: str | Path, *, results: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Re-render ``folder/MODEL_CARD.md`` from ``folder/manifest.json``.

    Keeps the existing card's ``## Release notes`` section (and everything after it) verbatim,
    and updates only ``files["MODEL_CARD.md"]`` (sha256, bytes) of the manifest. Returns that
    entry.
    """
    folder = Path(folder)
    mpath, cpath = folder / "manifest.json", folder / "MODEL_CARD.md"
    raw = mpath.read_text(encoding="utf-8")
    manifest = json.loads(raw)
    old = cpath.read_text(encoding="utf-8") if cpath.exists() else ""
    i = old.find("\n" + RELEASE_NOTES)
    notes = old[i + 1:] if i >= 0 else None
    text = model_card(manifest, results=results, release_notes=notes,
                      version=_version_from_notes(notes) if notes else None)
    data = text.encode("utf-8")
    entry = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    expected = json.loads(raw)
    expected.setdefault("files", {}).setdefault("MODEL_CARD.md", {}).update(entry)
    # Edit the two values in place, so every other byte of the manifest stays as it was.
    new = re.sub(r'("MODEL_CARD\.md"\s*:\s*\{[^{}]*?"sha256"\s*:\s*")[0-9a-f]*(")',
                 lambda m: m.group(1) + entry["sha256"] + m.group(2), raw, count=1)
    new = re.sub(r'("MODEL_CARD\.md"\s*:\s*\{[^{}]*?"bytes"\s*:\s*)\d+',
                 lambda m: m.group(1) + str(entry["bytes"]), new, count=1)
    if json.loads(new) != expected:  # no such entry yet, or an unusual layout: write it whole
        new = json.dumps(expected, indent=2, default=str) + "\n"
    cpath.write_bytes(data)
    mpath.write_text(new, encoding="utf-8")
    return entry


def merge_results(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One suite result from several runs: rows and notes joined in order, the first run's
    ``languages`` part, models and thresholds, commands joined, seconds added."""
    if not runs:
        raise ValueError("no suite results to merge")
    out = dict(runs[0])
    out["rows"] = [r for run in runs for r in run.get("rows") or []]
    out["notes"] = [n for run in runs for n in run.get("notes") or []]
    out["languages"] = next((run["languages"] for run in runs if run.get("languages")), None)
    out["command"] = "`; `".join(str(run.get("command", "?")) for run in runs)
    out["seconds"] = sum(float(run.get("seconds") or 0) for run in runs)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m guard_plugins.export.card",
                                description="Re-render MODEL_CARD.md of exported model folders "
                                            "from their manifest.json (release notes kept).")
    p.add_argument("folders", nargs="+", type=Path, help="exported model folders (input/, output/)")
    p.add_argument("--results", type=Path, nargs="+", default=[],
                   help="evaluation suite JSON(s) for the results tables (several: their rows "
                        "are joined, e.g. an unseen/languages run and a real-world run)")
    a = p.parse_args(argv)
    results = None
    try:
        if a.results:
            results = merge_results([json.loads(f.read_text(encoding="utf-8")) for f in a.results])
        for f in a.folders:
            if not (f / "manifest.json").is_file():
                raise FileNotFoundError(f"{f}: no manifest.json (not an exported model folder)")
            e = regenerate(f, results=results)
            print(f"{f / 'MODEL_CARD.md'}: {e['bytes']} bytes, sha256 {e['sha256']}")
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
