"""LangChain integration: block harmful prompts and halt harmful token streams.

Two modes over the same guard:

* raising — :class:`ConstitutionalGuard`, a callback handler added to any model, chain or
  agent call (``config={"callbacks": [ConstitutionalGuard()]}``); blocked content raises
  :class:`GuardrailViolation` carrying the verdict;
* non-raising — :func:`guarded` wraps a chat model into a Runnable that ends with a marked
  refusal message (``response_metadata["finish_reason"] == "content_filter"``) instead;
  :class:`GuardMiddleware` does the same for LangChain 1.x agents (``create_agent``).

Only ``langchain_core`` is needed (the ``[langchain]`` extra); the middleware needs
``langchain`` itself and is imported lazily. This package never imports torch.
"""

from __future__ import annotations

from typing import Any

from ._common import (
    ALL_ROLES,
    DEFAULT_REFUSAL,
    GuardConfigError,
    GuardEvent,
    GuardrailViolation,
    render_prompt,
    to_openai_messages,
)
from .callback import ConstitutionalGuard
from .runnable import GuardedChatModel, guarded

__all__ = [
    "ALL_ROLES",
    "DEFAULT_REFUSAL",
    "ConstitutionalGuard",
    "GuardConfigError",
    "GuardEvent",
    "GuardMiddleware",
    "GuardedChatModel",
    "GuardrailViolation",
    "guarded",
    "render_prompt",
    "to_openai_messages",
]


def __getattr__(name: str) -> Any:  # PEP 562: the agent middleware needs `langchain`, not just core
    if name == "GuardMiddleware":
        from .middleware import GuardMiddleware

        return GuardMiddleware
    raise AttributeError(f"module 'guard_plugins.langchain' has no attribute {name!r}")
