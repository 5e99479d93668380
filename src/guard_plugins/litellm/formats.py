"""LiteLLM request and response formats: what the guards score, how a block looks.

Chat completions, text completions, Anthropic ``/v1/messages`` and the Responses API: the
prompt text of a request, the texts of a response, withholding a response, the final chunk or
SSE frames of a halted stream, and the OpenAI-style error body of a block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from litellm.types.utils import (
    Delta,
    ModelResponseStream,
    StreamingChoices,
    TextChoices,
    TextCompletionResponse,
)

from ..errors import InputError
from ..policy import Decision  # noqa: F401  (annotations)
from ..runtime.text import render_messages

CONTENT_FILTER = "content_filter"
"""The ``finish_reason`` of a halted or withheld OpenAI-format response."""

INPUT_TOO_LARGE = "input_too_large"
"""The error ``code`` of a prompt over the input guard's ``max_input_tokens`` (HTTP 400)."""

ANTHROPIC_STOP_REASON = "refusal"
"""Anthropic's ``stop_reason`` for a response stopped by a streaming classifier."""


def error_body(stage: str, decision: Decision) -> dict[str, Any]:
    """OpenAI-style ``{"error": {...}}`` body naming the category and score."""
    d = decision.to_dict()
    code = CONTENT_FILTER
    if decision.reason == "flagged" and getattr(decision.verdict, "language_action", None) == "flag":
        message = (f"guard-plugins blocked the prompt: its language ({d['language']}) is not one this "
                   f"guard's model was validated on (unvalidated_language='flag')")
    elif decision.reason == "flagged":
        what = "prompt" if stage == "input" else "response"
        cat = d["category"] or "restricted content"
        message = (f"guard-plugins blocked the {what}: flagged as {cat} "
                   f"(score {d['score']:.3f} >= threshold {d['threshold']:.3f})")
    elif decision.reason == "too_large":
        code = INPUT_TOO_LARGE
        message = f"guard-plugins rejected the {stage}: {d['error']}"
    else:
        message = f"guard-plugins could not check the {stage} and fails closed: {d['error']}"
    return {"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": None,
        "code": code,
        "guard": {"stage": stage, **{k: d[k] for k in ("reason", "category", "score", "threshold", "language")}},
    }}


def _anthropic_system(system: Any) -> Any:
    if isinstance(system, list):  # list of text blocks
        return [b for b in system if isinstance(b, Mapping)]
    return system


def _responses_input_messages(inp: Any) -> list[dict[str, Any]]:
    """Responses-API ``input`` (a string or a list of items) as chat-style messages."""
    if isinstance(inp, str):
        return [{"role": "user", "content": inp}]
    msgs: list[dict[str, Any]] = []
    for item in inp or []:
        if isinstance(item, str):
            msgs.append({"role": "user", "content": item})
        elif isinstance(item, Mapping):
            if "content" in item:
                msgs.append({"role": item.get("role") or "user", "content": item.get("content")})
            elif item.get("type") == "function_call_output" and isinstance(item.get("output"), str):
                msgs.append({"role": "tool", "content": item["output"]})
    return msgs


