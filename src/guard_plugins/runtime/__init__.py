"""Torch-free runtime: ONNX guards served with onnxruntime, tokenizers and numpy.

>>> from guard_plugins.runtime import Guard
>>> guard = Guard.load()                        # embedded exported_models/ (sha256-checked)
>>> guard.check_input("hello").flagged
>>> s = guard.stream("prompt"); s.feed("Sure, "); s.finish()

Contracts: docs/ARCHITECTURE.md sections 4-5. This package imports only onnxruntime,
tokenizers, numpy, the standard library and ``guard_plugins.errors`` (a test enforces it), plus
py3langid (language ID, numpy only) when the first input guard loads, not at import
(``runtime/language.py``; tests/test_language.py checks it).
"""

from __future__ import annotations

from .guard import Guard
from .input_guard import DEFAULT_MAX_INPUT_TOKENS, InputGuard
from .manifest import MODELS_ENV, default_models_dir, load_manifest, sha256_file
from .output_guard import OutputGuard, OutputStream
from .session import resolve_providers
from .verdict import Verdict
from .window_cache import CacheStats, WindowCache

__all__ = ["Guard", "CacheStats", "WindowCache", "InputGuard", "DEFAULT_MAX_INPUT_TOKENS", "OutputGuard", "OutputStream", "Verdict", "MODELS_ENV",
           "default_models_dir", "load_manifest", "sha256_file", "resolve_providers"]
