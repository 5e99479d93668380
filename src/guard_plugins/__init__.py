"""guard-plugins: Constitutional Classifiers as drop-in LLM middleware.

The top-level package stays import-light (no torch): ``from guard_plugins import Guard``
loads only the onnxruntime runtime, lazily.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Guard", "Verdict", "GuardError", "BlockedError", "InputError", "InputTooLargeError",
           "GuardBusyError", "__version__"]


def __getattr__(name: str) -> Any:  # PEP 562 lazy exports
    if name in ("Guard", "Verdict"):
        from . import runtime

        return getattr(runtime, name)
    if name in ("GuardError", "BlockedError", "InputError", "InputTooLargeError", "GuardBusyError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'guard_plugins' has no attribute {name!r}")
