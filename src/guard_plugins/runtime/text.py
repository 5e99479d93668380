"""Turning what applications hand a guard into the text the classifiers score.

Torch-free and shared by the data pipeline (``guard-synth`` renders multi-turn and
system-prompt augmentations with :func:`render_messages`) and the runtime, so that the
classifiers see at serving time exactly the format they were trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError

TEXT_PART_TYPES = {"text", "input_text", "output_text"}


def _describe(value: Any) -> str:
    """A short, safe description of an arbitrary value for notes and errors (never calls its
    ``__repr__``/``__str__``: deep or huge objects must not raise here)."""
    if isinstance(value, str):
        return repr(value[:40] + ("..." if len(value) > 40 else ""))
    return f"<{type(value).__name__}>"


def _content_text(content: Any, where: str, notes: list[str]) -> str:
    """Text of one message's ``content``: a string, None, or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):  # a single part given bare
        content = [content]
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        texts: list[str] = []
        for j, part in enumerate(content):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                ptype = part.get("type", "text")
                if isinstance(ptype, str) and ptype in TEXT_PART_TYPES and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                else:
                    notes.append(f"{where}.content[{j}]: ignored non-text part of type {_describe(ptype)}")
            else:
                raise InputError(f"{where}.content[{j}]: expected a string or a content-part "
                                 f"mapping, got {type(part).__name__}")
        return "\n".join(t for t in texts if t)
    raise InputError(f"{where}.content: expected a string, None or a list of content parts, "
                     f"got {type(content).__name__}")


def render_messages(content: Any) -> tuple[str, list[str]]:
    """Render a prompt (string or OpenAI-style message list) to ``(text, notes)``.

    - a string is returned as is;
    - a message list with a single message renders as that message's text alone;
    - otherwise each message becomes ``"{role}: {text}"``, joined by newlines, in order.
      Messages whose text is empty are skipped.

    Content may be a string, ``None`` or a list of parts (``{"type": "text", "text": ...}``);
    non-text parts (images, audio, files) are ignored and listed in ``notes``.
    Raises :class:`InputError` for anything else.
    """
    notes: list[str] = []
    if content is None:
        raise InputError("content is None: pass a string or a list of messages")
    if isinstance(content, str):
        return content, notes
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, Sequence) or isinstance(content, (bytes, bytearray)):
        raise InputError(f"expected a string or a list of messages, got {type(content).__name__}")
    rendered: list[tuple[str, str]] = []
    for i, msg in enumerate(content):
        if isinstance(msg, str):
            role, text = "user", msg
        elif isinstance(msg, Mapping):
            role = msg.get("role") or "user"
            if not isinstance(role, str):
                raise InputError(f"messages[{i}].role: expected a string, got {_describe(role)}")
            if "content" not in msg and "text" not in msg:
                raise InputError(f"messages[{i}]: no 'content' field")
            text = _content_text(msg.get("content", msg.get("text")), f"messages[{i}]", notes)
        else:
            raise InputError(f"messages[{i}]: expected a mapping with 'role' and 'content', "
                             f"got {type(msg).__name__}")
        if text.strip():
            rendered.append((role, text))
    if len(content) == 1 and rendered:
        return rendered[0][1], notes
    return "\n".join(f"{r}: {t}" for r, t in rendered), notes
