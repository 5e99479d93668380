"""Dynamic int8 quantization and optional onnxruntime graph optimisation."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import ExportError

log = logging.getLogger(__name__)


def quantize_int8(src: Path, dst: Path, per_channel: bool = False) -> None:
    """Dynamic int8 quantization of the weight MatMuls (activations quantized at run time).

    Embedding tables (``Gather``) are stored int8 too (they are most of the file size).
    Only MatMuls with a constant weight are quantized (``MatMulConstBOnly``): attention
    products stay fp32, which keeps the KV cache exact and the scores close to fp32.
    ``per_channel`` uses one weight scale per output column (more accurate, a bit slower).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime logs a "consider pre-processing" hint on root
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                         op_types_to_quantize=["MatMul", "Gemm", "Gather"],
                         extra_options={"MatMulConstBOnly": True,
                                        "DefaultTensorType": onnx.TensorProto.FLOAT})
    except Exception as e:  # onnxruntime raises several exception types
        raise ExportError(f"{src}: int8 quantization failed: {e}") from e
    finally:
        root.setLevel(level)


def optimize_graph(src: Path, dst: Path, num_heads: int, hidden_size: int) -> bool:
    """onnxruntime's transformer optimiser (fusions: LayerNorm, GELU, attention where it can).

    Returns False (and leaves ``dst`` unwritten) when the optimiser fails; the parity check
    validates whatever is shipped.
    """
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        opt = optimize_model(str(src), model_type="bert", num_heads=num_heads,
                             hidden_size=hidden_size, opt_level=1)
        opt.save_model_to_file(str(dst))
        return True
    except Exception as e:  # optimiser failures vary
        log.warning("graph optimisation skipped for %s: %s", src, e)
        return False
