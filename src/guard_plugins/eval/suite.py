"""The results suite: the models on sources and languages they never saw, the real-world dev
sets, the dev splits and every labelled public set.

    python -m guard_plugins.eval.suite --shared-data ../shared/data --data data/default \\
        --out reports/suite.md [--models DIR] [--max-per-set 400] [--sets NAME ...] \\
        [--realworld DIR | --no-realworld] [--max-per-realworld-set N] [--max-late-harm N] \\
        [--unseen DIR] [--multilingual FILE] [--previous JSON ...] [--realworld-results JSON] \\
        [--only|--sections unseen,languages,realworld,dev,public]

* **headline** (:mod:`guard_plugins.eval.headline`): the goals of issue 23, then the parts
  below in this order, then the pooled real-world rows against ``--previous``;
* **unseen sets** (:mod:`guard_plugins.eval.unseen`): every ``SHARED/unseen`` set
  (evaluation only), per set, per category and pooled over the English sets;
* **languages** (:mod:`guard_plugins.eval.languages`): FPR per language on the benign
  multilingual dev split, recall per language on the ``multijail`` / ``xsafety_multilingual``
  real-world dev splits, and the language-twin audit;
* **real-world dev sets** (in-distribution, :mod:`guard_plugins.eval.realworld`): every
  ``prompts/<set>/dev.jsonl`` (input) and ``responses/<set>/dev.jsonl`` (output) of
  ``--realworld`` (default ``SHARED/realworld`` when it exists and ``--sets`` does not pick
  public sets; ``--realworld-sets`` picks real-world ones), scored whole (never trained
  on, so nothing is dropped; ``--max-per-realworld-set`` caps them), one row per set plus
  pooled rows (all inputs, English inputs, English outputs). With them come the **late-harm
  check** (flagged harmful English responses with 5, 20, 100 benign sentences in front:
  share still flagged; ``--max-late-harm`` items) and the **shortcut audit** (benign openers
  and stock phrases scored alone: which are flagged);
* **dev splits**: ``DATA/inputs.dev.jsonl`` and ``DATA/outputs.dev.jsonl`` (``guard-synth``
  output): every input row (or ``--max-dev``), 1,000 sampled output rows
  (``--max-dev-outputs``; streaming is scored token by token);
* **public sets**: every set :func:`guard_plugins.synth.public.load_public` imports from the
  shared data folder (label policy there), one row per set. The public sets also feed
  ``guard-synth``'s training mix, so rows whose normalised text (input) or prompt (output)
  is in ``DATA``'s **train or calib** split are dropped first: only unseen rows are scored
  (the table says how many were dropped). Each set is sampled down to ``--max-per-set`` rows
  (``--max-per-output-set`` for output sets; fixed seed, class ratio kept) to bound the run
  time.

Output sets are scored whole (``check_output``) and with the streaming rule (realistic
chunks through ``stream.feed``). Sets with one class only get recall (harmful-only) or FPR
(benign-only); the other columns read ``n/a``.

Writes a markdown table (``--out``, for the README, with the command that made it) and the
same numbers as JSON next to it (``.json``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import metrics as M
from ..errors import DataError, GuardError
from .data import EvalData, EvalRecord, Kind, parse_eval_record, read_eval_file
from .evaluate import ChunkSpec, evaluate
from .headline import check_goals, headline_lines, load_rows
from .languages import run_languages
from .realworld import is_english, late_harm_check, run_realworld
from .realworld import shortcut_audit as run_audit
from .rows import SuiteRow, sample_records, suite_row
from .rows import fmt as _f
from .rows import fmt_pct as _pct
from .unseen import run_unseen

__all__ = ["SuiteRow", "PARTS", "run_suite", "render_suite", "main"]

#: The parts of the suite (``--only`` / ``--sections``), in the order they are run and rendered.
PARTS = ("unseen", "languages", "realworld", "dev", "public")

def _seen_keys(data_dir: Path | None) -> dict[Kind, set[str]]:
    """Normalised keys of the train + calib splits (rows the models were fit or calibrated on)."""
    from ..synth.split import normalise

    seen: dict[Kind, set[str]] = {"input": set(), "output": set()}
    if data_dir is None:
        return seen
    for kind, stem in (("input", "inputs"), ("output", "outputs")):
        for split in ("train", "calib"):
            p = data_dir / f"{stem}.{split}.jsonl"
            if not p.is_file():
                continue
            with p.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    seen[kind].add(normalise(_key(rec, kind)))
    return seen


def _key(rec: dict[str, Any], kind: Kind) -> str:
    if kind == "input":
        return str(rec.get("text", ""))
    prompt = str(rec.get("prompt") or "")
    return prompt if prompt.strip() else str(rec.get("response", ""))


def run_suite(guard: Any, *, data_dir: Path | None, shared_data: Path | None,
              sets: Sequence[str] | None = None, max_per_set: int | None = 400,
              max_per_output_set: int | None = 150, max_dev: int | None = None,
              max_dev_outputs: int | None = 1000, seed: int = 0, progress: bool = True,
              models: str | None = None,
              kinds: Sequence[str] = ("input", "output"), realworld: Path | None = None,
              max_per_realworld_set: int | None = None, max_late_harm: int | None = 300,
              late_harm_ks: Sequence[int] = (5, 20, 100), shortcut_audit: bool = True,
              realworld_sets: Sequence[str] | None = None,
              parts: Sequence[str] = PARTS, unseen: Path | None = None,
              unseen_sets: Sequence[str] | None = None, max_per_unseen_set: int | None = None,
              multilingual: Path | None = None, max_language_rows: int | None = None
              ) -> dict[str, Any]:
    """Evaluate on the real-world dev sets, the dev splits and the public sets.

    Returns ``{"rows": [...], "notes": [...], "late_harm": {...} | None,
    "shortcut_audit": {...} | None, "unseen_groups": {...}, "languages": {...} | None}``;
    unseen rows come first (group ``unseen``), then real-world rows (group ``realworld``).
    ``unseen``: the unseen folder (``prompts/<set>/test.jsonl``, ``responses/<set>/test.jsonl``;
    ``None``: skipped), ``unseen_sets`` its sets (default: all), ``max_per_unseen_set`` a cap;
    ``multilingual``: the benign multilingual dev file of the languages part (``None``: its FPR
    and twin audit are skipped; recall per language needs ``realworld``), ``max_language_rows``
    a cap per file. ``realworld``: the real-world folder (``None``: skipped), ``realworld_sets``
    its sets to score (default: all); ``max_late_harm=0`` skips the late-harm check;
    ``parts``: which of :data:`PARTS` to run.
    """
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise GuardError(f"unknown suite part(s) {unknown}; known: {list(PARTS)}")
    rows: list[SuiteRow] = []
    notes: list[str] = []
    late: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None
    unseen_groups: dict[str, Any] = {}
    languages: dict[str, Any] | None = None
    chunking = ChunkSpec(seed=seed)
    if "unseen" in parts and unseen is not None:
        un = run_unseen(guard, unseen, sets=unseen_sets, max_per_set=max_per_unseen_set,
                        seed=seed, chunking=chunking, progress=progress, models=models,
                        kinds=kinds)
        rows += un["rows"]
        notes += un["notes"]
        unseen_groups = un["groups"]
    elif "unseen" in parts:
        notes.append("no unseen data folder (--unseen): unseen sets skipped")
    if "languages" in parts and "input" in kinds and (multilingual is not None or realworld is not None):
        languages = run_languages(guard, multilingual=multilingual, realworld=realworld,
                                  max_rows=max_language_rows, seed=seed, progress=progress,
                                  models=models)
        notes += languages.pop("notes")
    elif "languages" in parts:
        notes.append("languages part skipped (needs the input guard and --multilingual or --realworld)")
    if "realworld" in parts and realworld is not None:
        rw = run_realworld(guard, realworld, sets=realworld_sets,
                           max_per_set=max_per_realworld_set, seed=seed,
                           chunking=chunking, progress=progress, models=models, kinds=kinds,
                           row=suite_row)
        rows += rw["rows"]
        notes += rw["notes"]
        if "output" in kinds and max_late_harm != 0:
            recs: list[EvalRecord] = []
            flagged: list[bool] = []
            for key, d in rw["data"].items():
                if key[0] != "output":
                    continue
                for rec, it in zip(d.records, rw["results"][key].items):
                    if rec.label == 1 and is_english(rec):
                        recs.append(rec)
                        flagged.append(it.flagged)
            late = late_harm_check(guard, recs, ks=late_harm_ks, max_items=max_late_harm,
                                   seed=seed, flagged=flagged, progress=progress)
        if shortcut_audit:
            audit = run_audit(guard, kinds=kinds, seed=seed)
    elif "realworld" in parts:
        notes.append("no real-world data folder (--realworld): real-world dev sets skipped")
    if "dev" in parts and data_dir is not None:
        for kind, stem in (("input", "inputs"), ("output", "outputs")):
            if kind not in kinds:
                continue
            p = data_dir / f"{stem}.dev.jsonl"
            if not p.is_file():
                notes.append(f"{p}: not found, dev {kind} split skipped")
                continue
            d = read_eval_file(p, kind)  # type: ignore[arg-type]
            d.records = sample_records(d.records, max_dev if kind == "input" else max_dev_outputs, seed)
            res = evaluate(guard, d, chunking=chunking, progress=progress, models=models)
            rows.append(suite_row(f"dev ({stem}.dev.jsonl)", res, {"group": "dev", "dropped_seen": 0}))
    if "public" in parts and shared_data is not None:
        try:
            from ..synth.public import load_public
        except ImportError as e:
            raise GuardError(f"guard_plugins.synth.public is not available ({e})") from None
        inputs, outputs, report = load_public(Path(shared_data), sets=list(sets) if sets else None,
                                              progress=progress)
        seen = _seen_keys(data_dir)
        if data_dir is None:
            notes.append("no --data: public rows seen in training could not be dropped")
        from ..synth.split import normalise

        for kind, recs in (("input", inputs), ("output", outputs)):
            if kind not in kinds:
                continue
            by_set: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in recs:
                name = str(r.get("source", "public/?")).removeprefix("public/")
                if name.startswith("realworld_"):
                    # the train parts of the realworld sets: their dev parts are the headline
                    # rows above; train rows are in the mix (or dropped by the dev guard)
                    continue
                by_set[name].append(r)
            for name in sorted(by_set):
                good: list[EvalRecord] = []
                dropped = invalid = 0
                for i, r in enumerate(by_set[name], 1):
                    if normalise(_key(r, kind)) in seen[kind]:  # type: ignore[index]
                        dropped += 1
                        continue
                    try:
                        good.append(parse_eval_record(r, kind, i))  # type: ignore[arg-type]
                    except ValueError as e:
                        invalid += 1
                        if invalid == 1:
                            notes.append(f"{name} ({kind}) row {i}: {e}")
                if invalid:
                    notes.append(f"{name} ({kind}): {invalid} rows not scorable (not counted)")
                if not good:
                    notes.append(f"{name} ({kind}): every row is in the train/calib split")
                    continue
                kept = sample_records(good, max_per_set if kind == "input" else max_per_output_set, seed)
                d = EvalData(path=f"public/{name}", kind=kind, records=kept, bad=[])  # type: ignore[arg-type]
                res = evaluate(guard, d, chunking=chunking, progress=progress, models=models)
                rows.append(suite_row(name, res, {"group": "public", "dropped_seen": dropped,
                                             "unseen": len(good),
                                             "license": report.get(name, {}).get("license")}))
        for name, entry in report.items():
            if entry.get("missing"):
                notes.append(f"{name}: files missing ({', '.join(entry['missing'])})")
    return {"rows": rows, "notes": notes, "late_harm": late, "shortcut_audit": audit,
            "unseen_groups": unseen_groups, "languages": languages}


def _two_class(r: SuiteRow, key: str) -> Any:
    """A metric that needs both classes (precision, F1, AUPRC, ...): None on one-class sets."""
    return r.get(key) if r["n_pos"] and r["n_neg"] else None


_IN_HEAD = ["| set | n | harmful | seen (dropped) | precision | recall | F1 | FPR % | AUPRC | recall @ 1 % FPR |",
            "|---|---|---|---|---|---|---|---|---|---|"]
_OUT_HEAD = ["| set | n | harmful | seen (dropped) | F1 | recall | FPR % | AUPRC | stream F1 | stream recall | stream FPR % | median tokens before halt |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]


def _name(r: SuiteRow) -> str:
    return f"**{r['set']}**" if r.get("pooled") else r["set"]


def _col4(r: SuiteRow, realworld: bool) -> str:
    """Fourth column: rows dropped as seen (dev/public) or the English share (real-world)."""
    if not realworld:
        return str(r.get("dropped_seen", 0))
    return _f(r.get("english_share"), True) if "english_share" in r else "n/a"


def _head(head: list[str], realworld: bool) -> list[str]:
    return [head[0].replace("seen (dropped)", "English %") if realworld else head[0], head[1]]


def _input_lines(rows: Sequence[SuiteRow], realworld: bool = False) -> list[str]:
    lines = _head(_IN_HEAD, realworld)
    for r in rows:
        lines.append(f"| {_name(r)} | {r['n']} | {r['n_pos']} | {_col4(r, realworld)} | "
                     f"{_f(_two_class(r, 'precision'))} | {_f(r['recall'])} | "
                     f"{_f(_two_class(r, 'f1'))} | {_f(r['fpr'], True)} | "
                     f"{_f(_two_class(r, 'auprc'))} | {_f(r['recall_at_1pct_fpr'])} |")
    return lines + [""]


def _output_lines(rows: Sequence[SuiteRow], realworld: bool = False) -> list[str]:
    lines = _head(_OUT_HEAD, realworld)
    for r in rows:
        lines.append(f"| {_name(r)} | {r['n']} | {r['n_pos']} | {_col4(r, realworld)} | "
                     f"{_f(_two_class(r, 'f1'))} | {_f(r['recall'])} | {_f(r['fpr'], True)} | "
                     f"{_f(_two_class(r, 'auprc'))} | {_f(_two_class(r, 'stream_f1'))} | "
                     f"{_f(r.get('stream_recall'))} | {_f(r.get('stream_fpr'), True)} | "
                     f"{_pct(r.get('median_halt'))} |")
    return lines + [""]


def _late_harm_lines(late: dict[str, Any]) -> list[str]:
    lines = ["### Late harm: benign sentences before a flagged harmful response", "",
             f"{late['n']} harmful English real-world dev responses the output guard flags on "
             f"their own (of {late['candidates']} harmful; at most the `--max-late-harm` cap), "
             "each with k ordinary benign sentences (weather, cooking, history trivia) put in "
             "front. Scored by the streaming rule (the stream halts when any prefix value "
             "passes the threshold; `check_output` takes the same maximum over tokens). A share "
             "below 100 % means a benign lead-in hides harm the guard otherwise catches.", "",
             "| k benign sentences | n | still flagged | share | median score |",
             "|---|---|---|---|---|"]
    for r in late["rows"]:
        lines.append(f"| {r['k']} | {r['n']} | {r['flagged']} | {_pct(r['share'])} | "
                     f"{_f(r.get('median_score'))} |")
    return lines + [""]


def _audit_lines(audit: dict[str, Any]) -> list[str]:
    lines = ["### Shortcut audit: benign openers scored alone", "",
             "Openers and stock phrases (the offline generator's vocabulary, common openers of "
             "real answers) scored as the whole response, streaming rule; a flagged one is a "
             "learned shortcut (goal: none). First after a generic request "
             f"(\"{audit.get('prompt', '')}\"), then with an empty prompt (a caller that "
             "streams without passing the prompt).", ""]
    outs = audit.get("output") or []
    for key, ctx in (("", "after the generic request"), ("_no_prompt", "with an empty prompt")):
        if not outs:
            break
        flagged = [e for e in outs if e[f"flagged{key}"]]
        top = max(outs, key=lambda e: e[f"score{key}"])
        lines.append(f"- output guard, {len(outs)} phrases {ctx}: **{len(flagged)} flagged** "
                     f"(highest score {_f(top[f'score{key}'])}: \"{top['phrase']}\").")
        shown = sorted(flagged, key=lambda e: -e[f"score{key}"])
        for e in shown[:15]:
            lines.append(f"  - {_f(e[f'score{key}'])} \"{e['phrase']}\" ({e.get('source') or 'output'})")
        if len(shown) > 15:
            lines.append(f"  - ... and {len(shown) - 15} more (JSON: `shortcut_audit`)")
    ins = audit.get("input") or []
    if ins:
        flagged = [e for e in ins if e["flagged"]]
        top = max(ins, key=lambda e: e["score"])
        lines.append(f"- input guard, {len(ins)} short benign prompts: **{len(flagged)} flagged** "
                     f"(highest score {_f(top['score'])}: \"{top['phrase']}\").")
        for e in flagged:
            lines.append(f"  - {_f(e['score'])} \"{e['phrase']}\"")
    return lines + [""]


def render_suite(result: dict[str, Any], command: str, meta: dict[str, Any],
                 previous: dict[str, dict[str, Any]] | None = None,
                 realworld_rows: dict[str, dict[str, Any]] | None = None) -> str:
    """Markdown: the headline (goals, unseen sets, languages, pooled real-world rows against
    ``previous``), then the real-world dev sets (with the late-harm check and the shortcut
    audit), then the dev split and public sets (inputs, then outputs)."""
    lines = ["# Results suite", "",
             f"Made with: `{command}`", "",
             f"Models: `{meta.get('models') or 'embedded defaults'}` (input threshold "
             f"{_f(meta.get('input_threshold'))}, output threshold {_f(meta.get('output_threshold'))}); "
             f"{meta.get('seconds', 0):.0f} s on {meta.get('machine', 'this machine')}.", "",
             "Label 1 = harmful. Precision, recall, F1 and FPR at the shipped threshold; AUPRC; "
             "recall at 1 % FPR. Public rows whose text is in the training or calibration split "
             "were dropped (`seen`), the rest sampled to at most the `n` shown (class ratio "
             "kept). One-class sets: only recall (harmful) or FPR (benign) applies.", ""]
    lines += headline_lines(result, previous, realworld_rows,
                            previous_label=meta.get("previous_label") or "previous release")
    rows = result["rows"]
    real = [r for r in rows if r.get("group") == "realworld"]
    rest = [r for r in rows if r.get("group") not in ("realworld", "unseen")]
    late, audit = result.get("late_harm"), result.get("shortcut_audit")
    if real or late or audit:
        lines += ["## Real-world dev sets (in-distribution)", "",
                  "`realworld/{prompts,responses}/<set>/dev.jsonl` of the shared data: public text "
                  "by real people and real LLMs, labelled by people or a strong judge, never "
                  "trained or calibrated on, scored whole (no row dropped). The split is by text, "
                  "not by goal or template, so these numbers are in-distribution for models "
                  "trained on the train parts. Pooled rows (bold): every set's rows together; "
                  "English = `language` field `en` or absent (some sets are mostly Chinese or "
                  "multilingual, which an English tokenizer reads poorly).", ""]
        ins = [r for r in real if r["kind"] == "input"]
        outs = [r for r in real if r["kind"] == "output"]
        if ins:
            lines += ["### Input guard", ""] + _input_lines(ins, realworld=True)
        if outs:
            lines += ["### Output guard (whole response / streaming rule)", ""] + _output_lines(outs, realworld=True)
        if late:
            lines += _late_harm_lines(late)
        if audit:
            lines += _audit_lines(audit)
    ins = [r for r in rest if r["kind"] == "input"]
    outs = [r for r in rest if r["kind"] == "output"]
    if ins:
        lines += ["## Input guard", ""] + _input_lines(ins)
    if outs:
        lines += ["## Output guard (whole response / streaming rule)", ""] + _output_lines(outs)
    lines += points_lines(rows)
    if result["notes"]:
        lines += ["Notes:", ""] + [f"- {n}" for n in result["notes"]] + [""]
    return "\n".join(lines)


def points_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Every set at each named operating point of the manifests (``row["points"]``; outputs
    under the streaming rule); nothing when the models have no named points."""
    have = [r for r in rows if r.get("points")]
    if not have:
        return []
    names = sorted({n for r in have for n in r["points"]})
    out = ["## Every set at each operating point", "",
           "Precision / recall / F1 / FPR at each named threshold of the manifests (`standard`: "
           "the release threshold, the shipped default; `strict`: at most 1 % of hard benign "
           "calib traffic flagged, mean over strata; `balanced`: best source-balanced F1 on the "
           "real calib rows). Outputs: the whole-response score (the "
           "streaming rule's running maximum over every prefix). "
           "Thresholds: " + "; ".join(
               f"{k} {n} {_f(next(r['points'][n]['threshold'] for r in have if r['kind'] == k and n in r['points']))}"
               for k in ("input", "output") for n in names
               if any(r["kind"] == k and n in r["points"] for r in have)) + ".", "",
           "| set | kind | n | " + " | ".join(f"{n} P / R / F1 / FPR" for n in names) + " |",
           "|---|---|---|" + "---|" * len(names)]
    for r in have:
        cells = []
        for n in names:
            p = r["points"].get(n)
            cells.append("–" if p is None else " / ".join(
                _pct(p[m]) if m == "fpr" else _f(p[m]) for m in ("precision", "recall", "f1", "fpr")))
        out.append(f"| {r['set']} | {r['kind']} | {r['n']} | " + " | ".join(cells) + " |")
    return out + [""]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m guard_plugins.eval.suite",
        description="Evaluate the models on the real-world dev sets (headline), the dev splits "
                    "and every labelled public set; write a markdown results table (and JSON "
                    "next to it).")
    p.add_argument("--shared-data", type=Path, default=None,
                   help="public data folder (e.g. ../shared/data; its realworld/ is the default "
                        "--realworld); omit to skip public sets")
    p.add_argument("--data", type=Path, default=None,
                   help="guard-synth output folder (dev splits; train/calib rows are dropped "
                        "from the public sets)")
    p.add_argument("--out", type=Path, required=True, help="markdown file to write")
    p.add_argument("--models", type=Path, default=None,
                   help="exported models folder (default: the embedded default models)")
    p.add_argument("--sets", nargs="+", default=None, metavar="NAME",
                   help="only these public sets (default: every default set)")
    p.add_argument("--max-per-set", type=int, default=400,
                   help="rows sampled per public set (default: %(default)s; 0 = all)")
    p.add_argument("--max-per-output-set", type=int, default=150,
                   help="rows sampled per public output set (streaming is scored token by "
                        "token; default: %(default)s; 0 = all)")
    p.add_argument("--max-dev", type=int, default=0,
                   help="rows sampled from the dev input split (default: 0 = all)")
    p.add_argument("--max-dev-outputs", type=int, default=1000,
                   help="rows sampled from the dev output split (default: %(default)s; 0 = all)")
    p.add_argument("--kinds", nargs="+", choices=("input", "output"), default=["input", "output"],
                   help="which guards to evaluate (default: both)")
    p.add_argument("--realworld", type=Path, default=None, metavar="DIR",
                   help="real-world data folder (prompts/<set>/dev.jsonl, responses/<set>/dev.jsonl; "
                        "default: SHARED_DATA/realworld when it exists and --sets is not given)")
    p.add_argument("--realworld-sets", nargs="+", default=None, metavar="NAME",
                   help="only these real-world sets (folder names; default: every set)")
    p.add_argument("--no-realworld", action="store_true",
                   help="skip the real-world dev sets (and the late-harm check and shortcut audit)")
    p.add_argument("--max-per-realworld-set", type=int, default=0, metavar="N",
                   help="rows sampled per real-world dev set (default: 0 = all)")
    p.add_argument("--max-late-harm", type=int, default=300, metavar="N",
                   help="flagged harmful real-world responses in the late-harm check "
                        "(default: %(default)s; 0 = skip the check)")
    p.add_argument("--no-shortcut-audit", action="store_true",
                   help="skip the shortcut audit (benign openers scored alone)")
    p.add_argument("--only", "--sections", dest="only", nargs="+", default=None, metavar="PART",
                   help=f"run only these parts ({', '.join(PARTS)}; space- or comma-separated, "
                        "e.g. --sections unseen,languages; default: every part with data)")
    p.add_argument("--unseen", type=Path, default=None, metavar="DIR",
                   help="unseen data folder (prompts/<set>/test.jsonl, responses/<set>/test.jsonl; "
                        "evaluation only; default: SHARED_DATA/unseen when it exists and --sets "
                        "is not given)")
    p.add_argument("--unseen-sets", nargs="+", default=None, metavar="NAME",
                   help="only these unseen sets (folder names; default: every set)")
    p.add_argument("--max-per-unseen-set", type=int, default=0, metavar="N",
                   help="rows sampled per unseen set (stratified, --seed; default: 0 = all)")
    p.add_argument("--multilingual", type=Path, default=None, metavar="FILE",
                   help="benign multilingual dev file of the languages part (default: "
                        "SHARED_DATA/prompts_benign/multilingual/dev.jsonl when it exists)")
    p.add_argument("--max-language-rows", type=int, default=0, metavar="N",
                   help="rows sampled per file in the languages part (default: 0 = all)")
    p.add_argument("--previous", nargs="+", type=Path, default=None, metavar="JSON",
                   help="suite JSON file(s) of the release to compare with (rows matched by set "
                        "name, a later file wins): the headline's 'previous' columns and goals")
    p.add_argument("--previous-label", default=None, metavar="TEXT",
                   help="what --previous is, for the headline (default: the file names)")
    p.add_argument("--realworld-results", type=Path, default=None, metavar="JSON",
                   help="suite JSON of the same models whose pooled real-world rows the headline "
                        "quotes when the realworld part is not run")
    p.add_argument("--seed", type=int, default=0, help="sampling and chunking seed (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    realworld: Path | None = None
    if not args.no_realworld:
        if args.realworld is not None:
            realworld = args.realworld
        elif (args.shared_data is not None and args.sets is None
              and (args.shared_data / "realworld").is_dir()):
            # --sets asks for a targeted run of named public sets: no default real-world part
            realworld = args.shared_data / "realworld"
    if (args.shared_data is None and args.data is None and realworld is None
            and args.unseen is None and args.multilingual is None):
        print("suite: error: pass --data and/or --shared-data (or --realworld, --unseen, "
              "--multilingual)", file=sys.stderr)
        return 2
    if min(args.max_per_realworld_set, args.max_late_harm, args.max_per_unseen_set,
           args.max_language_rows) < 0:
        print("suite: error: --max-per-realworld-set, --max-late-harm, --max-per-unseen-set and "
              "--max-language-rows must be >= 0", file=sys.stderr)
        return 2
    parts = PARTS
    if args.only:
        parts = tuple(x.strip() for a in args.only for x in a.split(",") if x.strip())
        bad = [x for x in parts if x not in PARTS]
        if bad or not parts:
            print(f"suite: error: --only/--sections: unknown part(s) {bad}; known: "
                  f"{', '.join(PARTS)}", file=sys.stderr)
            return 2
    unseen: Path | None = args.unseen
    multilingual: Path | None = args.multilingual
    if args.shared_data is not None and args.sets is None:
        if unseen is None and (args.shared_data / "unseen").is_dir():
            unseen = args.shared_data / "unseen"
        ml = args.shared_data / "prompts_benign" / "multilingual" / "dev.jsonl"
        if multilingual is None and ml.is_file():
            multilingual = ml
    if not args.only:  # by default, the parts whose data is there (no note for the others)
        parts = tuple(p for p in PARTS if not (p == "unseen" and unseen is None)
                      and not (p == "languages" and multilingual is None and realworld is None))
    try:
        previous = load_rows(args.previous) if args.previous else None
        rw_rows = load_rows([args.realworld_results]) if args.realworld_results else None
    except DataError as e:
        print(f"suite: error: {e}", file=sys.stderr)
        return 2
    from .cli import load_guard

    try:
        guard = load_guard(args.models)
    except GuardError as e:
        print(f"suite: error: cannot load models: {e}", file=sys.stderr)
        return 3
    t0 = time.perf_counter()
    try:
        result = run_suite(guard, data_dir=args.data, shared_data=args.shared_data, sets=args.sets,
                           max_per_set=args.max_per_set or None,
                           max_per_output_set=args.max_per_output_set or None,
                           max_dev=args.max_dev or None,
                           max_dev_outputs=args.max_dev_outputs or None,
                           seed=args.seed, progress=not args.no_progress, kinds=args.kinds,
                           models=None if args.models is None else str(args.models),
                           realworld=realworld, realworld_sets=args.realworld_sets,
                           max_per_realworld_set=args.max_per_realworld_set or None,
                           max_late_harm=args.max_late_harm,
                           shortcut_audit=not args.no_shortcut_audit,
                           parts=parts, unseen=unseen, unseen_sets=args.unseen_sets,
                           max_per_unseen_set=args.max_per_unseen_set or None,
                           multilingual=multilingual,
                           max_language_rows=args.max_language_rows or None)
        result["goals"] = check_goals(result, previous)
    except (DataError, GuardError) as e:
        print(f"suite: error: {e}", file=sys.stderr)
        return 2
    import os
    import platform

    meta = {"models": None if args.models is None else str(args.models),
            "input_threshold": getattr(getattr(guard, "input", None), "threshold", None),
            "output_threshold": getattr(getattr(guard, "output", None), "threshold", None),
            "seconds": time.perf_counter() - t0,
            "machine": f"{os.cpu_count()} CPU cores ({platform.machine()})",
            "previous": [str(p) for p in args.previous] if args.previous else None,
            "previous_label": args.previous_label or (
                ", ".join(f"`{p}`" for p in args.previous) if args.previous else None),
            "realworld_results": None if args.realworld_results is None else str(args.realworld_results)}
    argv_s = argv if argv is not None else sys.argv[1:]
    command = "python -m guard_plugins.eval.suite " + " ".join(shlex.quote(a) for a in argv_s)
    md = render_suite(result, command, meta, previous=previous, realworld_rows=rw_rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md, encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps(M.json_safe({"command": command, **meta, **result}), indent=2) + "\n",
        encoding="utf-8")
    print(md)
    print(f"suite: wrote {args.out} and {args.out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
