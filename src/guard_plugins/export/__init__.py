"""``guard-export``: checkpoints -> ONNX model folders the torch-free runtime serves.

* input classifier: optimum's ONNX exporter (folder loadable by optimum's
  ``ORTModelForSequenceClassification``);
* streaming output classifier: ``torch.onnx.export`` of a graph with a KV cache (one graph for
  the first pass and every incremental step);
* dynamic int8 quantization, optional graph optimisation;
* a parity check on every export (:mod:`.parity`), ``manifest.json`` and ``MODEL_CARD.md``.

Contracts: docs/ARCHITECTURE.md sections 3-4. Needs the ``train`` extra (torch, transformers,
optimum-onnx).
"""

from __future__ import annotations

from .pipeline import ExportOptions, export_checkpoint

__all__ = ["ExportOptions", "export_checkpoint"]
