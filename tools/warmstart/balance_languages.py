"""Balance benign and harmful input training prompts per language (an experiment's data step).

The multilingual benign split gives about 22,000 benign non-English prompts against about
6,000 harmful ones, and nine languages have no harmful prompt at all; a warm start on that mix
learnt "not English = benign" (docs/results.md, "Input candidate with the multilingual benign
data"). This copies a guard-synth folder and keeps, in ``inputs.train.jsonl``, at most as many
benign rows of each non-English language as it has harmful ones (at least ``--min-benign``),
chosen by a seeded hash; every other file is linked unchanged.

    python tools/warmstart/balance_languages.py data/ml data/ml_bal --min-benign 100
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--min-benign", type=int, default=100)
    p.add_argument("--seed", default="0")
    a = p.parse_args()
    a.dst.mkdir(parents=True, exist_ok=True)
    for f in a.src.iterdir():
        if f.name != "inputs.train.jsonl" and not (a.dst / f.name).exists():
            (a.dst / f.name).symlink_to(f.resolve())
    rows = [json.loads(line) for line in (a.src / "inputs.train.jsonl").open(encoding="utf-8")]
    harmful = Counter(r.get("language") for r in rows if r["label"] == 1)
    benign = [r for r in rows if r["label"] == 0 and r.get("language") not in (None, "en")]
    cap = {lang: max(a.min_benign, harmful.get(lang, 0)) for lang in {r["language"] for r in benign}}
    rank = sorted(benign, key=lambda r: hashlib.sha256((a.seed + r["id"]).encode()).hexdigest())
    kept, seen = set(), Counter()
    for r in rank:
        if seen[r["language"]] < cap[r["language"]]:
            seen[r["language"]] += 1
            kept.add(r["id"])
    out = [r for r in rows if not (r["label"] == 0 and r.get("language") not in (None, "en")) or r["id"] in kept]
    with (a.dst / "inputs.train.jsonl").open("w", encoding="utf-8") as fh:
        for r in out:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} -> {len(out)} rows; benign non-English {len(benign)} -> {len(kept)}; per language: "
          + ", ".join(f"{k} {seen[k]}/{harmful.get(k, 0)}" for k in sorted(seen)))


if __name__ == "__main__":
    main()
