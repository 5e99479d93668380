"""``Guard``: the input and the streaming output guard, loaded together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from .input_guard import DEFAULT_MAX_INPUT_TOKENS, InputGuard, OversizePolicy
from .language import DEFAULT_UNVALIDATED_LANGUAGE, UnvalidatedPolicy, check_policy
from .manifest import default_models_dir
from .output_guard import DEFAULT_MAX_DECODERS, OutputGuard, OutputStream
from .slots import DEFAULT_MAX_STREAMS, DEFAULT_WAIT_S, StreamSlot
from .session import ProviderSpec
from .verdict import Verdict
from .window_cache import DEFAULT_WINDOW_CACHE_MB, CacheStats


class Guard:
    """Both classifiers of one exported model folder (``input/`` and ``output/``).

    Thread-safe: onnxruntime sessions allow concurrent ``run``; nothing mutable is shared
    (streams are per request).
    """

    def __init__(self, input_guard: InputGuard | None, output_guard: OutputGuard | None):
        if input_guard is None and output_guard is None:
            raise ModelLoadError("a Guard needs at least one model")
        self.input = input_guard
        self.output = output_guard

    @classmethod
    def load(cls, path: str | Path | None = None, providers: ProviderSpec = None, *,
             verify: bool = True, input_threshold: float | None = None,
             output_threshold: float | None = None,
             category_thresholds: Mapping[str, float] | None = None,
             intra_op_threads: int | None = None, decode_obfuscations: bool = True,
             max_input_tokens: int | None = DEFAULT_MAX_INPUT_TOKENS,
             on_oversize: OversizePolicy = "reject", batching: bool = True,
             max_batch_tokens: int | None = None,
             max_streams: int | None = DEFAULT_MAX_STREAMS,
             stream_wait_s: float = DEFAULT_WAIT_S, batch_streams: bool = False,
             window_cache_mb: float | None = DEFAULT_WINDOW_CACHE_MB,
             unvalidated_language: UnvalidatedPolicy = DEFAULT_UNVALIDATED_LANGUAGE,
             normalize_outputs: bool = True, decode_outputs: bool = True,
             max_decoders: int = DEFAULT_MAX_DECODERS,
             operating_point: str | None = None) -> Guard:
        """Load ``path/input`` and ``path/output`` (``None``: the embedded default models).

        Every file is checked against the manifest's sha256 (``IntegrityError`` otherwise).
        ``providers``: ``None``/``"auto"`` (CUDA when available, else CPU), ``"cpu"``,
        ``"cuda"`` or an onnxruntime provider list.

        Thresholds: ``operating_point`` picks a named point from both manifests:
        ``"standard"`` (the shipped default: at most 1 % of the real benign calib traffic
        flagged, pooled), ``"strict"`` (at most 1 % of hard benign English traffic flagged,
        mean over strata: fewer false alarms, less recall) or ``"balanced"`` (best F1 on
        held-back real data: more recall, more false alarms); ``Guard.operating_points`` lists
        them, and an unknown name raises ``OperatingPointError`` naming them. ``None`` keeps
        each manifest's default. ``input_threshold`` / ``output_threshold`` override either.
        A folder holding only one of the two models loads that one. ``decode_obfuscations``:
        the input guard also scores base64 / rot13 / leetspeak / spaced / reversed / homoglyph
        decodings of a prompt when a detector fires (``runtime/decode.py``), keeping the max.
        ``intra_op_threads``: onnxruntime threads per session; ``None``: onnxruntime's default
        for the input model, 1 for the output model (``output_guard.DEFAULT_INTRA_OP_THREADS``
        says why).

        Bounded cost: ``max_input_tokens`` (default 16,384 guard tokens; ``None``: no limit)
        with ``on_oversize="reject"`` (default: :class:`~guard_plugins.errors.InputTooLargeError`,
        nothing scored) or ``"scan"`` (score everything: offline batch use). ``batching``
        (default) sends the windows of all concurrent input checks through one fair scheduler
        (shortest check first, shared onnxruntime calls of at most ``max_batch_tokens``
        padded tokens; default 512 on CPU, 16,384 on a GPU).

        Bounded memory: at most ``max_streams`` output streams (default 64; ``None``: no cap)
        are open at once, each holding its KV cache; a new one waits up to ``stream_wait_s``
        seconds (default 60) for a slot, then gets
        :class:`~guard_plugins.errors.GuardBusyError` (``runtime/slots.py``). ``batch_streams``
        (default off): concurrent output streams share graph calls (``runtime/batcher.py``).

        History: ``window_cache_mb`` (default 32; ``0``/``None``: off) bounds a cache of input
        window scores shared by every caller of this guard, so the unchanged turns of a
        conversation sent again are not scored again (``runtime/window_cache.py``; verdicts are
        the same bit for bit with it on or off). :meth:`cache_stats` gives hits and misses.

        Languages: every input verdict says the language of what was scored
        (``Verdict.language``) and whether the input manifest lists it as validated
        (``language_validated``; ``runtime/language.py``). ``unvalidated_language`` decides
        what an unvalidated language does: ``"score"`` (default: scored as usual, a note says
        the language is unvalidated), ``"flag"`` (flagged whatever the score) or ``"allow"``
        (the score's verdict is not applied when no part of the prompt is in a validated
        language). ``"flag"``/``"allow"`` need the manifest's ``languages.validated`` list
        (``ModelLoadError`` otherwise); another value raises ``InputError``.

        Disguised answers (``runtime/normalize.py``): ``normalize_outputs`` (default on) folds
        look-alike letters, leetspeak, spaced letters, invisible characters and code fences in
        front of the output tokenizer; ``decode_outputs`` (default on) scores base64/hex, rot13
        and reversed spans of a response in parallel decoder streams, at most ``max_decoders``
        (default 4) per response.
        """
        check_policy(unvalidated_language)
        root = Path(path) if path is not None else default_models_dir()
        if not root.is_dir():
            raise ModelLoadError(f"{root}: model folder not found")
        has_in, has_out = (root / "input").is_dir(), (root / "output").is_dir()
        if not (has_in or has_out):
            raise ModelLoadError(f"{root}: expected input/ and/or output/ model folders")
        ig = InputGuard.load(root / "input", providers, verify=verify, threshold=input_threshold,
                             category_thresholds=category_thresholds,
                             intra_op_threads=intra_op_threads,
                             decode_obfuscations=decode_obfuscations,
                             max_input_tokens=max_input_tokens, on_oversize=on_oversize,
                             batching=batching, max_batch_tokens=max_batch_tokens,
                             window_cache_mb=window_cache_mb,
                             unvalidated_language=unvalidated_language,
                             operating_point=operating_point) if has_in else None
        og = OutputGuard.load(root / "output", providers, verify=verify, threshold=output_threshold,
                              intra_op_threads=intra_op_threads, max_streams=max_streams,
                              stream_wait_s=stream_wait_s, batch_streams=bool(batch_streams),
                              normalize_outputs=normalize_outputs, decode_outputs=decode_outputs,
                              max_decoders=max_decoders,
                              operating_point=operating_point) if has_out else None
        return cls(ig, og)

    def _need(self, which: str) -> Any:
        g = self.input if which == "input" else self.output
        if g is None:
            raise ModelLoadError(f"this Guard has no {which} model")
        return g

    @property
    def providers(self) -> dict[str, list[str]]:
        """``{"input": [...], "output": [...]}``: providers the sessions actually use."""
        return {k: g.providers for k, g in (("input", self.input), ("output", self.output)) if g}

    @property
    def operating_points(self) -> dict[str, dict[str, float]]:
        """``{"input": {name: threshold}, "output": {...}}`` from the manifests (``{}`` for a
        model without named points); each guard's ``operating_point`` says which it applies."""
        return {k: dict(g.operating_points) for k, g in (("input", self.input), ("output", self.output)) if g}

    def cache_stats(self) -> CacheStats | None:
        """The input window cache's counters (hits, misses, entries, bytes); ``None`` when
        there is no input model or the cache is off."""
        return self.input.cache_stats() if self.input else None

    @property
    def categories(self) -> tuple[str, ...]:
        """Restricted category ids of the input model."""
        return self.input.categories if self.input else ()

    def check_input(self, content: Any, **budget: Any) -> Verdict:
        """Score a prompt: a string or an OpenAI-style message list (multimodal parts ok).

        ``max_input_tokens=`` / ``on_oversize=`` override the load-time budget for this call.
        """
        return self._need("input").check(content, **budget)

    def check_inputs(self, contents: Sequence[Any], **budget: Any) -> list[Verdict]:
        """Score many prompts in shared batches."""
        return self._need("input").check_many(contents, **budget)

    async def acheck_input(self, content: Any, **budget: Any) -> Verdict:
        """:meth:`check_input` for async code (no thread held while the check waits its turn)."""
        return await self._need("input").acheck(content, **budget)

    async def acheck_inputs(self, contents: Sequence[Any], **budget: Any) -> list[Verdict]:
        """:meth:`check_inputs` for async code."""
        return await self._need("input").acheck_many(contents, **budget)

    def stream(self, prompt: Any = "", *, slot: StreamSlot | None = None) -> OutputStream:
        """Start a streaming check of the response to ``prompt`` (takes a stream slot,
        waiting for one when ``max_streams`` are open; see :meth:`OutputGuard.stream`)."""
        return self._need("output").stream(prompt, slot=slot)

    async def astream(self, prompt: Any = "") -> OutputStream:
        """:meth:`stream` for coroutines: waits for a slot without blocking the event loop."""
        return await self._need("output").astream(prompt)

    def check_output(self, prompt: Any, response: str) -> Verdict:
        """Score a complete response to ``prompt``."""
        return self._need("output").check(prompt, response)

    def check_outputs(self, pairs: Sequence[tuple[Any, str]]) -> list[Verdict]:
        """Score many ``(prompt, response)`` pairs."""
        return self._need("output").check_many(pairs)
