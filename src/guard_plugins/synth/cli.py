"""``guard-synth``: build a leak-free training data folder from a constitution.

Pipeline::

    load constitution
      -> generate (offline templates, or an LLM through litellm)
      -> augment (attack-style variants of inputs; prompt-side variants of outputs)
      -> import public sets from the shared data folder (unless --no-public), with the
         benign multilingual train split (its dev split is evaluation data)
      -> dev guard (realworld and multilingual dev texts out of every split), source cap
         (--max-source-share), splices and wrapper twins of real records (English and
         non-English, synth/realmix.py)
      -> dedupe by normalised text; first record wins, in priority order:
           1. constitution-derived synthetic records (their labels follow the constitution),
           2. public records (human-written / human-labelled),
           3. augmented variants (derived, most likely to collide by construction)
      -> assign splits (groups of near-duplicates and augmented variants stay together)
      -> inputs.{train,dev,calib}.jsonl, outputs.{train,dev,calib}.jsonl, dataset card
      -> summary table

Exit status 0 on success, 2 with a one-line message on a guard-plugins error (bad
constitution, missing data folder, malformed data, failed generation).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..cli_common import format_table, offline_env, run_cli, setup_logging
from ..constitution import DEFAULT_CONSTITUTION, load_constitution
from ..errors import DataError
from .realmix import DEFAULT_MAX_SOURCE_SHARE
from .schema import SPLITS, data_file, write_jsonl

log = logging.getLogger("guard_plugins.synth")

PROG = "guard-synth"
DEFAULT_SHARED_DATA = "../shared/data"
SHARED_DATA_ENV = "GUARD_SHARED_DATA"
DEFAULT_CACHE_DIR = ".synth_cache"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Generate training data for the input and streaming output classifiers from a "
                    "constitution: synthetic data (offline templates or any litellm model), attack-style "
                    "augmentations and public safety datasets, deduplicated and split into "
                    "train / dev / calib without leaks, with a dataset card.",
        epilog="examples:\n"
               "  guard-synth --offline --out data/default\n"
               "  guard-synth --offline --no-public --scale 0.2 --out data/small\n"
               "  guard-synth --constitution my.yaml --model openai/gpt-4o-mini "
               "--requests-per-category 50 --out data/mine\n\n"
               "Writes DIR/inputs.{train,dev,calib}.jsonl, DIR/outputs.{train,dev,calib}.jsonl, "
               "DIR/dataset_card.json and DIR/DATASET_CARD.md. Exit status 2 on bad input.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--constitution", default=DEFAULT_CONSTITUTION, metavar="PATH",
                   help="constitution YAML file, or 'default' for the shipped one (default: %(default)s)")
    gen = p.add_mutually_exclusive_group(required=True)
    gen.add_argument("--offline", action="store_true",
                     help="generate with the offline template generator (no model, no network)")
    gen.add_argument("--model", metavar="MODEL",
                     help="generate with an LLM through litellm, e.g. openai/gpt-4o-mini, "
                          "anthropic/claude-3-5-haiku-latest, ollama/llama3 (credentials from the "
                          "usual environment variables)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output data folder")
    p.add_argument("--shared-data", type=Path, default=None, metavar="DIR",
                   help=f"public data folder (default: ${SHARED_DATA_ENV} or {DEFAULT_SHARED_DATA})")
    p.add_argument("--no-public", action="store_true",
                   help="synthetic data only: import no public sets (jailbreak templates from the "
                        "shared data are still used when the folder exists)")
    p.add_argument("--public-sets", default=None, metavar="A,B",
                   help="comma-separated public set names to import (default: all)")
    p.add_argument("--augment-rate", type=float, default=0.5, metavar="R",
                   help="attack-style variants per input record, on average (default: %(default)s)")
    p.add_argument("--output-augment-rate", type=float, default=0.3, metavar="R",
                   help="prompt-side variants per output record, on average (default: %(default)s)")
    p.add_argument("--max-synthetic-outputs", type=int, default=12000, metavar="N",
                   help="cap on synthetic output records (before augmentation) so that real "
                        "responses lead the mix; 0 = no cap (default: %(default)s)")
    p.add_argument("--no-splice", action="store_true",
                   help="no preamble splices of real responses, no wrapper twins of real "
                        "prompts, no alarming-benign answers (see synth/realmix.py)")
    p.add_argument("--max-source-share", type=float, default=DEFAULT_MAX_SOURCE_SHARE, metavar="S",
                   help="no single public source above this share of a model's real training "
                        "items; items over it are dropped (stratified by label and language, "
                        "fixed by --seed) before splices and twins are made, and again on the "
                        "train split; 0 = no cap (default: %(default)s)")
    p.add_argument("--source-cap-by-label", action="store_true",
                   help="apply --max-source-share within each label (no source above the share "
                        "of the benign items, nor of the harmful items): stricter")
    p.add_argument("--multilingual-twins", type=int, default=4000, metavar="N",
                   help="wrapper twins of real benign non-English requests (label 0), spread "
                        "evenly over languages, plus N/4 of real non-English harmful requests "
                        "(label 1); 0 = none (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="offline generator size multiplier (default: %(default)s)")
    p.add_argument("--requests-per-category", type=int, default=20, metavar="N",
                   help="LLM mode: user requests generated per category (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=8,
                   help="LLM mode: concurrent API calls (default: %(default)s)")
    p.add_argument("--max-retries", type=int, default=4,
                   help="LLM mode: retries per call, with exponential backoff (default: %(default)s)")
    p.add_argument("--cache-dir", type=Path, default=Path(DEFAULT_CACHE_DIR), metavar="DIR",
                   help="LLM mode: response cache; a rerun or resumed run pays for nothing twice "
                        "(default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars; warnings and errors only")
    return p


def _shared_data_dir(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    return Path(os.environ.get(SHARED_DATA_ENV) or DEFAULT_SHARED_DATA)


def _check_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.augment_rate < 0 or args.output_augment_rate < 0:
        parser.error("augment rates must be >= 0")
    if args.scale <= 0:
        parser.error("--scale must be > 0")
    if args.requests_per_category < 1 or args.concurrency < 1 or args.max_retries < 0:
        parser.error("--requests-per-category and --concurrency must be >= 1, --max-retries >= 0")
    if args.public_sets is not None and args.no_public:
        parser.error("--public-sets and --no-public exclude each other")
    if not 0 <= args.max_source_share <= 1:
        parser.error("--max-source-share must be between 0 (no cap) and 1")
    if args.source_cap_by_label and not args.max_source_share:
        parser.error("--source-cap-by-label needs a --max-source-share above 0")
    if args.multilingual_twins < 0:
        parser.error("--multilingual-twins must be >= 0")


def _ordered_for_dedupe(synthetic: list[dict], public: list[dict], augmented: list[dict]) -> list[dict]:
    """Priority order of :func:`split.dedupe` (first wins); see the module docstring."""
    return synthetic + public + augmented


def _output_dedupe_key(r: dict) -> str:
    # a prompt may have several responses (compliant, refusal): dedupe on the pair
    return f"{r.get('prompt') or ''}\n\u241e\n{r['response']}"


def synthesize(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole pipeline for parsed arguments; returns the dataset card."""
    from . import augment, split
    from .card import write_dataset_card

    t0 = time.perf_counter()
    progress = not args.quiet
    constitution = load_constitution(args.constitution)
    log.info("constitution %s %s (%s): %d restricted, %d permitted categories", constitution.name,
             constitution.version, constitution.content_hash()[:19], len(constitution.restricted),
             len(constitution.permitted))
    if args.out.exists() and not args.out.is_dir():
        raise DataError(f"{args.out}: --out exists and is not a folder")
    shared = _shared_data_dir(args.shared_data)
    if not args.no_public and not shared.is_dir():
        raise DataError(f"{shared}: shared data folder not found; pass --shared-data DIR "
                        f"(or set ${SHARED_DATA_ENV}), or --no-public to use synthetic data only")
    timings: dict[str, float] = {}

    # 1. generate
    t = time.perf_counter()
    generation: dict[str, Any] | None = None
    if args.offline:
        from .offline import generate_offline
        syn_in, syn_out = generate_offline(constitution, seed=args.seed, scale=args.scale,
                                           progress=progress)
        generator = {"generator": "offline", "scale": args.scale}
    else:
        from .llm import generate_llm_sync
        import litellm
        litellm.suppress_debug_info = True
        syn_in, syn_out, generation = generate_llm_sync(
            constitution, model=args.model, requests_per_category=args.requests_per_category,
            concurrency=args.concurrency, cache_dir=args.cache_dir, max_retries=args.max_retries,
            seed=args.seed, progress=progress)
        generator = {"generator": "llm", "model": args.model,
                     "requests_per_category": args.requests_per_category}
        if generation["failed"]:
            log.warning("%d LLM calls failed for good (first: %s)", generation["failed"],
                        generation["failures"][0])
    timings["generate"] = time.perf_counter() - t
    log.info("generated %d input and %d output records", len(syn_in), len(syn_out))

    # 2. augment (synthetic records only; public sets are used as they are)
    t = time.perf_counter()
    templates: list[str] | None = None
    if shared.is_dir():
        templates = augment.load_jailbreak_templates(shared)
    else:
        log.info("%s not found: jailbreak-wrapper augmentation uses built-in templates only", shared)
    mix: dict[str, Any] = {}
    if args.max_synthetic_outputs:  # before augmentation, so variants are only made of kept records
        from .realmix import cap_synthetic
        n0 = len(syn_out)
        syn_out = cap_synthetic(syn_out, args.max_synthetic_outputs, args.seed)
        mix["synthetic_outputs_capped"] = {"from": n0, "to": len(syn_out)}
    aug_in = augment.augment_inputs(syn_in, seed=args.seed, rate=args.augment_rate, templates=templates)
    aug_out = augment.augment_outputs(syn_out, seed=args.seed, rate=args.output_augment_rate)
    timings["augment"] = time.perf_counter() - t

    # 3. public sets
    t = time.perf_counter()
    pub_in: list[dict] = []
    pub_out: list[dict] = []
    public_report: dict[str, Any] | None = None
    if not args.no_public:
        from .public import load_public
        sets = [s.strip() for s in args.public_sets.split(",") if s.strip()] if args.public_sets else None
        pub_in, pub_out, public_report = load_public(shared, sets=sets, progress=progress)
    timings["public"] = time.perf_counter() - t

    # 3b. the real-led mix (synth/realmix.py): dev guard, caps, splices, wrapper twins
    t = time.perf_counter()
    from . import realmix
    if pub_in or pub_out:
        aug_in, aug_out = realmix.guard_and_augment(
            {"syn_in": syn_in, "pub_in": pub_in, "aug_in": aug_in, "syn_out": syn_out,
             "pub_out": pub_out, "aug_out": aug_out}, shared, seed=args.seed,
            splice=not args.no_splice, info=mix, max_source_share=args.max_source_share or None,
            source_cap_by_label=args.source_cap_by_label, multilingual_twins_n=args.multilingual_twins)
    timings["mix"] = time.perf_counter() - t

    # 4. dedupe + 5. split
    t = time.perf_counter()
    inputs, dd_in = split.dedupe(_ordered_for_dedupe(syn_in, pub_in, aug_in), split.input_key)
    outputs, dd_out = split.dedupe(_ordered_for_dedupe(syn_out, pub_out, aug_out), _output_dedupe_key)
    inputs = split.assign_splits(inputs, key=split.input_key)
    outputs = split.assign_splits(outputs, key=split.output_key)
    inputs, mix["realworld_rule_inputs"] = realmix.keep_realworld_out_of_dev(inputs, split.input_key)
    outputs, mix["realworld_rule_outputs"] = realmix.keep_realworld_out_of_dev(outputs, split.output_key)
    if args.max_source_share:  # the cap again, on what the trainer reads: real train items
        def real_train(r: dict) -> bool:
            return r["split"] == "train" and realmix.is_real(r)

        by_label = args.source_cap_by_label
        inputs, cap_in = realmix.cap_sources(inputs, args.max_source_share, args.seed, counted=real_train,
                                             by_label=by_label)
        outputs, cap_out = realmix.cap_sources(outputs, args.max_source_share, args.seed,
                                               counted=real_train, by_label=by_label)
        mix["source_cap_train"] = {"inputs": cap_in, "outputs": cap_out}
        for which, rep in mix["source_cap_train"].items():
            if not rep["feasible"]:
                log.warning("%s: too few public sources for --max-source-share %s: not capped",
                            which, args.max_source_share)
    mix["train_mix"] = {"inputs": realmix.mix_summary(r for r in inputs if r["split"] == "train"),
                        "outputs": realmix.mix_summary(r for r in outputs if r["split"] == "train")}
    timings["dedupe_split"] = time.perf_counter() - t

    # 6. write
    t = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for s in SPLITS:
        write_jsonl(data_file(out, "input", s), (r for r in inputs if r["split"] == s), kind="input")
        write_jsonl(data_file(out, "output", s), (r for r in outputs if r["split"] == s), kind="output")
    params = {
        **generator, "seed": args.seed, "augment_rate": args.augment_rate,
        "output_augment_rate": args.output_augment_rate,
        "max_source_share": args.max_source_share or None,
        "source_cap_by_label": args.source_cap_by_label,
        "multilingual_twins": args.multilingual_twins,
        "public": None if args.no_public else {"data_dir": str(shared), "sets": args.public_sets or "all"},
        "jailbreak_templates": len(templates) if templates else 0,
        "synthetic": {"inputs": len(syn_in), "outputs": len(syn_out)},
        "augmented": {"inputs": len(aug_in), "outputs": len(aug_out)},
        "public_records": {"inputs": len(pub_in), "outputs": len(pub_out)},
        "dedupe_priority": ["synthetic", "public", "augmented"],
        "real_mix": mix,
    }
    card = write_dataset_card(out, constitution=constitution, inputs=inputs, outputs=outputs,
                              public_report=public_report, params=params,
                              dedupe={"inputs": dd_in, "outputs": dd_out}, generation=generation)
    timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    card["timings"] = {k: round(v, 2) for k, v in timings.items()}
    if not card["leak_check"]["ok"]:
        raise DataError(f"{out}: leak check failed (normalised duplicates across splits: "
                        f"{card['leak_check']}); this is a bug, please report it")
    return card


