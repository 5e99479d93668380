"""Agent middleware for LangChain 1.x ``create_agent``: polite endings instead of errors.

``create_agent(model, tools, middleware=[GuardMiddleware()])``. Around every model call the
middleware installs a :class:`~guard_plugins.langchain.ConstitutionalGuard` as the *first*
callback of the call (so with ``stream_mode="messages"`` a flagged chunk is stopped before the
stream handler emits it), and turns a :class:`GuardrailViolation` into the model's answer: an
``AIMessage`` with the refusal text, ``response_metadata["finish_reason"] = "content_filter"``
and the verdict under ``response_metadata["guard"]``. That message has no tool calls, so the
agent loop ends there. A blocked prompt never reaches the model.

Needs the ``langchain`` package (not only ``langchain-core``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage
from langchain_core.runnables.config import var_child_runnable_config

from ._common import GuardConfigError, GuardrailViolation, refusal_metadata
from .callback import ConstitutionalGuard
from .runnable import with_guard_first


class GuardMiddleware(AgentMiddleware):
    """Guard every model call of an agent; blocked content becomes a marked refusal.

    Args:
        guard: a :class:`~guard_plugins.runtime.Guard`, a model folder, or ``None`` (defaults).
        handler: an existing :class:`ConstitutionalGuard` to reuse instead.
        **options: :class:`ConstitutionalGuard` keyword options.
    """

    def __init__(self, guard: Any = None, *, handler: ConstitutionalGuard | None = None, **options: Any) -> None:
        super().__init__()
        if handler is not None and (guard is not None or options):
            raise GuardConfigError("GuardMiddleware(): pass either handler= or guard/options, not both")
        self.handler = handler if handler is not None else ConstitutionalGuard(guard, **options)

    @property
    def name(self) -> str:
        return "ConstitutionalGuard"

    def _refusal(self, violation: GuardrailViolation) -> ModelResponse:
        return ModelResponse(result=[AIMessage(content=self.handler.refusal,
                                               response_metadata=refusal_metadata(violation))])

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        # The agent calls the model with the ambient config: put the guard first in it.
        token = var_child_runnable_config.set(with_guard_first(var_child_runnable_config.get(), self.handler))
        try:
            return handler(request)
        except GuardrailViolation as violation:
            return self._refusal(violation)
        finally:
            var_child_runnable_config.reset(token)

    async def awrap_model_call(self, request: ModelRequest,
                               handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> ModelResponse:
        token = var_child_runnable_config.set(with_guard_first(var_child_runnable_config.get(), self.handler))
        try:
            return await handler(request)
        except GuardrailViolation as violation:
            return self._refusal(violation)
        finally:
            var_child_runnable_config.reset(token)
