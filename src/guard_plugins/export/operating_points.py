"""Named operating points for exported models, calibrated through the runtime.

``guard-export operating-points MODELS --data DATASET`` scores the dataset's **calib** split
(``inputs.calib.jsonl`` / ``outputs.calib.jsonl``: held back from training by
``guard-synth``'s leak-free split) with the torch-free runtime, exactly as deployed, and writes
three named thresholds into each model's manifest:

* ``strict``: the lowest threshold at which at most ``target_fpr`` (1 %) of **hard benign
  real traffic** is flagged. The real benign rows are put in strata (inputs: look-alikes,
  multi-turn, coding, real user traffic, everyday questions, non-English; outputs: refusals,
  look-alike answers, coding, judged-benign answers to attack prompts, everyday answers,
  non-English) and the FPR is the *mean over strata*, so the thousands of easy one-line
  questions cannot hide the few hundred hard cases. Two strata are reported at every point
  but do not move the threshold (:data:`EXCLUDED`): non-English rows in a language the input
  manifest does not validate (``languages.validated``; the ``unvalidated_language`` option
  governs them), and guard-synth's template rows, which are not traffic anyone sends (the
  shipped output model scores its compliance-style benign templates high: that weakness is
  reported, not calibrated away by a threshold near 1).
* ``standard`` (the default): the threshold ``guard-train`` calibrated (1 % FPR on the real
  calib records of the model's own training dataset), kept as it was so that a release's
  behaviour does not change under its users, and measured on this calib split like the
  others.
* ``balanced``: the threshold with the best F1 on the **real** (non-synthetic) calib rows,
  every source weighted equally within its label (label totals kept), so one large source
  does not choose the point.

The manifest's ``threshold`` becomes the ``default_operating_point``'s (``standard`` unless
``--default`` says otherwise) and every point records what it measured on the calib split.
The dev and ``unseen/`` sets are never read here: they stay evaluation data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, GuardError
from .manifest import model_sha256, rewrite_manifest

__all__ = ["POINTS", "EXCLUDED", "input_stratum", "output_stratum", "strict_threshold",
           "balanced_threshold", "trained_threshold", "source_weights", "describe_point",
           "calibrate_folder", "write_points", "main"]

POINTS = ("strict", "standard", "balanced")
#: benign strata reported at every point but not used to set ``strict``: languages the input
#: model is not validated on (the ``unvalidated_language`` option governs them) and
#: guard-synth's template rows (not real traffic)
EXCLUDED = ("unvalidated_language", "synthetic")
DEFAULT_TARGET_FPR = 0.01
_CODE = re.compile(r"```|\b(def|class|import|return|function|const|var|printf|SELECT|sudo|npm|pip|"
                   r"python|javascript|typescript|java|c\+\+|rust|golang|bash|regex|sql|json|html|"
                   r"css|api|compile[rd]?|stack ?trace|segfault|exception|traceback|git)\b", re.I)
_TURN = re.compile(r"(^|\n)\s*(user|human|assistant|ai|system)\s*:", re.I)
_ENGLISH = {None, "", "?", "en"}


def _is_synthetic(source: Any) -> bool:
    return str(source or "").startswith("synthetic")


def _lang(extra: Mapping[str, Any]) -> str | None:
    lang = extra.get("language")
    return None if lang in _ENGLISH else str(lang)


def input_stratum(text: str, extra: Mapping[str, Any]) -> str:
    """Calibration stratum of a benign prompt (first rule that matches)."""
    if _is_synthetic(extra.get("source")):
        return "synthetic"
    if _lang(extra):
        return "non_english"
    kind = str(extra.get("kind") or "")
    if kind == "multi_turn" or len(_TURN.findall(text)) >= 2:
        return "multi_turn"
    if _CODE.search(text):
        return "coding"
    if extra.get("lookalike") is True or "lookalike" in kind:
        return "lookalike"
    if kind == "real_user":
        return "real_user"
    return "everyday"


#: real benign answers to prompts that only look harmful (pseudo-harmful, XSTest-style,
#: medical and safety questions)
LOOKALIKE_OUTPUT_SOURCES = ("phtest", "xstest", "medical_safety", "dolly_safety")


def output_stratum(prompt: str, response: str, extra: Mapping[str, Any]) -> str:
    """Calibration stratum of a benign (prompt, response) pair (first rule that matches)."""
    source = str(extra.get("source") or "")
    if _is_synthetic(source):
        return "synthetic"
    if _lang(extra):
        return "non_english"
    kind = str(extra.get("kind") or "")
    if kind == "refusal":
        return "refusal"
    if _CODE.search(response) or _CODE.search(prompt):
        return "coding"
    if any(k in source for k in LOOKALIKE_OUTPUT_SOURCES):
        return "lookalike"
    if kind == "public":
        return "attack_context"  # judged-benign answers to harmful or jailbreak prompts
    return "everyday"


def strict_threshold(scores: np.ndarray, strata: Sequence[str], target_fpr: float) -> float:
    """Lowest threshold whose mean FPR over the strata of the benign ``scores`` is at most
    ``target_fpr`` (flag when ``score >= threshold``)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        raise DataError("no benign calibration rows to set the strict point on")
    if not np.all(np.isfinite(s)):
        raise DataError("non-finite calibration scores")
    groups = defaultdict(list)
    for v, g in zip(s, strata):
        groups[g].append(v)
    sorted_groups = [np.sort(np.asarray(v)) for v in groups.values()]
    # candidates: just above each benign score (that score no longer flagged), and 0
    cand = np.concatenate([[0.0], np.nextafter(np.unique(s), np.inf)])

    def mean_fpr(t: np.ndarray) -> np.ndarray:
        return np.mean([(g.size - np.searchsorted(g, t, side="left")) / g.size
                        for g in sorted_groups], axis=0)

    ok = np.nonzero(mean_fpr(cand) <= target_fpr + 1e-12)[0]
    if cand[ok[0]] > 1.0:  # a benign row scored 1.0: no threshold in [0, 1] reaches the target
        warnings.warn(f"benign rows score 1.0: the strict point is capped at 1.0 (mean FPR "
                      f"{float(mean_fpr(np.array([1.0]))[0]):.4f} > target {target_fpr})", stacklevel=2)
        return 1.0
    return float(cand[ok[0]])


