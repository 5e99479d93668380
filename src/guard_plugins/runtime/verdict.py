"""The result type every guard returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One guard decision.

    Attributes:
        flagged: ``score >= threshold`` (for streams: sticky once true), unless
            ``language_action`` says the ``unvalidated_language`` option decided.
        score: probability of harm in ``[0, 1]``: the maximum over input windows, or the
            running maximum of the per-token values of a response. ``0.0`` for a response
            with no tokens yet.
        category: restricted category id (input guard, when flagged), else ``None``.
        threshold: the threshold the decision used (per-category override included).
        latency_ms: wall time of the call that produced this verdict (for a batch call: the
            whole batch).
        kind: ``"input"`` or ``"output"``.
        tokens: content tokens scored (input: prompt tokens; output: response tokens so far).
        notes: what the guard ignored or changed (non-text message parts, replaced invalid
            code points, windows used, an unvalidated language, ...).
        language: input verdicts: the language of what was scored, an ISO 639-1 code
            (ISO 639-3 where there is none) from ``runtime/language.py``, or ``"und"`` (no
            letters, too short or unsure). For mixed text, the unvalidated language with the
            most letters if any part is in one (a foreign payload wrapped in English reports
            the payload's language), else the language with the most letters. ``None``:
            not identified (output verdicts).
        language_validated: whether the model's manifest lists the language as validated
            (``False`` as soon as one part of the text is in an unvalidated language);
            ``None`` when undetermined or when the manifest lists no validated languages.
        language_action: ``None`` when ``flagged`` is ``score >= threshold``; ``"flag"`` or
            ``"allow"`` when the ``unvalidated_language`` option decided it instead (flagged
            for ``"flag"``, not flagged for ``"allow"``; the score is still the model's).
    """

    flagged: bool
    score: float
    category: str | None
    threshold: float
    latency_ms: float
    kind: Kind
    tokens: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    language: str | None = None
    language_validated: bool | None = None
    language_action: Literal["flag", "allow"] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (``notes`` as a list)."""
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d
