"""Non-raising mode: a Runnable that answers with a refusal instead of raising.

``guarded(model)`` wraps a chat model (or any Runnable that returns a message). Internally it
runs the model with a :class:`~guard_plugins.langchain.ConstitutionalGuard` placed *first*
among the call's callbacks and turns a :class:`GuardrailViolation` into a polite ending:

* blocked prompt: the model is never called; the result is an ``AIMessage`` whose content
  is the refusal text;
* blocked ``invoke`` output: the whole generation is replaced by the refusal;
* blocked stream: the chunks before the flagged one were already delivered (they passed the
  guard); the flagged chunk and the rest are dropped and one final ``AIMessageChunk`` with the
  refusal text ends the stream.

The refusal message is marked: ``response_metadata["finish_reason"] = "content_filter"`` and
``response_metadata["guard"]`` holds the verdict (stage, score, threshold, category, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config

from ._common import GuardConfigError, GuardrailViolation, refusal_metadata
from .callback import ConstitutionalGuard


def with_guard_first(config: RunnableConfig | None, handler: ConstitutionalGuard) -> RunnableConfig:
    """A copy of ``config`` whose callbacks start with ``handler`` (inherited by child runs)."""
    config = ensure_config(config)
    callbacks = config.get("callbacks")
    if callbacks is None:
        new: Any = [handler]
    elif isinstance(callbacks, list):
        new = [handler, *(h for h in callbacks if h is not handler)]
    elif isinstance(callbacks, BaseCallbackManager):
        new = callbacks.copy()
        for lst in (new.handlers, new.inheritable_handlers):
            if handler in lst:
                lst.remove(handler)
            lst.insert(0, handler)
    else:  # pragma: no cover - LangChain only allows the two forms above
        raise TypeError(f"unsupported callbacks type {type(callbacks).__name__}")
    return {**config, "callbacks": new}


class GuardedChatModel(Runnable[LanguageModelInput, BaseMessage]):
    """A chat model whose blocked prompts and outputs become a marked refusal message.

    Build it with :func:`guarded`. Supports ``invoke``, ``ainvoke``, ``batch``, ``abatch``,
    ``stream``, ``astream`` and LCEL composition (``prompt | guarded(model) | parser``).
    To use tools, bind them first: ``guarded(model.bind_tools(tools))``.
    """

    def __init__(self, model: Runnable[LanguageModelInput, BaseMessage], handler: ConstitutionalGuard) -> None:
        self.model = model
        self.handler = handler

    @property
    def refusal(self) -> str:
        return self.handler.refusal

    @property
    def InputType(self) -> Any:  # noqa: N802 - LangChain's naming
        return self.model.InputType

    @property
    def OutputType(self) -> Any:  # noqa: N802
        return self.model.OutputType

    def _refusal_message(self, v: GuardrailViolation) -> AIMessage:
        return AIMessage(content=self.handler.refusal, response_metadata=refusal_metadata(v))

    def _refusal_chunk(self, v: GuardrailViolation, last_id: str | None) -> AIMessageChunk:
        return AIMessageChunk(content=self.handler.refusal, id=last_id, response_metadata=refusal_metadata(v),
                              chunk_position="last")

    def invoke(self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any) -> BaseMessage:
        try:
            return self.model.invoke(input, with_guard_first(config, self.handler), **kwargs)
        except GuardrailViolation as v:
            return self._refusal_message(v)

    async def ainvoke(self, input: LanguageModelInput, config: RunnableConfig | None = None,
                      **kwargs: Any) -> BaseMessage:
        try:
            return await self.model.ainvoke(input, with_guard_first(config, self.handler), **kwargs)
        except GuardrailViolation as v:
            return self._refusal_message(v)

    def stream(self, input: LanguageModelInput, config: RunnableConfig | None = None,
               **kwargs: Any) -> Iterator[BaseMessage]:
        last_id: str | None = None
        try:
            for chunk in self.model.stream(input, with_guard_first(config, self.handler), **kwargs):
                last_id = getattr(chunk, "id", None) or last_id
                yield chunk
        except GuardrailViolation as v:
            yield self._refusal_chunk(v, last_id)

    async def astream(self, input: LanguageModelInput, config: RunnableConfig | None = None,
                      **kwargs: Any) -> AsyncIterator[BaseMessage]:
        last_id: str | None = None
        try:
            async for chunk in self.model.astream(input, with_guard_first(config, self.handler), **kwargs):
                last_id = getattr(chunk, "id", None) or last_id
                yield chunk
        except GuardrailViolation as v:
            yield self._refusal_chunk(v, last_id)

    def __repr__(self) -> str:
        return f"guarded({self.model!r}, {self.handler!r})"


def guarded(model: Runnable[LanguageModelInput, BaseMessage], guard: Any = None, *,
            handler: ConstitutionalGuard | None = None, **options: Any) -> GuardedChatModel:
    """Wrap ``model`` so blocked content becomes a marked refusal message instead of an error.

    Args:
        model: a chat model (or a Runnable producing messages, e.g. ``model.bind_tools(...)``).
        guard: a :class:`~guard_plugins.runtime.Guard`, a model folder, or ``None`` (defaults).
        handler: an existing :class:`ConstitutionalGuard` to reuse (then ``guard`` and
            ``options`` must be omitted).
        **options: :class:`ConstitutionalGuard` keyword options (``thresholds``, ``fail_mode``,
            ``scan_roles``, ``refusal``, ``on_verdict``, ...).
    """
    if handler is not None:
        if guard is not None or options:
            raise GuardConfigError("guarded(): pass either handler= or guard/options, not both")
        return GuardedChatModel(model, handler)
    return GuardedChatModel(model, ConstitutionalGuard(guard, **options))