def trained_threshold(manifest: Mapping[str, Any]) -> float:
    """The ``standard`` point: a manifest's own ``standard`` when it has one, else the
    threshold guard-train calibrated (``metrics.calibration.threshold``), else ``threshold``."""
    std = ((manifest.get("operating_points") or {}).get("standard") or {}).get("threshold")
    if std is None:
        std = ((manifest.get("metrics") or {}).get("calibration") or {}).get("threshold")
    return float(manifest["threshold"] if std is None else std)


def source_weights(labels: np.ndarray, sources: Sequence[str]) -> np.ndarray:
    """Row weights giving every source the same total weight within its label, label totals
    unchanged (a source of 5,000 rows counts as much as one of 50)."""
    y = np.asarray(labels).astype(int)
    w = np.zeros(y.size)
    for lab in (0, 1):
        idx = np.nonzero(y == lab)[0]
        if idx.size == 0:
            continue
        counts = Counter(sources[i] for i in idx)
        per_source = idx.size / len(counts)
        for i in idx:
            w[i] = per_source / counts[sources[i]]
    return w


def balanced_threshold(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """Threshold with the best weighted F1 (flag when ``score >= threshold``); among equal F1
    the highest threshold."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    w = np.asarray(weights, dtype=np.float64)
    if not y.any() or y.all():
        raise DataError("the balanced point needs harmful and benign real calibration rows")
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    tp = np.cumsum(w * y)
    fp = np.cumsum(w * ~y)
    pos = float(np.sum(w * y))
    last = np.r_[s[1:] != s[:-1], True]  # the cut must fall between distinct scores
    f1 = np.where(last, 2 * tp / np.maximum(tp + fp + pos, 1e-12), -1.0)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)[0]
    return float(s[best])


def describe_point(threshold: float, scores: np.ndarray, labels: np.ndarray, strata: Sequence[str],
                   real: np.ndarray, weights: np.ndarray, excluded: set[str]) -> dict[str, Any]:
    """What one threshold does on the calib split (the numbers the manifest records)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    flag = s >= threshold
    st = np.asarray(strata, dtype=object)
    by: dict[str, dict[str, Any]] = {}
    for g in sorted(set(st[~y])):
        m = ~y & (st == g)
        by[g] = {"n": int(m.sum()), "fpr": round(float(flag[m].mean()), 4)}
        if g in excluded:
            by[g]["excluded"] = True
    inc = [v["fpr"] for g, v in by.items() if g not in excluded]
    r = np.asarray(real, dtype=bool) & ~np.isin(st, list(excluded))
    tp = float(np.sum(weights[r] * (y[r] & flag[r])))
    fp = float(np.sum(weights[r] * (~y[r] & flag[r])))
    fn = float(np.sum(weights[r] * (y[r] & ~flag[r])))
    prec = tp / (tp + fp) if tp + fp else None
    rec = tp / (tp + fn) if tp + fn else None
    return {
        "threshold": float(threshold),
        "benign_fpr_mean_over_strata": round(float(np.mean(inc)), 4) if inc else None,
        "benign_fpr_by_stratum": by,
        "recall": round(float(flag[y].mean()), 4) if y.any() else None,
        "recall_real": round(float(flag[y & np.asarray(real, dtype=bool)].mean()), 4)
        if (y & np.asarray(real, dtype=bool)).any() else None,
        "real_source_balanced": {"precision": None if prec is None else round(prec, 4),
                                 "recall": None if rec is None else round(rec, 4),
                                 "f1": round(2 * prec * rec / (prec + rec), 4)
                                 if prec is not None and rec is not None and prec + rec else 0.0},
    }


# --------------------------------------------------------------------------- data and scoring
def _read_calib(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DataError(f"{path}: calib split not found (a guard-synth dataset folder has "
                        "inputs.calib.jsonl and outputs.calib.jsonl)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not JSON ({e})") from None
            if not isinstance(r, dict) or r.get("label") not in (0, 1):
                got = r.get("label") if isinstance(r, dict) else r
                raise DataError(f"{path}:{n}: label must be 0 or 1, got {got!r}")
            need = "text" if path.name.startswith("inputs") else "response"
            if not isinstance(r.get(need), str) or not r[need].strip():
                raise DataError(f"{path}:{n}: '{need}' must be a non-empty string")
            rows.append(r)
    if not rows:
        raise DataError(f"{path}: empty calib split")
    return rows


def _sample(rows: list[dict[str, Any]], key: Any, cap: int, seed: int) -> list[dict[str, Any]]:
    if cap <= 0:
        return rows
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    rng = random.Random(seed)
    out = []
    for k in sorted(groups, key=str):
        g = groups[k]
        out.extend(g if len(g) <= cap else rng.sample(g, cap))
    return out


def _score(guard: Any, kind: str, rows: list[dict[str, Any]], progress: bool) -> np.ndarray:
    from tqdm.auto import tqdm

    scores: list[float] = []
    step = 32 if kind == "input" else 8
    with tqdm(total=len(rows), desc=f"operating points {kind}", unit="item",
              disable=not progress, file=sys.stderr) as bar:
        for i in range(0, len(rows), step):
            batch = rows[i:i + step]
            if kind == "input":
                vs = guard.check_inputs([r["text"] for r in batch])
            else:
                vs = guard.check_outputs([(r.get("prompt") or "", r["response"]) for r in batch])
            scores.extend(float(v.score) for v in vs)
            bar.update(len(batch))
    return np.asarray(scores)


def calibrate_folder(models: Path, data: Path, kind: str, *, target_fpr: float = DEFAULT_TARGET_FPR,
                     default: str = "standard", max_per_group: int = 1500, seed: int = 0,
                     min_stratum: int = 50, progress: bool = True, write: bool = True) -> dict[str, Any]:
    """Score ``data``'s calib split with ``models/<kind>`` and (``write``) record the points."""
    from ..runtime import Guard
    from ..runtime.input_guard import InputGuard
    from ..runtime.manifest import load_manifest
    from ..runtime.output_guard import OutputGuard

    folder = models / kind
    manifest = load_manifest(folder, kind=kind)
    path = data / f"{'inputs' if kind == 'input' else 'outputs'}.calib.jsonl"
    rows = _read_calib(path)
    validated = set((manifest.get("languages") or {}).get("validated") or [])

    def stratum(r: dict[str, Any]) -> str:
        if r["label"] == 1:
            return "harmful"
        if kind == "input":
            return input_stratum(r["text"], r)
        return output_stratum(r.get("prompt") or "", r["response"], r)

    def lang_key(r: dict[str, Any]) -> str:
        return _lang(r) or "en"

    for r in rows:  # once per row: the sampling key and the strata below use it
        r["_stratum"] = stratum(r)
    rows = _sample(rows, lambda r: (r["label"], r["_stratum"], r.get("source")), max_per_group, seed)
    t0 = time.perf_counter()
    if kind == "input":
        guard = Guard(InputGuard.load(folder, "cpu", window_cache_mb=0, on_oversize="scan"), None)
    else:
        guard = Guard(None, OutputGuard.load(folder, "cpu"))
    scores = _score(guard, kind, rows, progress)
    if not np.all(np.isfinite(scores)):
        raise DataError(f"{folder}: the model gave non-finite scores on {int((~np.isfinite(scores)).sum())} "
                        "calib rows; refusing to calibrate on them")
    labels = np.array([r["label"] for r in rows], dtype=int)
    strata = [r["_stratum"] for r in rows]
    # non-English rows in a language the input model is not validated on: reported apart
    if kind == "input" and validated:
        strata = [("unvalidated_language" if s != "harmful" and lang_key(r) not in validated else s)
                  for s, r in zip(strata, rows)]
    counts = Counter(g for g, y in zip(strata, labels) if y == 0)
    small = sorted(g for g, n in counts.items() if n < min_stratum and g not in EXCLUDED)
    if small:  # too few rows to estimate a 1 % FPR: pooled with the everyday rows
        strata = [("everyday" if g in small else g) for g in strata]
    excluded = set(EXCLUDED)
    keep = np.array([s not in excluded for s in strata])
    real = np.array([not _is_synthetic(r.get("source")) for r in rows])
    unvalidated_harm = np.array([bool(kind == "input" and validated and lang_key(r) not in validated)
                                 for r in rows], dtype=bool)
    real_in = real & keep & ~((labels == 1) & unvalidated_harm)
    sources = [str(r.get("source")) for r in rows]
    weights = np.zeros(len(rows))
    weights[real_in] = source_weights(labels[real_in], [sources[i] for i in np.nonzero(real_in)[0]])
    neg = (labels == 0) & keep
    t_strict = strict_threshold(scores[neg], [strata[i] for i in np.nonzero(neg)[0]], target_fpr)
    t_std = trained_threshold(manifest)
    t_bal = balanced_threshold(scores[real_in], labels[real_in], weights[real_in])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    common = {"data": f"{path.name} (sha256 {sha[:16]})", "n": int(len(rows)),
              "strata_pooled_into_everyday": small,
              "n_benign": int((labels == 0).sum()), "n_harmful": int((labels == 1).sum()),
              "scored_by": "guard_plugins runtime (onnxruntime, CPU), as deployed"}
    points = {
        "strict": {"rule": f"lowest threshold with mean benign FPR over the strata of real calib "
                           f"rows <= {target_fpr:g} (synthetic rows and languages the model is not "
                           "validated on reported, not counted)",
                   "target_fpr": target_fpr,
                   "calibration": {**common, **describe_point(t_strict, scores, labels, strata, real_in,
                                                              weights, excluded)}},
        "standard": {"rule": "the threshold guard-train calibrated for this model (1 % FPR on the "
                             "real calib records of its training dataset), kept so a release's "
                             "behaviour does not change under its users; measured here on this "
                             "calib split",
                     "calibration": {**common, **describe_point(t_std, scores, labels, strata, real_in,
                                                                weights, excluded)}},
        "balanced": {"rule": "best F1 on the real (non-synthetic) calib rows, sources weighted "
                             "equally within each label",
                     "calibration": {**common, **describe_point(t_bal, scores, labels, strata, real_in,
                                                                weights, excluded)}},
    }
    for p in points.values():
        p["threshold"] = p["calibration"].pop("threshold")
    if default not in points:
        raise GuardError(f"--default must be one of {list(points)}, got {default!r}")
    report = {"kind": kind, "models": str(folder), "model_sha256": model_sha256(manifest),
              "seconds": round(time.perf_counter() - t0, 1),
              "previous_threshold": manifest["threshold"], "default_operating_point": default,
              "operating_points": points}
    if write:
        write_points(folder, report)
    return report


def write_points(folder: Path, report: Mapping[str, Any]) -> None:
    """Write one kind's report (``operating_points``, ``default_operating_point``) into
    ``folder/manifest.json``; refuses a report measured on other weights."""
    from ..runtime.manifest import load_manifest

    manifest = load_manifest(folder, kind=report["kind"])
    if report.get("model_sha256") != model_sha256(manifest):
        raise GuardError(f"{folder}: the report was measured on another model.onnx "
                         f"(sha256 {str(report.get('model_sha256'))[:12]}, this one "
                         f"{model_sha256(manifest)[:12]}): calibrate this model instead")
    points = report["operating_points"]
    default = report["default_operating_point"]
    manifest["operating_points"] = points
    manifest["default_operating_point"] = default
    manifest["threshold"] = points[default]["threshold"]
    rewrite_manifest(folder, report["kind"], manifest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="guard-export operating-points",
        description="Calibrate named operating points (strict: <= 1% FPR on hard benign "
                    "traffic, mean over strata; balanced: best source-balanced F1 on real rows) "
                    "on a guard-synth dataset's calib split with the exported models, and write "
                    "them into the manifests.")
    p.add_argument("models", type=Path, help="exported models folder holding input/ and/or output/")
    p.add_argument("--data", type=Path, default=None,
                   help="guard-synth dataset folder with inputs.calib.jsonl / outputs.calib.jsonl")
    p.add_argument("--apply", type=Path, default=None, metavar="REPORT",
                   help="write the points of a --dry-run report (its --out JSON) instead of "
                        "scoring again; refused for a model whose weights differ")
    p.add_argument("--kinds", default="input,output", help="which models (default: %(default)s)")
    p.add_argument("--target-fpr", type=float, default=DEFAULT_TARGET_FPR,
                   help="strict point's mean benign FPR over strata (default: %(default)s)")
    p.add_argument("--default", default="standard", choices=POINTS,
                   help="the point whose threshold becomes the manifest's threshold (default: %(default)s)")
    p.add_argument("--max-per-group", type=int, default=1500,
                   help="rows scored per (label, stratum, source), seeded sample; 0 = all (default: %(default)s)")
    p.add_argument("--min-stratum", type=int, default=50,
                   help="benign strata with fewer rows are pooled with 'everyday' (a 1%% FPR "
                        "cannot be estimated on a handful of rows; default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dry-run", action="store_true", help="report, do not write the manifests")
    p.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ("input", "output")]
    if bad or not kinds:
        print(f"guard-export operating-points: error: --kinds takes input and/or output, got {args.kinds!r}",
              file=sys.stderr)
        return 2
    if not 0.0 <= args.target_fpr < 1.0:
        print("guard-export operating-points: error: --target-fpr must be in [0, 1)", file=sys.stderr)
        return 2
    reports = []
    if (args.data is None) == (args.apply is None):
        print("guard-export operating-points: error: pass --data DATASET (calibrate) or --apply "
              "REPORT (write a dry run's points)", file=sys.stderr)
        return 2
    try:
        if args.apply is not None:
            try:
                reports = json.loads(args.apply.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                raise GuardError(f"--apply {args.apply}: unreadable report ({e})") from None
            if isinstance(reports, dict):
                reports = [reports]
            if not isinstance(reports, list) or not all(
                    isinstance(r, dict) and {"kind", "operating_points", "default_operating_point"} <= set(r)
                    for r in reports):
                raise GuardError(f"--apply {args.apply}: not a report of guard-export operating-points "
                                 "--dry-run --out")
            todo = [r for r in reports if r["kind"] in kinds]
            if not todo:
                raise GuardError(f"--apply {args.apply}: no report for --kinds {args.kinds}")
            for r in todo:
                write_points(args.models / r["kind"], r)
            print(f"wrote the operating points of {args.apply} ({', '.join(r['kind'] for r in todo)}; "
                  f"default as measured: {', '.join(r['default_operating_point'] for r in todo)}) "
                  f"into {args.models}")
            return 0
        for k in kinds:
            reports.append(calibrate_folder(args.models, args.data, k, target_fpr=args.target_fpr,
                                            default=args.default, max_per_group=args.max_per_group,
                                            seed=args.seed, min_stratum=args.min_stratum,
                                            progress=not args.quiet,
                                            write=not args.dry_run))
    except GuardError as e:
        print(f"guard-export operating-points: error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(reports, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0
