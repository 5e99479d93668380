"""Compare two suite runs (old release vs new) on the real-world dev sets: a markdown table.

    python -m guard_plugins.eval.compare OLD.json NEW.json [--out FILE] [--group realworld]

Both files are ``guard_plugins.eval.suite`` JSON outputs. Rows are matched by set name and
kind; every metric is shown as ``old -> new``. Model cards and the README use it, so a
release states by how much it moved each real-world number, not only the synthetic ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError

__all__ = ["compare_rows", "render_comparison", "main"]

INPUT_COLS = (("recall", "recall", False), ("fpr", "FPR %", True), ("f1", "F1", False),
              ("auprc", "AUPRC", False), ("recall_at_1pct_fpr", "recall @ 1 % FPR", False))
OUTPUT_COLS = (("stream_f1", "stream F1", False), ("stream_recall", "stream recall", False),
               ("stream_fpr", "stream FPR %", True), ("auprc", "AUPRC", False),
               ("median_halt", "median halt", True))


def _load(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{p}: file not found") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{p}: invalid JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(d, dict) or not isinstance(d.get("rows"), list):
        raise DataError(f"{p}: not a guard_plugins.eval.suite JSON file (no 'rows')")
    return d


def compare_rows(old: dict[str, Any], new: dict[str, Any], group: str = "realworld"
                 ) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """(old row or None, new row) for every row of ``group`` in ``new``, in its order."""
    index = {(r["set"], r["kind"]): r for r in old["rows"] if r.get("group") == group}
    return [(index.get((r["set"], r["kind"])), r) for r in new["rows"] if r.get("group") == group]


def _fmt(v: Any, pct: bool) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "n/a"
    return f"{100 * v:.1f}" if pct else f"{v:.3f}"


def render_comparison(old: dict[str, Any], new: dict[str, Any], group: str = "realworld") -> str:
    pairs = compare_rows(old, new, group)
    out: list[str] = []
    for kind, cols in (("input", INPUT_COLS), ("output", OUTPUT_COLS)):
        rows = [(o, n) for o, n in pairs if n["kind"] == kind]
        if not rows:
            continue
        out += [f"#### {kind.capitalize()} guard: old -> new", "",
                "| set | n | harmful | " + " | ".join(c[1] for c in cols) + " |",
                "|---|---|---|" + "---|" * len(cols)]
        for o, n in rows:
            name = f"**{n['set']}**" if "pooled" in n["set"] else n["set"]
            one_class = n.get("n_neg") == 0 or n.get("n_pos") == 0
            cells = []
            for k, _, pct in cols:
                if one_class and k not in ("recall", "stream_recall", "fpr", "stream_fpr", "median_halt"):
                    cells.append("n/a")  # precision-based metrics mean nothing on one class
                else:
                    cells.append(f"{_fmt(o.get(k) if o else None, pct)} -> {_fmt(n.get(k), pct)}")
            out.append(f"| {name} | {n['n']} | {n['n_pos']} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m guard_plugins.eval.compare",
                                description="old -> new table of two suite JSON files")
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--group", default="realworld", help="row group to compare (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, help="markdown file (default: stdout)")
    args = p.parse_args(argv)
    try:
        text = render_comparison(_load(args.old), _load(args.new), args.group)
    except DataError as e:
        print(f"compare: error: {e}", file=sys.stderr)
        return 2
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
