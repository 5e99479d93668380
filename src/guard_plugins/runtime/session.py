"""onnxruntime sessions and execution-provider selection."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import onnxruntime as ort

from ..errors import ModelLoadError

ProviderSpec = Union[None, str, Sequence[Union[str, tuple[str, dict[str, Any]]]]]

_ALIASES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
            "tensorrt": "TensorrtExecutionProvider", "coreml": "CoreMLExecutionProvider",
            "dml": "DmlExecutionProvider", "rocm": "ROCMExecutionProvider"}


def _gpu_present() -> bool:
    """Cheap check for an NVIDIA device, so CPU machines skip the CUDA provider (and its
    noisy load failure) when ``onnxruntime-gpu`` is installed."""
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0") or os.name == "nt"


def resolve_providers(providers: ProviderSpec) -> list[Any]:
    """Turn a provider request into onnxruntime's list, CPU always last as the fallback.

    ``None`` or ``"auto"``: CUDA first when onnxruntime offers it and a GPU is present, then
    CPU. ``"cpu"``/``"cuda"`` or a list of names (aliases or full provider names, optionally
    ``(name, options)`` pairs). Unavailable providers are dropped.
    """
    available = ort.get_available_providers()
    if providers is None or providers == "auto":
        wanted: list[Any] = []
        if "CUDAExecutionProvider" in available and _gpu_present():
            wanted.append("CUDAExecutionProvider")
    else:
        if isinstance(providers, str):
            providers = [providers]
        wanted = []
        for p in providers:
            name = p[0] if isinstance(p, tuple) else p
            if not isinstance(name, str):
                raise ModelLoadError(f"invalid provider {p!r}")
            full = _ALIASES.get(name.lower(), name)
            if full in available:
                wanted.append((full, p[1]) if isinstance(p, tuple) else full)
    if not any((w[0] if isinstance(w, tuple) else w) == "CPUExecutionProvider" for w in wanted):
        wanted.append("CPUExecutionProvider")
    return wanted


ALLOW_SPINNING = False
"""Whether onnxruntime's intra-op workers spin between calls (see :func:`make_session`); read
when a session is made. Benchmarks set it to compare; applications leave it off."""


def make_session(model: str | Path, providers: ProviderSpec = None, *,
                 intra_op_threads: int | None = None) -> ort.InferenceSession:
    """An ``InferenceSession`` with full graph optimisation on the resolved providers.

    The intra-op pool's workers do not spin between calls
    (``session.intra_op.allow_spinning=0``). With spinning, onnxruntime kept a worker busy for
    ~45 ms after every call: a guard is called now and then (a check per request, a streamed
    token every 20 ms), and that burnt ~7x the CPU of the work itself (44 against 5.9 ms of
    CPU per 16-word input check at one check every 50 ms; ``bench/results_idle_spin.json``).
    A call on an idle machine waits a little longer for the workers to wake up instead.
    """
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if ALLOW_SPINNING else "0")
    if intra_op_threads:
        so.intra_op_num_threads = int(intra_op_threads)
    try:
        return ort.InferenceSession(str(model), sess_options=so,
                                    providers=resolve_providers(providers))
    except Exception as e:  # onnxruntime raises its own exception types
        raise ModelLoadError(f"{model}: onnxruntime cannot load the model ({e})") from e