def request_prompt(data: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The text the input guard scores for one LiteLLM request body: ``(text, notes)``.

    Understands chat completions (``messages``), Anthropic messages (``system`` +
    ``messages``), the Responses API (``instructions`` + ``input``) and text completions
    (``prompt``). Raises :class:`InputError` when there is nothing to score.
    """
    messages: list[Any] = []
    if data.get("system") is not None:
        messages.append({"role": "system", "content": _anthropic_system(data["system"])})
    if data.get("instructions"):
        messages.append({"role": "system", "content": data["instructions"]})
    if data.get("messages") is not None:
        messages.extend(data["messages"])
    if data.get("input") is not None:
        messages.extend(_responses_input_messages(data["input"]))
    if not messages and data.get("prompt") is not None:
        p = data["prompt"]
        messages = [{"role": "user", "content": p if isinstance(p, str) else "\n".join(map(str, p))}]
    if not messages:
        raise InputError("request has no messages, input or prompt to check")
    return render_messages(messages)


def _chat_response_texts(response: Any) -> list[tuple[Any, str]]:
    """``(choice, text)`` of a chat response (``message.content``) or a text completion."""
    out = []
    for choice in getattr(response, "choices", None) or []:
        msg = getattr(choice, "message", None)
        content = getattr(msg, "content", None) if msg is not None else getattr(choice, "text", None)
        if isinstance(content, str):
            out.append((choice, content))
    return out


def _withhold_chat(response: Any, replacement: str) -> Any:
    for choice in getattr(response, "choices", None) or []:
        msg = getattr(choice, "message", None)
        if msg is not None:
            msg.content = replacement
            if getattr(msg, "tool_calls", None):
                msg.tool_calls = None
        elif hasattr(choice, "text"):
            choice.text = replacement
        choice.finish_reason = CONTENT_FILTER
    return response


def _anthropic_text(response: Mapping[str, Any]) -> str:
    return "".join(b.get("text", "") for b in response.get("content") or []
                   if isinstance(b, Mapping) and b.get("type") == "text")


def _responses_text(response: Any) -> str:
    parts = []
    for item in getattr(response, "output", None) or []:
        content = item.get("content") if isinstance(item, Mapping) else getattr(item, "content", None)
        for part in content or []:
            ptype = part.get("type") if isinstance(part, Mapping) else getattr(part, "type", None)
            text = part.get("text") if isinstance(part, Mapping) else getattr(part, "text", None)
            if ptype == "output_text" and isinstance(text, str):
                parts.append(text)
    return "".join(parts)


def _chunk_parts(chunk: Any) -> list[tuple[int, str, bool]]:
    """``(choice index, text, has finish_reason)`` for each choice of a chat chunk
    (``delta.content``) or a text-completion chunk (``text``)."""
    parts = []
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        text = getattr(delta, "content", None) if delta is not None else getattr(choice, "text", None)
        parts.append((int(getattr(choice, "index", 0) or 0), text if isinstance(text, str) else "",
                      getattr(choice, "finish_reason", None) is not None))
    return parts


def content_filter_chunk(like: Any, indices: Sequence[int] = (0,)) -> Any:
    """The one final chunk of a halted stream (``finish_reason="content_filter"``), in the
    format of ``like``: a chat chunk, or a text-completion chunk on ``/v1/completions``."""
    if isinstance(like, TextCompletionResponse):
        return TextCompletionResponse(
            id=like.id, object="text_completion", created=like.created, model=like.model,
            choices=[TextChoices(index=i, text=None, finish_reason=CONTENT_FILTER)
                     for i in (sorted(set(indices)) or [0])])
    chunk = ModelResponseStream(
        id=getattr(like, "id", None),
        created=getattr(like, "created", None),
        model=getattr(like, "model", None),
        choices=[StreamingChoices(index=i, delta=Delta(content=None), finish_reason=CONTENT_FILTER)
                 for i in (sorted(set(indices)) or [0])],
    )
    return chunk


def _sse_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Split an SSE byte buffer into complete frames (each with its blank line) + the rest."""
    frames = []
    while True:
        cut = buffer.find(b"\n\n")
        if cut < 0:
            return frames, buffer
        frames.append(buffer[:cut + 2])
        buffer = buffer[cut + 2:]


def _sse_data(frame: bytes) -> dict[str, Any] | None:
    lines = [ln[5:].strip() for ln in frame.split(b"\n") if ln.startswith(b"data:")]
    if not lines:
        return None
    try:
        obj = json.loads(b"\n".join(lines))
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _anthropic_stop_frames(open_blocks: Sequence[int]) -> bytes:
    frames = [f'event: content_block_stop\ndata: {json.dumps({"type": "content_block_stop", "index": i})}\n\n'
              for i in open_blocks]
    frames.append("event: message_delta\ndata: " + json.dumps({
        "type": "message_delta",
        "delta": {"stop_reason": ANTHROPIC_STOP_REASON, "stop_sequence": None},
        "usage": {"output_tokens": 0}}) + "\n\n")
    frames.append('event: message_stop\ndata: {"type": "message_stop"}\n\n')
    return "".join(frames).encode()


def _route(data: Mapping[str, Any]) -> str:
    req = data.get("proxy_server_request")
    if isinstance(req, Mapping) and req.get("url"):
        return str(req["url"])
    return "unknown route"


def _responses_incomplete_event(template: Any) -> Any:
    from litellm.types.llms.openai import ResponseIncompleteEvent, ResponsesAPIStreamEvents

    resp = template.model_copy(deep=True)
    resp.status = "incomplete"
    resp.output = []
    resp.incomplete_details = {"reason": CONTENT_FILTER}
    return ResponseIncompleteEvent(type=ResponsesAPIStreamEvents.RESPONSE_INCOMPLETE, response=resp)
