"""The export pipeline: checkpoint -> fp32 graph -> (optimise) -> (int8) -> parity -> folder."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExportError, ModelLoadError
from ..runtime import InputGuard, OutputGuard
from . import graphs, parity
from .card import model_card
from .manifest import build_manifest, tokenizer_info, write_manifest
from .quantize import BLOCK_SIZE, INPUT_BLOCK_SIZE, optimize_graph, quantize_int8, quantize_int8_blockwise

log = logging.getLogger(__name__)

DEFAULT_OPSET = 18
STREAMING_GRAPHS = ("fused", "fused-mha", "traced")


@dataclass
class ExportOptions:
    """Options of :func:`export_checkpoint` (the CLI flags)."""

    quantize: str = "int8"                 # "int8" | "none"
    opset: int = DEFAULT_OPSET
    optimize: bool = False
    parity_data: Path | None = None        # JSONL; default: the checkpoint's dev split
    parity_limit: int = 1000               # examples for the int8 agreement/F1 check
    skip_int8_parity: bool = False         # record int8 stats without enforcing them
    name: str | None = None
    untrained: bool = False                # dev models: say so in the model card
    streaming_graph: str = "fused"         # output model: "fused" (GQA, shared cache) | "fused-mha" | "traced"


def _kind_files(kind: str, fp32_dir: Path) -> list[str]:
    """Files copied into the final folder next to model.onnx and manifest/card."""
    keep = ["tokenizer.json"]
    if kind == "input":  # optimum folder: ORTModelForSequenceClassification-loadable
        keep += [n for n in ("config.json", "tokenizer_config.json", "special_tokens_map.json")
                 if (fp32_dir / n).is_file()]
    return keep


def _export_streaming(model: Any, path: Path, opts: ExportOptions) -> dict[str, Any]:
    """The compact contrib-op graph by default; the traced graph on request or as fallback."""
    if opts.streaming_graph not in STREAMING_GRAPHS:
        raise ExportError(f"streaming graph must be one of {STREAMING_GRAPHS}, got {opts.streaming_graph!r}")
    if opts.streaming_graph.startswith("fused"):
        from .fused import export_fused_output_graph

        attention = "mha" if opts.streaming_graph == "fused-mha" else "gqa"
        try:
            return export_fused_output_graph(model, path, opts.opset, attention)
        except ValueError as e:
            log.warning("fused streaming graph not applicable (%s); using the traced graph", e)
    return graphs.export_output_graph(model, path, opts.opset)


def export_checkpoint(ckpt: str | Path, out: str | Path, options: ExportOptions | None = None,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Export one checkpoint folder (input or output model) to ``out``; returns the manifest.

    Raises :class:`ExportError` when any step or a parity check fails (``out`` is then left
    untouched), :class:`ModelLoadError` for an unreadable checkpoint.
    """
    from ..train.models import InputClassifier, StreamingValueModel, read_meta

    opts = options or ExportOptions()
    if opts.quantize not in ("int8", "none"):
        raise ExportError(f"--quantize must be 'int8' or 'none', got {opts.quantize!r}")
    step = progress or (lambda msg: log.info(msg))
    ckpt, out = Path(ckpt), Path(out)
    if not ckpt.is_dir():
        raise ModelLoadError(f"{ckpt}: checkpoint folder not found")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").is_file())):
        raise ExportError(f"{out}: exists and is not a previous export (no manifest.json); "
                          "refusing to replace it")
    meta = read_meta(ckpt)
    kind = meta.get("kind")
    if kind not in ("input", "output"):
        raise ModelLoadError(f"{ckpt}: guard_checkpoint.json kind must be input/output, got {kind!r}")
    if not (ckpt / "tokenizer.json").is_file():
        raise ModelLoadError(f"{ckpt}: tokenizer.json missing")
    if "threshold" not in meta:
        raise ModelLoadError(f"{ckpt}: guard_checkpoint.json has no threshold")
    model_type = json.loads((ckpt / "config.json").read_text()).get("model_type") \
        if (ckpt / "config.json").is_file() else None
    if model_type not in (None, "bert"):
        raise ExportError(f"{ckpt}: a {model_type!r} encoder; guard-export and the runtime take BERT "
                          "checkpoints only (other encoders are for training-time measurements)")

    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    with tempfile.TemporaryDirectory(prefix="guard-export-") as tmp:
        work = Path(tmp)
        fp32_dir, int8_dir = work / "fp32", work / "int8"
        fp32_dir.mkdir()
        step(f"exporting the {kind} graph (fp32)")
        if kind == "input":
            model = InputClassifier.load(ckpt).eval()
            graphs.export_input_graph(ckpt, fp32_dir, opts.opset)
            cfg = model.config
            facts = {"exporter": "optimum", "num_layers": cfg.num_hidden_layers,
                     "num_heads": cfg.num_attention_heads,
                     "head_dim": cfg.hidden_size // cfg.num_attention_heads,
                     "inputs": graphs.INPUT_NAMES, "outputs": ["logits"]}
        else:
            model = StreamingValueModel.load(ckpt).eval()
            cfg = model.config
            facts = _export_streaming(model, fp32_dir / "model.onnx", opts)
            shutil.copyfile(ckpt / "tokenizer.json", fp32_dir / "tokenizer.json")
        if opts.optimize:
            step("optimising the graph")
            opt_path = work / "optimized.onnx"
            if optimize_graph(fp32_dir / "model.onnx", opt_path, cfg.num_attention_heads, cfg.hidden_size):
                opt_path.replace(fp32_dir / "model.onnx")
                facts["optimized"] = True
        tinfo = tokenizer_info(fp32_dir / "tokenizer.json")
        name = opts.name or f"guard-{kind}-{(meta.get('constitution') or {}).get('name', 'custom')}"
        onnx_info = {"file": "model.onnx", "opset": opts.opset,
                     "quantization": "int8-dynamic" if opts.quantize == "int8" else "none", **facts}
        write_manifest(fp32_dir, build_manifest(kind, name, meta, {**onnx_info, "quantization": "none"},
                                                tinfo, {}))
        guard_cls = InputGuard if kind == "input" else OutputGuard
        fp32 = guard_cls.load(fp32_dir, "cpu")
        int8 = None
        data = parity.load_parity_data(kind, opts.parity_data, meta, opts.parity_limit)
        check = parity.check_input if kind == "input" else parity.check_output
        if opts.quantize == "int8":
            # input: dynamic int8, per-tensor weight scales first, per-channel if parity fails;
            # output (streaming): weight-only block-wise int8 (see quantize_int8_blockwise)
            # (block-wise weight-only int8 is also the input model's last resort)
            modes = ["blockwise"] if kind == "output" else ["per-tensor", "per-channel", "blockwise"]
            for i, mode in enumerate(modes):
                step(f"quantizing to int8 ({mode})")
                if int8_dir.exists():
                    shutil.rmtree(int8_dir)
                int8_dir.mkdir()
                if mode == "blockwise":
                    block = INPUT_BLOCK_SIZE if kind == "input" else BLOCK_SIZE
                    quantize_int8_blockwise(fp32_dir / "model.onnx", int8_dir / "model.onnx", block)
                    onnx_info["quantization"] = "int8-blockwise-weight-only"
                    onnx_info["block_size"] = block
                else:
                    per_channel = mode == "per-channel"
                    quantize_int8(fp32_dir / "model.onnx", int8_dir / "model.onnx", per_channel)
                    onnx_info["quantization"] = "int8-dynamic" + ("-per-channel" if per_channel else "")
                    onnx_info.pop("block_size", None)
                for n in _kind_files(kind, fp32_dir):
                    shutil.copyfile(fp32_dir / n, int8_dir / n)
                write_manifest(int8_dir, build_manifest(kind, name, meta, onnx_info, tinfo, {}))
                int8 = guard_cls.load(int8_dir, "cpu")
                step("parity checks")
                try:
                    rec = check(model, fp32, int8, data, enforce_int8=not opts.skip_int8_parity)
                    break
                except ExportError as e:
                    if i == len(modes) - 1 or "int8" not in str(e):
                        raise
                    log.warning("int8 parity failed (%s, %s); retrying with %s", mode, e, modes[i + 1])
        else:
            step("parity checks")
            rec = check(model, fp32, None, data, enforce_int8=False)
        rec["passed"] = True
        final_src = int8_dir if int8 is not None else fp32_dir

        step(f"writing {out}")
        staging = work / "final"
        staging.mkdir()
        shutil.copyfile(final_src / "model.onnx", staging / "model.onnx")
        for n in _kind_files(kind, fp32_dir):
            shutil.copyfile(fp32_dir / n, staging / n)
        manifest = build_manifest(kind, name, meta, onnx_info, tinfo, rec)
        (staging / "MODEL_CARD.md").write_text(model_card(manifest, untrained=opts.untrained),
                                               encoding="utf-8")
        manifest = write_manifest(staging, manifest)
        guard_cls.load(staging, "cpu")  # the shipped folder loads and verifies
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, out)
    return manifest
