"""Run the eval suite's input parts on a *torch* input checkpoint (any encoder).

Not part of the package (it imports torch; the runtime never does). It exists for the backbone
measurement of issue 12 (MiniLM vs all-mpnet-base-v2 at the same CPU budget): a checkpoint is
scored exactly as the trainer scores it (the runtime's windows, max over windows of
p(harmful), the checkpoint's calibrated threshold), but without the runtime's de-obfuscation
pre-pass, so compare checkpoints with each other through this script, not with the suite's
rows for exported models.

    python tools/backbone/eval_input_ckpt.py CKPT --shared-data ../shared/data \\
        --data data/next2 --out runs/backbone/CKPT_suite.md [--threads 1]

Writes the suite's markdown and JSON (``--out`` and the same path with ``.json``).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from guard_plugins import metrics as M
from guard_plugins.eval.suite import render_suite, run_suite
from guard_plugins.runtime.verdict import Verdict
from guard_plugins.train import data as D
from guard_plugins.train.models import InputClassifier, load_tokenizer, read_meta, special_ids
from guard_plugins.train.trainer import score_input_examples


class TorchInputGuard:
    """The suite's ``GuardLike`` for inputs, over a torch checkpoint."""

    def __init__(self, ckpt: Path):
        self.meta = read_meta(ckpt)
        self.tok = load_tokenizer(ckpt)
        self.ids = special_ids(self.tok)
        self.model = InputClassifier.load(ckpt).eval()
        self.threshold = float(self.meta["threshold"])
        self.categories = list(self.meta["categories"])

    def check_inputs(self, items: list[str]) -> list[Verdict]:
        t0 = time.perf_counter()
        ex = D.build_input_examples([{"text": t or "", "label": 0} for t in items], self.tok, [])
        p, c = score_input_examples(self.model, ex, self.ids)
        ms = (time.perf_counter() - t0) * 1000
        return [Verdict(bool(s >= self.threshold), float(s),
                        self.categories[k] if s >= self.threshold and 0 <= k < len(self.categories) else None,
                        self.threshold, ms, "input", sum(len(w) for w in e.windows))
                for s, k, e in zip(p, c, ex)]

    def check_outputs(self, pairs):  # pragma: no cover - inputs only
        raise NotImplementedError("inputs only")

    def stream(self, prompt):  # pragma: no cover - inputs only
        raise NotImplementedError("inputs only")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ckpt", type=Path)
    ap.add_argument("--shared-data", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-per-set", type=int, default=400)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    guard = TorchInputGuard(a.ckpt)
    t0 = time.perf_counter()
    res = run_suite(guard, data_dir=a.data, shared_data=a.shared_data, max_per_set=a.max_per_set,
                    kinds=("input",), realworld=a.shared_data / "realworld",
                    parts=("realworld", "public"), shortcut_audit=False, progress=False,
                    models=f"torch:{a.ckpt}")
    secs = time.perf_counter() - t0
    cmd = "python tools/backbone/eval_input_ckpt.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = {"models": f"torch checkpoint {a.ckpt} (base {guard.meta.get('base')}; "
                      "no de-obfuscation pre-pass)",
            "input_threshold": guard.threshold, "seconds": round(secs, 1),
            "machine": f"{torch.get_num_threads()} torch thread(s)"}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(render_suite(res, cmd, meta))
    a.out.with_suffix(".json").write_text(json.dumps(M.json_safe(
        {"command": cmd, **meta, "train": guard.meta.get("train"), **res}), indent=1) + "\n")
    print(f"{a.out} ({secs:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
