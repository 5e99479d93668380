"""fp32 ONNX graphs of the two classifiers."""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from ..errors import ExportError

log = logging.getLogger(__name__)

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]


def export_input_graph(ckpt: Path, out_dir: Path, opset: int) -> Path:
    """Export a stock ``BertForSequenceClassification`` checkpoint with optimum.

    ``out_dir`` receives ``model.onnx``, ``config.json`` and tokenizer files (an
    ``ORTModelForSequenceClassification``-loadable folder). Graph: ``input_ids``,
    ``attention_mask``, ``token_type_ids`` [batch, seq] -> ``logits`` [batch, 1 + C].
    """
    from optimum.exporters.onnx import main_export

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            main_export(str(ckpt), output=str(out_dir), task="text-classification", opset=opset,
                        device="cpu", do_validation=False, no_post_process=True)
    except Exception as e:  # optimum raises many exception types
        raise ExportError(f"{ckpt}: optimum export of the input classifier failed: {e}") from e
    model = out_dir / "model.onnx"
    if not model.is_file():
        raise ExportError(f"{out_dir}: optimum wrote no model.onnx")
    # the tokenizer the model was trained with, verbatim (optimum re-saves a converted copy)
    shutil.copyfile(ckpt / "tokenizer.json", out_dir / "tokenizer.json")
    return model


class _StreamingWrapper(torch.nn.Module):
    """Flat-tensor interface around ``StreamingValueModel`` for ONNX export."""

    def __init__(self, model: torch.nn.Module, num_layers: int):
        super().__init__()
        self.model = model
        self.num_layers = num_layers

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor,
                attention_mask: torch.Tensor, *past: torch.Tensor) -> tuple[torch.Tensor, ...]:
        legacy = tuple((past[2 * i], past[2 * i + 1]) for i in range(self.num_layers))
        logits, present = self.model(input_ids, attention_mask=attention_mask,
                                     position_ids=position_ids, past_key_values=legacy,
                                     use_cache=True)
        flat: list[torch.Tensor] = []
        for k, v in present:
            flat += [k, v]
        return (logits, *flat)


def streaming_io_names(num_layers: int, shared_cache: bool = False) -> tuple[list[str], list[str]]:
    """Input and output names of the streaming graph (``shared_cache``: the in-place
    GroupQueryAttention layout, with ``seqlens_k``/``total_sequence_length`` instead of
    ``attention_mask``)."""
    kv = [f"{{}}.{i}.{n}" for i in range(num_layers) for n in ("key", "value")]
    extra = ["seqlens_k", "total_sequence_length"] if shared_cache else ["attention_mask"]
    return (["input_ids", "position_ids", *extra] + [k.format("past_key_values") for k in kv],
            ["logits"] + [k.format("present") for k in kv])


def export_output_graph(model: torch.nn.Module, out_path: Path, opset: int,
                        dynamo: bool | None = None) -> dict[str, Any]:
    """Export the streaming value model with a KV cache.

    Inputs ``input_ids`` [1, new], ``position_ids`` [1, new], ``attention_mask`` [1, past+new],
    ``past_key_values.{i}.key|value`` [1, heads, past, head_dim] (past may be 0);
    outputs ``logits`` [1, new] and ``present.{i}.key|value``. Tries the dynamo exporter first
    and falls back to the TorchScript one. Returns graph facts for the manifest.
    """
    cfg = model.config
    L, H = cfg.num_hidden_layers, cfg.num_attention_heads
    D = cfg.hidden_size // H
    in_names, out_names = streaming_io_names(L)
    wrapper = _StreamingWrapper(model.eval(), L).eval()
    # trace with a non-empty past so no shape gets specialised to 0
    past_len, new = 5, 3
    args = (torch.randint(1000, 2000, (1, new)), torch.arange(past_len, past_len + new)[None],
            torch.ones(1, past_len + new, dtype=torch.long),
            *[torch.randn(1, H, past_len, D) for _ in range(2 * L)])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for use_dynamo in ([True, False] if dynamo is None else [dynamo]):
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                if use_dynamo:
                    from torch.export import Dim

                    d_new = Dim("new", min=1, max=cfg.max_position_embeddings)
                    d_total = Dim("total", min=1, max=cfg.max_position_embeddings)
                    d_past = Dim("past", min=0, max=cfg.max_position_embeddings)
                    shapes = ({1: d_new}, {1: d_new}, {1: d_total}, tuple({2: d_past} for _ in range(2 * L)))
                    prog = torch.onnx.export(wrapper, args, input_names=in_names, output_names=out_names,
                                             dynamic_shapes=shapes, dynamo=True, opset_version=opset,
                                             external_data=False, verbose=False)
                    prog.save(str(out_path), external_data=False)
                else:
                    axes = {"input_ids": {1: "new"}, "position_ids": {1: "new"},
                            "attention_mask": {1: "total"}, "logits": {1: "new"}}
                    axes.update({n: {2: "past"} for n in in_names[3:]})
                    axes.update({n: {2: "total"} for n in out_names[1:]})
                    torch.onnx.export(wrapper, args, str(out_path), input_names=in_names,
                                      output_names=out_names, dynamic_axes=axes, dynamo=False,
                                      opset_version=min(opset, 17))
            return {"exporter": "dynamo" if use_dynamo else "torchscript", "num_layers": L,
                    "num_heads": H, "head_dim": D, "inputs": in_names, "outputs": out_names}
        except Exception as e:  # exporter failures come in many types
            log.warning("streaming export with dynamo=%s failed: %s", use_dynamo, e)
            errors.append(f"dynamo={use_dynamo}: {type(e).__name__}: {str(e)[:500]}")
    raise ExportError("exporting the streaming classifier failed: " + " | ".join(errors))
