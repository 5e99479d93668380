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


class RenderedText(str):
    """A rendered conversation: a ``str`` that also remembers where its history segments
    start (``starts``, character offsets, the first 0; :func:`render_segments`).

    :func:`render_messages` returns one for a message list, so code that renders a
    conversation and hands the text on (the LangChain callback, the LiteLLM hooks) still gives
    the input guard its turn boundaries. Any string operation returns a plain ``str``, which
    the guard scores as one piece: the boundaries only decide how a long conversation is
    windowed, never whether a token is scored.
    """

    starts: tuple[int, ...]

    def __new__(cls, text: str, starts: Sequence[int] = (0,)) -> RenderedText:
        obj = super().__new__(cls, text)
        obj.starts = tuple(sorted({0, *(int(s) for s in starts if 0 <= int(s) <= len(text))}))
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (RenderedText, (str(self), self.starts))


GLUED_ROLES = frozenset({"assistant", "ai", "model"})
"""Roles whose message opens the same history segment as the message after it
(:func:`render_segments`): an assistant turn and the user turn that answers it are scored
together, so a chat adds one segment per user turn."""


def render_messages(content: Any) -> tuple[str, list[str]]:
    """Render a prompt (string or OpenAI-style message list) to ``(text, notes)``.

    - a string is returned as is;
    - a message list with a single message renders as that message's text alone;
    - otherwise each message becomes ``"{role}: {text}"``, joined by newlines, in order.
      Messages whose text is empty are skipped. The text of a message list is a
      :class:`RenderedText` (a ``str`` that keeps the turn boundaries for the input guard).

    Content may be a string, ``None`` or a list of parts (``{"type": "text", "text": ...}``);
    non-text parts (images, audio, files) are ignored and listed in ``notes``.
    Raises :class:`InputError` for anything else.
    """
    text, notes, starts = render_segments(content)
    if isinstance(content, str):
        return content, notes
    return RenderedText(text, starts), notes


def render_segments(content: Any) -> tuple[str, list[str], list[int]]:
    """:func:`render_messages` plus where the text's history segments start.

    Returns ``(text, notes, starts)``: ``starts`` are character offsets into ``text``, the
    first always 0. A segment ends after every rendered message whose role is not in
    :data:`GLUED_ROLES` (system, user, tool messages); an assistant message is glued to the
    message after it. A string or a single message is one segment. Appending messages to a
    conversation never moves the earlier segments, which is what lets the input guard keep
    their window scores (``runtime/windows.py``, :func:`~.windows.segment_windows`).
    """
    notes: list[str] = []
    if content is None:
        raise InputError("content is None: pass a string or a list of messages")
    if isinstance(content, RenderedText):
        return str(content), notes, list(content.starts)
    if isinstance(content, str):
        return content, notes, [0]
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
        return rendered[0][1], notes, [0]
    lines = [f"{r}: {t}" for r, t in rendered]
    starts, pos = [0], 0
    for (role, _), line in zip(rendered[:-1], lines):
        pos += len(line) + 1
        if role.lower() not in GLUED_ROLES:
            starts.append(pos)
    return "\n".join(lines), notes, starts
