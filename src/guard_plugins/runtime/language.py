"""Which language a prompt is in, and whether the model was validated on it.

The input model of a release is validated on some languages only (its manifest's
``"languages"`` block: ``validated`` codes, the per-language numbers measured and the rule
that picked them). The input guard reports the language of what it scored
(:attr:`Verdict.language <guard_plugins.runtime.Verdict.language>`) and whether that
language is validated (``language_validated``); the ``unvalidated_language`` option
(``"score"`` | ``"flag"`` | ``"allow"``, :data:`UNVALIDATED_POLICIES`) decides what an
unvalidated language does to the verdict (docs/operations.md, "Languages").

Language ID is ``py3langid`` (a maintained fork of langid.py; it ships its naive Bayes model,
numpy only; 0.4.0 has 140 labels, ISO 639-1 codes where one exists). It is imported and its model loaded lazily, on
the first :meth:`LanguageID.warm` (``InputGuard.load`` calls it, so the first request does
not pay the 0.5 s load), so ``import guard_plugins.runtime`` stays light.

**What "the language" of a prompt is.** A prompt is cut into chunks (sentences and lines,
:func:`chunks`; fragments shorter than :data:`MIN_LETTER_BYTES` bytes of letters are merged
with their neighbours) and each chunk is identified alone; a chunk whose language is uncertain
(:data:`VALIDATED_MIN_P`, :data:`UNVALIDATED_MAX_P`) is ``und``. The verdict's ``language`` is the unvalidated language
with the most letters when any chunk is in one, else the language with the most letters,
else ``"und"`` (no letters, too short, or no confident chunk). Why not the language of the
whole text: an attacker wraps a foreign-language payload in English ("Answer the question
below in detail: ..."), and the whole text's language would then be English, so ``"flag"``
would not see the payload. Per chunk, the payload's language is found and reported, and
``language_validated`` is ``False`` as soon as one chunk is in an unvalidated language.
``"allow"`` on the other hand must not let English text through unchecked behind a
foreign-language chunk, so it waives the verdict only when *no* chunk is in a validated
language (:attr:`LanguageReport.any_validated`).

Measured with these constants (English set: 5,074 prompts of the real-world dev splits and
public benign sets; all 3,959 rows of the benign multilingual dev split): 18 English prompts
(0.35 %) are called unvalidated, most of them really in another language (Spanish, Dutch,
German lines, romanised Chinese); 95.0 % of the multilingual rows are found unvalidated, 5.0 %
are ``und`` (short sentences, often with a name in them), 2 are taken for English. A stricter
confidence rule (the likeliest language at 0.9) left 30 % of the multilingual rows ``und``;
a looser one (validated languages under 0.01, 0.1 or 0.3 of the probability instead of
0.001) called 0.9 %, 4.0 % or 7.0 % of the English chunks foreign instead of 0.24 %.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InputError

UnvalidatedPolicy = Literal["score", "flag", "allow"]
UNVALIDATED_POLICIES: tuple[str, ...] = ("score", "flag", "allow")
DEFAULT_UNVALIDATED_LANGUAGE: UnvalidatedPolicy = "score"
"""Default: score as usual and say so in the notes (docs/operations.md says why)."""

UNDETERMINED = "und"
"""ISO 639-2 code for "undetermined": no letters, too short, or no confident chunk."""

MIN_LETTER_BYTES = 16
"""A chunk needs this many UTF-8 bytes of letters to be identified (16 Latin letters,
8 Cyrillic/Arabic/Hebrew, about 5 CJK/Indic/Thai characters: py3langid reads bytes, and a
character of a 3-byte script carries about as much as a short Latin word). Shorter fragments
are merged with their neighbours; a whole text shorter than this is ``und``."""

VALIDATED_MIN_P = 0.5
"""A chunk is in a validated language when the validated codes hold at least this share of
py3langid's normalised probability (``norm_probs``); without validated codes, a chunk's
likeliest code needs it, else the chunk is ``und``."""

UNVALIDATED_MAX_P = 0.001
"""A chunk is in an unvalidated language when the validated codes hold less than this share
of the probability (so an uncertain short English chunk, spread over many languages, is not
called foreign)."""

MAX_CHUNKS = 512
"""At most this many chunks are identified per text: the fragments after the 511th are read
as one last chunk, so the per-chunk cost (about 0.1 ms) stays bounded (a 16,384-token prompt
costs 1.4-1.8 s to score). A foreign payload after 511 chunks of English is then read with
that English: it is still scored as usual, only ``"flag"`` may not see it."""

_ROLE_PREFIX = re.compile(r"(?m)^(?:system|user|assistant|tool|ai|human|model|function|developer): ")
_SPLIT = re.compile(r"[\n.!?;:\u3002\uff01\uff1f\uff1b\uff1a\u0964\u061f\u06d4]+")
_LETTERS = re.compile(r"[^\W\d_]+")


FOLD = {"arz": "ar", "ary": "ar", "wuu": "zh", "yue": "zh", "uzs": "uz", "zxx": UNDETERMINED}
"""py3langid labels folded into the ISO 639-1 code of their macrolanguage (Egyptian and
Moroccan Arabic, Wu and Cantonese Chinese, Southern Uzbek); ``zxx`` (no linguistic
content) is undetermined. Other codes are py3langid's: ISO 639-1 where one exists, else
ISO 639-3 (``pcm``, ``ace``, ...)."""


def fold(code: str) -> str:
    """A py3langid label as the verdict reports it (:data:`FOLD`)."""
    return FOLD.get(code, code)


def policy_option(value: Any) -> dict[str, UnvalidatedPolicy]:
    """An integration's ``unvalidated_language`` option as ``Guard.load`` keywords: ``{}`` for
    ``"default"`` or ``None`` (the runtime's default), else the checked policy
    (:func:`check_policy` raises for anything else)."""
    if value is None or value == "default":
        return {}
    return {"unvalidated_language": check_policy(value)}


def check_policy(value: Any) -> UnvalidatedPolicy:
    """``value`` if it is one of :data:`UNVALIDATED_POLICIES`, else
    :class:`~guard_plugins.errors.InputError` (a ``ValueError``) saying what is allowed."""
    if not isinstance(value, str) or value not in UNVALIDATED_POLICIES:
        raise InputError(f"unvalidated_language must be one of {list(UNVALIDATED_POLICIES)}, got {value!r}")
    return value  # type: ignore[return-value]


def _letter_bytes(text: str) -> int:
    return sum(len(m.encode("utf-8", "surrogatepass")) for m in _LETTERS.findall(text))


def chunks(text: str) -> list[tuple[str, int]]:
    """``(chunk, letter bytes)`` pairs: the text cut at line breaks and sentence or clause
    punctuation (Latin, CJK, Devanagari, Arabic), role prefixes of a rendered conversation
    (``"user: "``) dropped, fragments merged until each holds :data:`MIN_LETTER_BYTES` bytes
    of letters (a short last one joins the chunk before it). Fragments without letters are
    dropped."""
    out: list[tuple[str, int]] = []
    buf: list[str] = []
    size = 0
    for frag in _SPLIT.split(_ROLE_PREFIX.sub("", text)):
        n = _letter_bytes(frag)
        if not n:
            continue
        buf.append(frag)
        size += n
        if size >= MIN_LETTER_BYTES and len(out) < MAX_CHUNKS - 1:
            out.append((" ".join(buf), size))
            buf, size = [], 0
    if buf:
        if out and size < MIN_LETTER_BYTES:
            prev, n = out.pop()
            out.append((prev + " " + " ".join(buf), n + size))
        else:
            out.append((" ".join(buf), size))
    return out


@dataclass(frozen=True)
class LanguageReport:
    """Language of one scored text.

    Attributes:
        language: ISO 639-1 code (``"und"``: undetermined); see the module docstring for
            which language a mixed text reports.
        validated: ``True`` when every identified chunk is in a validated language,
            ``False`` when one is not, ``None`` when nothing was identified or the model
            lists no validated languages.
        any_validated: some chunk is in a validated language.
        shares: ``((code, share of identified letters), ...)``, largest first.
    """

    language: str
    validated: bool | None
    any_validated: bool
    shares: tuple[tuple[str, float], ...] = ()

    def note(self, validated_langs: frozenset[str] | None) -> str | None:
        """A note for the verdict when the language is not validated, else ``None``."""
        if self.validated is not False:
            return None
        mix = ", ".join(f"{c} {s:.0%}" for c, s in self.shares)
        ok = ", ".join(sorted(validated_langs or ()))
        return (f"language {self.language} is not validated for this model (validated: {ok}; "
                f"identified: {mix})")


class LanguageID:
    """Lazily loaded py3langid identifier with normalised probabilities (thread-safe: the
    model is read-only once loaded)."""

    def __init__(self) -> None:
        self._ident: Any = None
        self._lock = threading.Lock()

    def warm(self) -> LanguageID:
        """Import py3langid and load its model now (about 0.5 s once per process)."""
        if self._ident is None:
            with self._lock:
                if self._ident is None:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier

                    load = (getattr(LanguageIdentifier, "from_model_file", None)
                            or LanguageIdentifier.from_pickled_model)  # py3langid < 0.4
                    ident = load(MODEL_FILE, norm_probs=True)
                    ident.classify("warm up the identifier")
                    self._ident = ident
        return self

    def classify(self, text: str) -> tuple[str, float]:
        """``(code, probability)`` of one piece of text (py3langid's own code)."""
        if self._ident is None:
            self.warm()
        return self._ident.classify(text)

    def _chunk(self, text: str, validated_langs: frozenset[str] | None) -> tuple[str, bool | None]:
        """``(code, in a validated language)`` of one chunk; ``(code or "und", None)`` when
        unsure.

        A chunk is in a validated language when the validated codes together hold at least
        :data:`VALIDATED_MIN_P` of the probability, and in an unvalidated one when they hold
        less than :data:`UNVALIDATED_MAX_P`; its code is then the likeliest on that side.
        Between the two it counts for neither (short or mixed text). Measured on 16-byte
        chunks: 0.24 % of the chunks of 5,074 English prompts fall under 0.001 (most of them
        real French, Dutch or Spanish quotes), 95 % of the benign multilingual dev chunks."""
        code, prob = self.classify(text)
        code = fold(code)
        if validated_langs is None:
            return (code, None) if prob >= VALIDATED_MIN_P else (UNDETERMINED, None)
        if code in validated_langs and prob >= VALIDATED_MIN_P:
            return code, True
        if code != UNDETERMINED and prob >= 1.0 - UNVALIDATED_MAX_P:
            return code, False
        p_ok = 0.0
        best: dict[bool, str] = {}
        for c, p in self._ident.rank(text):
            c = fold(c)
            if c == UNDETERMINED:
                continue
            side = c in validated_langs
            if side:
                p_ok += p
            best.setdefault(side, c)
        if p_ok >= VALIDATED_MIN_P and True in best:
            return best[True], True
        if p_ok < UNVALIDATED_MAX_P and False in best:
            return best[False], False
        return UNDETERMINED, None

    def identify_chunks(self, text: str, validated_langs: frozenset[str] | None,
                        ) -> tuple[tuple[str, bool | None, int], ...]:
        """``(code, in a validated language, letter bytes)`` of each identified chunk of
        ``text`` (undetermined chunks left out). The input guard keeps them per conversation
        turn in its window cache, so a turn is identified once (:func:`report`)."""
        out = []
        for chunk, n in chunks(text):
            code, side = self._chunk(chunk, validated_langs)
            if code != UNDETERMINED:
                out.append((code, side, n))
        return tuple(out)

    def identify(self, text: str, validated_langs: frozenset[str] | None) -> LanguageReport:
        """The :class:`LanguageReport` of ``text`` against the validated codes (``None``: the
        model lists none)."""
        return report(self.identify_chunks(text, validated_langs), validated_langs)


def report(identified: Sequence[tuple[str, bool | None, int]],
           validated_langs: frozenset[str] | None) -> LanguageReport:
    """The :class:`LanguageReport` of identified chunks (of one text, or of the turns of a
    conversation one after the other)."""
    weights: dict[str, int] = {}
    sides: dict[str, bool | None] = {}
    for code, side, n in identified:
        weights[code] = weights.get(code, 0) + n
        sides[code] = side
    if not weights:
        return LanguageReport(UNDETERMINED, None, False)
    total = sum(weights.values())
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    shares = tuple((c, n / total) for c, n in ranked)
    if validated_langs is None:
        return LanguageReport(ranked[0][0], None, False, shares)
    bad = [c for c, _ in ranked if not sides[c]]
    any_ok = len(bad) < len(ranked)
    if bad:
        return LanguageReport(bad[0], False, any_ok, shares)
    return LanguageReport(ranked[0][0], True, True, shares)


_SHARED = LanguageID()


def shared_language_id() -> LanguageID:
    """The process-wide identifier (one model in memory for every guard)."""
    return _SHARED


def decide(flagged: bool, category: str | None, report: LanguageReport | None,
           policy: UnvalidatedPolicy, validated_langs: frozenset[str] | None,
           ) -> tuple[bool, str | None, Literal["flag", "allow"] | None, list[str]]:
    """Apply the ``unvalidated_language`` policy to a score decision: ``(flagged, category,
    language_action, notes)``.

    ``"score"`` keeps the decision and notes the unvalidated language; ``"flag"`` flags a text
    with any part in an unvalidated language (the model's category kept when the score flagged
    it too); ``"allow"`` does not apply the verdict to a text with no part in a validated
    language (not flagged, no category; the score is kept for the logs). A text with a part in a
    validated language is scored as usual under ``"allow"``, so a foreign-language chunk cannot
    switch the check off for English text beside it.
    """
    note = report.note(validated_langs) if report is not None else None
    if note is None:
        return flagged, category, None, []
    assert report is not None
    if policy == "flag":
        return True, category if flagged else None, "flag", [f"{note}: flagged (unvalidated_language='flag')"]
    if policy == "allow":
        if report.any_validated:
            return flagged, category, None, [f"{note}: scored as usual, part of it is in a validated "
                                             f"language (unvalidated_language='allow')"]
        verdict = "flagged" if flagged else "not flagged"
        return False, None, "allow", [f"{note}: the score's verdict ({verdict}) not applied "
                                      f"(unvalidated_language='allow')"]
    return flagged, category, None, [f"{note}: scored as usual (unvalidated_language='score')"]
