"""Declare a symbolic batch dimension on an exported shared-cache streaming graph.

``guard-export`` now declares it (``export/fused.py``); models exported before that declare
batch 1, so onnxruntime refuses the batched calls of ``runtime.batcher``. This rewrites only
the graph's input/output declarations (nodes and initializers are kept byte for byte, so
batch-1 values are unchanged; ``tests/test_stream_batch.py`` checks) and refreshes the
manifest's sha256 entries.

    python tools/relax_batch_dim.py exported_models/output
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import onnx

from guard_plugins.export.manifest import write_manifest

BATCHED = {"input_ids", "position_ids", "seqlens_k", "logits"}


def relax(folder: Path) -> list[str]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    path = folder / manifest["onnx"]["file"]
    model = onnx.load(str(path))
    changed = []
    for vi in [*model.graph.input, *model.graph.output]:
        if vi.name in BATCHED or vi.name.startswith(("past_key_values.", "present.")):
            dims = vi.type.tensor_type.shape.dim
            if dims and dims[0].HasField("dim_value") and dims[0].dim_value == 1:
                dims[0].ClearField("dim_value")
                dims[0].dim_param = "batch"
                changed.append(vi.name)
    if changed:
        del model.graph.value_info[:]  # intermediate annotations recorded batch 1
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
        write_manifest(folder, manifest)
    return changed


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["exported_models/output"]:
        names = relax(Path(arg))
        print(f"{arg}: batch dimension made symbolic on {len(names)} inputs/outputs" if names
              else f"{arg}: nothing to change")