def summary_table(card: dict[str, Any]) -> str:
    """A compact per-split / per-source table of a dataset card."""
    rows = []
    for which in ("inputs", "outputs"):
        for s in SPLITS:
            c = card[which]["per_split"][s]
            rows.append([which, s, c["total"], c["label_0"], c["label_1"],
                         card[which]["augmented"]["per_split"].get(s, 0)])
    t1 = format_table(["file", "split", "total", "label 0", "label 1", "augmented"], rows)
    src_rows = []
    for src in card["licences"]:
        i = card["inputs"]["per_source"].get(src, {})
        o = card["outputs"]["per_source"].get(src, {})
        src_rows.append([src, i.get("label_0", 0), i.get("label_1", 0), o.get("label_0", 0),
                         o.get("label_1", 0)])
    t2 = format_table(["source", "in 0", "in 1", "out 0", "out 1"], src_rows)
    return f"{t1}\n\n{t2}"


def main(argv: Sequence[str] | None = None) -> int:
    offline_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(args, parser)
    setup_logging(quiet=args.quiet)

    def body() -> int:
        card = synthesize(args)
        leak = "pass" if card["leak_check"]["ok"] else "FAIL"
        print(summary_table(card))
        gen = card.get("generation")
        if gen:
            print(f"\nllm {gen['model']}: {gen['calls']} calls, {gen['cache_hits']} cache hits, "
                  f"{gen['retries']} retries, {gen['failed']} failed; tokens: "
                  f"{gen['prompt_tokens']} prompt + {gen['completion_tokens']} completion")
        print(f"\nconstitution {card['constitution']['name']} {card['constitution']['version']} "
              f"({card['constitution']['hash'][:19]}...), leak check: {leak}, "
              f"{card['timings']['total']:.1f}s -> {args.out}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
