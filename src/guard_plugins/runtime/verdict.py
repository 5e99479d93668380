"""The result type every guard returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One guard decision.

    Attributes:
        flagged: ``score >= threshold`` (for streams: sticky once true).
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
            code points, windows used, ...).
    """

    flagged: bool
    score: float
    category: str | None
    threshold: float
    latency_ms: float
    kind: Kind
    tokens: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (``notes`` as a list)."""
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d
