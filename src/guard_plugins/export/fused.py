"""A compact streaming graph built directly from the weights (onnxruntime contrib ops).

The generic exporters trace transformers' attention code into ~450 small nodes; for a
one-token incremental step the per-node overhead then dominates. This builder writes the
same network as ~15 nodes per layer around one onnxruntime attention op per layer, which
onnxruntime further fuses (SkipLayerNorm, BiasGelu). Two cache layouts:

* ``gqa`` (default): ``com.microsoft.GroupQueryAttention`` (kv heads = heads, i.e. plain
  multi-head attention) over a **shared, pre-allocated cache** ``[1, heads, capacity,
  head_dim]``: the runtime binds the same buffer as ``past_key_values.*`` and ``present.*``
  and the op writes the new keys/values in place, so a step costs O(new tokens) memory
  traffic instead of copying the whole cache (``seqlens_k`` = total - 1,
  ``total_sequence_length`` = total). Causal by construction; no attention mask input.
* ``mha``: ``com.microsoft.MultiHeadAttention`` with growing ``past`` -> ``present`` tensors
  (the same inputs/outputs as the traced graph: every step concatenates and copies the cache).

docs/ARCHITECTURE.md section 4 has both contracts; parity against the torch model (full
pass and cached steps) is checked on every export like any other graph.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .graphs import streaming_io_names

MS_DOMAIN = "com.microsoft"


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().float().numpy()


ATTENTION_KINDS = ("gqa", "mha")


def build_streaming_graph(model: torch.nn.Module, opset: int = 18, attention: str = "gqa") -> onnx.ModelProto:
    """ONNX graph of a ``StreamingValueModel`` (BERT decoder + value head) with a KV cache."""
    if attention not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
    cfg = model.config
    if getattr(cfg, "position_embedding_type", "absolute") != "absolute" or cfg.hidden_act != "gelu":
        raise ValueError("fused graph supports absolute positions and exact GELU only")
    L, H, N = cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads
    D, eps = H // N, float(cfg.layer_norm_eps)
    sd = {k: _np(v) for k, v in model.bert.state_dict().items()}
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, ins: list[str], outs: list[str], domain: str | None = None, **attrs: Any) -> None:
        nodes.append(helper.make_node(op, ins, outs, name=f"{op}_{len(nodes)}", domain=domain, **attrs))

    in_names, out_names = streaming_io_names(L, shared_cache=attention == "gqa")
    past_names = [n for n in in_names if n.startswith("past_key_values.")]
    # embeddings: word + position + token type 0, LayerNorm
    const("emb.word", sd["embeddings.word_embeddings.weight"])
    const("emb.pos", sd["embeddings.position_embeddings.weight"])
    const("emb.type0", sd["embeddings.token_type_embeddings.weight"][0])
    node("Gather", ["emb.word", "input_ids"], ["e_word"], axis=0)
    node("Gather", ["emb.pos", "position_ids"], ["e_pos"], axis=0)
    node("Add", ["e_word", "e_pos"], ["e_sum0"])
    node("Add", ["e_sum0", "emb.type0"], ["e_sum"])
    node("LayerNormalization", ["e_sum", const("emb.ln.g", sd["embeddings.LayerNorm.weight"]),
                                const("emb.ln.b", sd["embeddings.LayerNorm.bias"])], ["h0"],
         axis=-1, epsilon=eps)
    if attention == "mha":
        node("Cast", ["attention_mask"], ["mask_i32"], to=TensorProto.INT32)
    h = "h0"
    for i in range(L):
        p = f"encoder.layer.{i}."
        a = p + "attention."
        wqkv = np.concatenate([sd[a + f"self.{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        bqkv = np.concatenate([sd[a + f"self.{n}.bias"] for n in ("query", "key", "value")])
        node("MatMul", [h, const(f"l{i}.wqkv", wqkv)], [f"l{i}.qkv"])
        if attention == "gqa":  # GroupQueryAttention takes no bias: add it before the split
            node("Add", [f"l{i}.qkv", const(f"l{i}.bqkv", bqkv)], [f"l{i}.qkvb"])
        node("Split", [f"l{i}.qkvb" if attention == "gqa" else f"l{i}.qkv",
                       const(f"l{i}.split", np.array([H, H, H], np.int64))],
             [f"l{i}.q", f"l{i}.k", f"l{i}.v"], axis=-1)
        pk, pv = past_names[2 * i], past_names[2 * i + 1]
        present = [f"l{i}.ctx", out_names[1 + 2 * i], out_names[2 + 2 * i]]
        if attention == "mha":
            node("MultiHeadAttention",
                 [f"l{i}.q", f"l{i}.k", f"l{i}.v", const(f"l{i}.bqkv", bqkv), "mask_i32", "", pk, pv],
                 present, domain=MS_DOMAIN, num_heads=N, unidirectional=1, scale=1.0 / math.sqrt(D))
        else:
            node("GroupQueryAttention",
                 [f"l{i}.q", f"l{i}.k", f"l{i}.v", pk, pv, "seqlens_k", "total_sequence_length"],
                 present, domain=MS_DOMAIN, num_heads=N, kv_num_heads=N, scale=1.0 / math.sqrt(D))
        node("MatMul", [f"l{i}.ctx", const(f"l{i}.wo", sd[a + "output.dense.weight"].T)], [f"l{i}.ao"])
        node("Add", [f"l{i}.ao", const(f"l{i}.bo", sd[a + "output.dense.bias"])], [f"l{i}.aob"])
        node("Add", [f"l{i}.aob", h], [f"l{i}.res1"])
        node("LayerNormalization", [f"l{i}.res1", const(f"l{i}.ln1.g", sd[a + "output.LayerNorm.weight"]),
                                    const(f"l{i}.ln1.b", sd[a + "output.LayerNorm.bias"])],
             [f"l{i}.h1"], axis=-1, epsilon=eps)
        node("MatMul", [f"l{i}.h1", const(f"l{i}.wi", sd[p + "intermediate.dense.weight"].T)], [f"l{i}.f"])
        node("Add", [f"l{i}.f", const(f"l{i}.bi", sd[p + "intermediate.dense.bias"])], [f"l{i}.fb"])
        # exact GELU: x * 0.5 * (1 + erf(x / sqrt(2)))  (onnxruntime fuses it to BiasGelu)
        node("Div", [f"l{i}.fb", const(f"l{i}.sqrt2", np.array(math.sqrt(2.0), np.float32))], [f"l{i}.g1"])
        node("Erf", [f"l{i}.g1"], [f"l{i}.g2"])
        node("Add", [f"l{i}.g2", const(f"l{i}.one", np.array(1.0, np.float32))], [f"l{i}.g3"])
        node("Mul", [f"l{i}.fb", f"l{i}.g3"], [f"l{i}.g4"])
        node("Mul", [f"l{i}.g4", const(f"l{i}.half", np.array(0.5, np.float32))], [f"l{i}.gelu"])
        node("MatMul", [f"l{i}.gelu", const(f"l{i}.wout", sd[p + "output.dense.weight"].T)], [f"l{i}.o"])
        node("Add", [f"l{i}.o", const(f"l{i}.bout", sd[p + "output.dense.bias"])], [f"l{i}.ob"])
        node("Add", [f"l{i}.ob", f"l{i}.h1"], [f"l{i}.res2"])
        node("LayerNormalization", [f"l{i}.res2", const(f"l{i}.ln2.g", sd[p + "output.LayerNorm.weight"]),
                                    const(f"l{i}.ln2.b", sd[p + "output.LayerNorm.bias"])],
             [f"h{i + 1}"], axis=-1, epsilon=eps)
        h = f"h{i + 1}"
    head_w = _np(model.value_head.weight).T  # [H, 1]
    head_b = _np(model.value_head.bias)
    node("MatMul", [h, const("head.w", head_w)], ["v0"])
    node("Add", ["v0", const("head.b", head_b)], ["v1"])
    node("Squeeze", ["v1", const("head.axis", np.array([-1], np.int64))], ["logits"])

    # the shared-cache graph takes a batch (runtime.batcher: one-token rows of many streams,
    # each with its own seqlens_k); the growing-cache one is one sequence per call
    B = 1 if attention == "mha" else "batch"
    kv_in = [1, N, "past", D] if attention == "mha" else [B, N, "capacity", D]
    kv_out = [1, N, "total", D] if attention == "mha" else [B, N, "capacity", D]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [B, "new"]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, [B, "new"])]
    if attention == "mha":
        inputs.append(helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, "total"]))
    else:
        inputs += [helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [B]),
                   helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
    inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, kv_in) for n in past_names]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [B, "new"])]
    outputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, kv_out) for n in out_names[1:]]
    graph = helper.make_graph(nodes, "guard_streaming_value_model", inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                helper.make_opsetid(MS_DOMAIN, 1)],
                          producer_name="guard-plugins")
    m.ir_version = min(m.ir_version, 10)
    onnx.checker.check_model(m)
    return m


def export_fused_output_graph(model: torch.nn.Module, out_path: Path, opset: int,
                              attention: str = "gqa") -> dict[str, Any]:
    """Write the compact graph; returns graph facts for the manifest."""
    cfg = model.config
    m = build_streaming_graph(model, opset, attention)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(out_path))
    in_names, out_names = streaming_io_names(cfg.num_hidden_layers, shared_cache=attention == "gqa")
    return {"exporter": f"fused-{attention}", "num_layers": cfg.num_hidden_layers,
            "num_heads": cfg.num_attention_heads,
            "head_dim": cfg.hidden_size // cfg.num_attention_heads,
            "kv_cache": "shared" if attention == "gqa" else "growing",
            "inputs": in_names, "outputs": out_names}
