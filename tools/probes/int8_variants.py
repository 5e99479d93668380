"""Probe: int8 variants of an fp32 input export against it, on 1,000 dev prompts (agreement,
F1), as guard-export's parity check measures them. Measured the 32-wide block size of the input
model's block-wise fallback (export/quantize.py INPUT_BLOCK_SIZE).

    python tools/probes/int8_variants.py FP32_EXPORT/input   (guard-export CKPT --quantize none)
"""
import json, shutil, sys, tempfile
from pathlib import Path
import onnx
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
from guard_plugins.export.quantize import quantize_int8_blockwise
from guard_plugins.export.manifest import write_manifest
from guard_plugins.export.parity import load_parity_data, _verdict_stats
from guard_plugins.runtime.input_guard import InputGuard
src = Path(sys.argv[1])  # fp32 export folder
m = json.loads((src / "manifest.json").read_text())
data = load_parity_data("input", Path("data/ml/inputs.dev.jsonl"), {}, 1000)
def load(folder):
    return InputGuard.load(folder, "cpu") if hasattr(InputGuard, "load") else None
ref = load(src).check_many(data.items)
def variant(name, fn):
    d = Path(tempfile.mkdtemp()) / "input"; shutil.copytree(src, d)
    fn(src / "model.onnx", d / "model.onnx")
    mm = dict(m); mm.pop("files", None); write_manifest(d, mm)
    cand = load(d).check_many(data.items)
    print(name, (d / "model.onnx").stat().st_size, _verdict_stats(ref, cand, data.labels), flush=True)
def nogather(a, b, bs=128):
    q = MatMulNBitsQuantizer(onnx.load(str(a)), bits=8, block_size=bs, is_symmetric=True, accuracy_level=4, op_types_to_quantize=("MatMul",))
    q.process(); q.model.save_model_to_file(str(b), use_external_data_format=False)
for bs in (128, 32):
    variant(f"blockwise{bs}", lambda a, b: quantize_int8_blockwise(a, b, bs))
variant("blockwise128-nogather", nogather)
