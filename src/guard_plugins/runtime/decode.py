"""De-obfuscation pre-pass for the input guard (standard library only).

A 22M-parameter encoder cannot read base64 or rot13: the first red-team run of the default
input model let 100 % of base64 / rot13 / leetspeak / spaced-letter / reversed harmful
requests through while plain ones were mostly caught. An LLM can decode them, so the guard
must see what the LLM will see. :func:`decoded_variants` returns plausible decodings of a
prompt; the input guard scores them as extra windows and keeps the maximum, so a variant can
only raise a score (the verdict notes which decoding fired).

Each decoder runs only when a cheap detector fires, so ordinary prompts cost nothing extra:

* ``homoglyphs``: Cyrillic / Greek look-alikes of Latin letters, folded to ASCII;
* ``base64``: runs of >= 16 base64 characters that decode to mostly printable UTF-8 text;
* ``spaced``: a line mostly written one character per space (``h o w  t o``, word gaps being
  wider), or holding >= 3 words written with a separator between characters (``h-o-w``,
  ``s.t.e.a.l``, ``t-h-e-f-t-,``), which are joined wherever they sit in the line (a plain
  wrapper around a spaced request keeps its words);
* ``leetspeak``: >= 2 words mixing letters with the digits/symbols 0 1 3 4 5 7 @ $;
* ``rot13`` and ``reversed``: lines whose words look unlike English (few common words, judged
  by a small stop-word list) and become more English once decoded; other lines (a wrapper's
  "decode this:") are kept as they are.

The tables (look-alikes, leetspeak, stop words, separators) are shared with the output
guard's streaming normaliser: :mod:`.normalize` holds the rules of both guards.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from .normalize import CONFUSABLES as _CONFUSABLES
from .normalize import LEET as _LEET
from .normalize import english_ratio as _english_ratio
from .normalize import joined_word as _joined

_B64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
# a digit or symbol BETWEEN letters (h0w, st3al, c4r); not trailing numbers (user42, abc123)
_LEET_WORD = re.compile(r"[A-Za-z][0-9@$]+[A-Za-z]")
_WORD = re.compile(r"[A-Za-z]+")
MAX_VARIANTS = 5
MAX_DECODED_CHARS = 160_000
"""Longest prompt the detectors read and longest variant kept. It covers every prompt the
input guard's default budget lets through to scoring (a longer one is rejected before it, or
is over 8 characters per token: runtime/input_guard.py), so a payload placed after a long
benign text is still decoded; the input guard caps the tokens each variant adds."""


def _printable_ratio(s: str) -> float:
    return sum(ch.isprintable() or ch in "\n\t" for ch in s) / max(1, len(s))


def _b64(text: str) -> str | None:
    out = []
    for m in _B64_RUN.finditer(text):
        run = m.group(0)
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
            dec = raw.decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if len(dec) >= 8 and _printable_ratio(dec) > 0.9 and _WORD.search(dec):
            out.append(dec)
    return " ".join(out) if out else None


def _unspace(line: str) -> str | None:
    parts = line.split(" ")
    if sum(_joined(p) for p in parts) >= 3:  # then also the short ones (t.o, m-e)
        return " ".join(p[0::2] if _joined(p, 3) else p for p in parts)
    words = [p for p in parts if p]
    if len(words) < 6 or sum(len(p) == 1 for p in words) / len(words) < 0.8:
        return None
    return re.sub(r" {2,}", "\x00", line).replace(" ", "").replace("\x00", " ")


def _by_line(text: str, fn) -> str | None:  # noqa: ANN001
    lines = text.split("\n")
    changed = False
    for i, line in enumerate(lines):
        new = fn(line)
        if new is not None and new != line:
            lines[i] = new
            changed = True
    return "\n".join(lines) if changed else None


def _unscramble(decode, ratio):  # noqa: ANN001, ANN202
    def fn(line: str) -> str | None:
        r = ratio(line)
        if r >= 0.15:
            return None
        dec = decode(line)
        return dec if _english_ratio(dec) > max(0.15, r) else None
    return fn


def decoded_variants(text: str) -> list[tuple[str, str]]:
    """``[(decoder, decoded_text), ...]`` for the decoders whose detector fired (at most
    ``MAX_VARIANTS``)."""
    if not text or len(text) > MAX_DECODED_CHARS:
        return []
    # fold only words that also hold ASCII letters (mixed-script words), not Russian or Greek text
    folded = re.sub(r"\S+", lambda m: m.group(0).translate(_CONFUSABLES)
                    if re.search("[A-Za-z]", m.group(0)) else m.group(0), text)
    out: list[tuple[str, str | None]] = [("homoglyphs", folded if folded != text else None),
                                         ("base64", _b64(text)),
                                         ("spaced", _by_line(text, _unspace))]
    if len(_LEET_WORD.findall(text)) >= 2:
        out.append(("leetspeak", text.translate(_LEET)))
    ratios: dict[str, float] = {}  # each line's English ratio, computed once for both decoders

    def ratio(line: str) -> float:
        if line not in ratios:
            ratios[line] = _english_ratio(line)
        return ratios[line]

    out.append(("rot13", _by_line(text, _unscramble(lambda s: codecs.encode(s, "rot13"), ratio))))
    out.append(("reversed", _by_line(text, _unscramble(lambda s: s[::-1], ratio))))
    found = []
    for name, t in out:
        if not t:
            continue
        if name != "leetspeak" and len(_LEET_WORD.findall(t)) >= 2:  # e.g. base64 of leetspeak
            t, name = t.translate(_LEET), name + "+leetspeak"
        found.append((name, t[:MAX_DECODED_CHARS]))
    return found[:MAX_VARIANTS]
