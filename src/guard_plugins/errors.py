"""Typed errors shared by every stage. Imports nothing heavy (the runtime uses it).

Every error the library raises on purpose is a :class:`GuardError`, so applications can
catch one family. Integrations decide fail-closed vs fail-open on these.
"""

from __future__ import annotations


class GuardError(Exception):
    """Base class of every error guard-plugins raises on purpose."""


class ConstitutionError(GuardError, ValueError):
    """A constitution file is missing, unparsable or fails validation.

    The message names the file, the field (dotted path) and what was expected.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None):
        super().__init__(message)
        self.path = path
        self.field = field


class DataError(GuardError, ValueError):
    """A dataset file or record is malformed (the message names file and line)."""


class ModelLoadError(GuardError):
    """An exported model folder is missing files, has a bad manifest, or cannot load."""


class IntegrityError(ModelLoadError):
    """A model file's sha256 does not match the manifest (tampered or corrupted)."""


class InputError(GuardError, ValueError):
    """Content handed to a guard cannot be scored (wrong type, unusable message list)."""


class OperatingPointError(InputError, ModelLoadError):
    """An ``operating_point`` the manifests do not have (or a value that is not a name): a
    configuration error, so the proxy refuses to start even when it fails open."""


class GuardBusyError(GuardError):
    """No output-stream slot came free in time (``max_streams`` streams already open).

    A capacity error, not a verdict: integrations treat it as a guard failure (fail-closed
    blocks the stream; fail-open lets it through unwatched, logged at ERROR).

    Attributes:
        limit: the guard's ``max_streams``.
        waited_s: how long the stream waited for a slot.
    """

    def __init__(self, message: str, *, limit: int, waited_s: float):
        super().__init__(message)
        self.limit = limit
        self.waited_s = waited_s


class BlockedError(GuardError):
    """Content was blocked: the one exception both integrations raise for a block.

    LangChain's ``GuardrailViolation`` and LiteLLM's ``ContentBlockedError`` are subclasses,
    so an application that uses both catches ``BlockedError`` once.

    Attributes:
        stage: ``"input"`` (the prompt; the model was never called) or ``"output"``.
        verdict: the runtime ``Verdict`` that blocked, or ``None`` when no verdict exists:
            the prompt was over the size budget (``reason == "too_large"``) or the guard
            failed under fail-closed (``reason == "guard_error"``).
        reason: ``"flagged"``, ``"too_large"`` or ``"guard_error"``.
        error: the exception behind a ``too_large`` or ``guard_error`` block, else ``None``.
    """

    def __init__(self, message: str, *, stage: str, verdict: object | None = None,
                 reason: str = "flagged", error: BaseException | None = None):
        super().__init__(message)
        self.stage = stage
        self.verdict = verdict
        self.reason = reason
        self.error = error


class InputTooLargeError(InputError):
    """A prompt is over the input guard's size budget and the policy is ``"reject"``.

    ``size`` and ``limit`` are in ``unit`` (``"tokens"``, or ``"characters"`` for the cheap
    pre-check that runs before tokenization). Integrations turn it into a block that does not
    depend on fail-open/closed: an oversize prompt is a policy decision, not a guard failure.
    """

    def __init__(self, size: int, limit: int, unit: str = "tokens", *, at_least: bool = False):
        super().__init__(
            f"prompt has {'at least ' if at_least else ''}{size} {unit}, over the input guard's "
            f"limit of {limit} {unit} (max_input_tokens; pass on_oversize='scan' to score long "
            f"prompts whole)")
        self.size = size
        self.limit = limit
        self.unit = unit
        self.at_least = at_least  # size counted on a prefix only (the rest was not tokenized)


def budget_overrides(max_input_tokens: object = "default", on_oversize: object = None, *,
                     error: type[Exception] = InputError) -> dict[str, object]:
    """Check the input-budget options and return those that are set.

    ``max_input_tokens``: a positive int, ``None`` (no limit) or ``"default"`` (not set);
    ``on_oversize``: ``"reject"``, ``"scan"`` or ``None`` (not set). Raises ``error``. Lives
    here so that the runtime and both integrations share one rule without importing each other.
    """
    out: dict[str, object] = {}
    if max_input_tokens != "default":
        if max_input_tokens is not None and (isinstance(max_input_tokens, bool)
                                             or not isinstance(max_input_tokens, int) or max_input_tokens < 1):
            raise error(f"max_input_tokens must be a positive integer or None, got {max_input_tokens!r}")
        out["max_input_tokens"] = max_input_tokens
    if on_oversize is not None:
        if on_oversize not in ("reject", "scan"):
            raise error(f"on_oversize must be 'reject' or 'scan', got {on_oversize!r}")
        out["on_oversize"] = on_oversize
    return out


class ExportError(GuardError):
    """An export step failed, including a failed parity check."""
