"""``guard-export CHECKPOINT --out DIR``: export a trained guard checkpoint to ONNX.

``guard-export operating-points MODELS --data DATASET``: calibrate the named thresholds
(``strict``, ``balanced``) of exported models (:mod:`.operating_points`).

``guard-export languages MODELS --suite SUITE.json``: write the input manifest's validated
languages from a results-suite run of the model (:mod:`.languages`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from ..errors import GuardError
from .pipeline import DEFAULT_OPSET, ExportOptions, export_checkpoint

#: ``guard-export NAME ...``: the module whose ``main`` takes the rest of the command line.
SUBCOMMANDS = {"operating-points": ".operating_points", "languages": ".languages"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="guard-export",
        description="Export a guard-train checkpoint (input or streaming output classifier) to an "
                    "ONNX model folder for the torch-free runtime: model.onnx (int8 by default), "
                    "tokenizer.json, manifest.json (sha256 of every file) and MODEL_CARD.md. "
                    "A parity check (torch vs ONNX, int8 vs fp32, cached vs full pass) runs on "
                    "every export and fails the export loudly. `guard-export operating-points "
                    "--help`: calibrate named thresholds (strict, balanced) of exported models; "
                    "`guard-export languages --help`: write the validated languages from a suite run.")
    p.add_argument("checkpoint", type=Path, help="checkpoint folder written by guard-train")
    p.add_argument("--out", type=Path, required=True, help="output folder (a previous export there is replaced; any other non-empty folder is refused)")
    p.add_argument("--quantize", choices=["int8", "none"], default="int8",
                   help="dynamic int8 quantization of the weights (default: int8)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--optimize", action="store_true",
                   help="run onnxruntime's transformer graph optimiser before quantizing")
    p.add_argument("--parity-data", type=Path, default=None,
                   help="labelled JSONL for the parity checks (default: the dev split recorded in "
                        "the checkpoint metadata; built-in neutral text if none)")
    p.add_argument("--parity-limit", type=int, default=1000,
                   help="examples used for the int8 agreement/F1 check (default 1000; 0 = all)")
    p.add_argument("--skip-int8-parity", action="store_true",
                   help="record the int8 agreement/F1 figures without enforcing them (untrained models)")
    p.add_argument("--name", default=None, help="model name in the manifest")
    p.add_argument("--untrained", action="store_true",
                   help="mark the model card as an untrained development model")
    p.add_argument("--streaming-graph", choices=["fused", "fused-mha", "traced"], default="fused",
                   help="output model graph: 'fused' = compact graph around onnxruntime's "
                        "GroupQueryAttention with a shared, in-place KV cache (fastest "
                        "incremental steps, default); 'fused-mha' = the same around "
                        "MultiHeadAttention with a growing cache; 'traced' = torch.onnx.export "
                        "of the model (dynamo, TorchScript fallback)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        import importlib

        return importlib.import_module(SUBCOMMANDS[argv[0]], __package__).main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    opts = ExportOptions(quantize=args.quantize, opset=args.opset, optimize=args.optimize,
                         parity_data=args.parity_data, parity_limit=args.parity_limit,
                         skip_int8_parity=args.skip_int8_parity, name=args.name,
                         untrained=args.untrained, streaming_graph=args.streaming_graph)
    steps = 5 + int(args.optimize) + int(args.quantize == "int8")
    bar = tqdm(total=steps, desc="guard-export", unit="step", disable=args.quiet, file=sys.stderr)

    def progress(msg: str) -> None:
        bar.set_postfix_str(msg)
        bar.update(1)

    try:
        manifest = export_checkpoint(args.checkpoint, args.out, opts, progress)
    except GuardError as e:
        bar.close()
        print(f"guard-export: error: {e}", file=sys.stderr)
        return 2
    bar.update(bar.total - bar.n)
    bar.close()
    size = manifest["files"]["model.onnx"]["bytes"] / 1e6
    print(json.dumps({"out": str(args.out), "kind": manifest["kind"], "model_mb": round(size, 2),
                      "parity": manifest["parity"]}, indent=2, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
