"""The input guard: scores prompts (strings or message lists) with the input classifier."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import InputError, InputTooLargeError, ModelLoadError, budget_overrides
from ._common import check_threshold, sigmoid, windowing
from .decode import decoded_variants
from .language import (DEFAULT_UNVALIDATED_LANGUAGE, LanguageReport, UnvalidatedPolicy, check_policy,
                       decide, report, shared_language_id)
from .manifest import load_manifest, operating_points, resolve_threshold
from .scheduler import WindowScheduler
from .session import ProviderSpec, make_session
from .text import render_segments
from .tokenization import GuardTokenizer, sanitize
from .verdict import Verdict
from .window_cache import DEFAULT_WINDOW_CACHE_MB, CacheStats, WindowCache
from .windows import input_windows, segment_windows

OversizePolicy = Literal["reject", "scan"]

Prepared = tuple[list[list[int]], int, list[str], "LanguageReport | None"]
"""One prompt ready to score: windows, prompt tokens, notes, its language."""

DEFAULT_MAX_INPUT_TOKENS = 16_384
"""Default size budget of one input check, in guard tokens (docs/operations.md, "Budgets").

The longest real prompt in the project's data (arena-hard, 27.6k characters) is under half
of it; on 2 CPU cores a check at the limit (85 windows) takes 1.4-1.8 s, 33-42x a 512-token
check (bench/bench_budget.py), where the 400k-character prompt that motivated the budget took
20-74 s.
"""

CHARS_PER_TOKEN_CAP = 32
"""Before tokenizing, a prompt longer than ``max_input_tokens x 32`` characters is rejected
at once (real text averages about 4 characters per token; only junk such as words over 100
characters, each one ``[UNK]``, comes near 32), so a reject costs no tokenization."""

PREFIX_CHARS_PER_TOKEN = 8
"""Under ``"reject"``, a prompt longer than ``max_input_tokens x 8`` characters is first
counted on that prefix (cut after a space, so its tokens are a prefix of the whole prompt's):
ordinary text (about 4 characters per token) is then rejected without tokenizing the rest."""

VARIANT_MIN_TOKENS = 512
"""Decoded variants (``runtime/decode.py``) together add at most ``max(prompt tokens, 512)``
tokens of windows not already scored, smallest variant first."""


def _check_policy(max_input_tokens: int | None, on_oversize: str) -> tuple[int | None, OversizePolicy]:
    if on_oversize is None:
        raise InputError("on_oversize must be 'reject' or 'scan', got None")
    budget_overrides(max_input_tokens, on_oversize)
    return max_input_tokens, on_oversize  # type: ignore[return-value]


class InputGuard:
    """Input classifier over ONNX: ``[CLS] window [SEP]`` -> logits ``[1 + C]``.

    Logit 0 is harm; logits ``1..C`` are the restricted categories. A prompt longer than one
    window is cut into overlapping windows (:func:`runtime.windows.input_windows`) and the
    verdict is the maximum over windows. Thread-safe: no state changes after :meth:`load`.

    Cost is bounded: a prompt over ``max_input_tokens`` is rejected with
    :class:`~guard_plugins.errors.InputTooLargeError` (``on_oversize="reject"``, the default)
    or scored whole (``"scan"``, for offline batch use); it is never silently truncated.
    With ``batching`` (default) the windows of all concurrent checks go through one
    :class:`~guard_plugins.runtime.scheduler.WindowScheduler`: shortest check first, shared
    onnxruntime calls of at most ``max_batch_tokens`` padded tokens.
    """

    kind = "input"

    def __init__(self, folder: Path, manifest: dict[str, Any], session: Any, tokenizer: GuardTokenizer,
                 *, threshold: float | None = None,
                 category_thresholds: Mapping[str, float] | None = None, batch_size: int = 16,
                 decode_obfuscations: bool = True,
                 max_input_tokens: int | None = DEFAULT_MAX_INPUT_TOKENS,
                 on_oversize: OversizePolicy = "reject", batching: bool = True,
                 max_batch_tokens: int | None = None,
                 window_cache_mb: float | None = DEFAULT_WINDOW_CACHE_MB,
                 unvalidated_language: UnvalidatedPolicy = DEFAULT_UNVALIDATED_LANGUAGE,
                 operating_point: str | None = None):
        self.folder = folder
        self.manifest = manifest
        self._session = session
        self._tok = tokenizer
        self._inputs = {i.name for i in session.get_inputs()}
        self.categories: tuple[str, ...] = tuple(manifest.get("categories") or ())
        win = windowing(manifest)
        self.window, self.stride = win["input_window"], win["input_stride"]
        self.threshold, self.operating_point = resolve_threshold(manifest, folder, threshold,
                                                                 operating_point)
        self.operating_points = operating_points(manifest, folder)
        merged = dict(manifest.get("category_thresholds") or {})
        merged.update(category_thresholds or {})
        unknown = set(merged) - set(self.categories)
        if unknown:
            raise ModelLoadError(f"category thresholds for unknown categories {sorted(unknown)}; "
                                 f"known: {list(self.categories)}")
        self.category_thresholds = {c: check_threshold(v, f"category {c!r}") for c, v in merged.items()}
        self.batch_size = max(1, int(batch_size))
        self.decode_obfuscations = bool(decode_obfuscations)
        self.max_input_tokens, self.on_oversize = _check_policy(max_input_tokens, on_oversize)
        # languages (runtime/language.py): the manifest's validated codes decide
        # Verdict.language_validated; the policy decides what an unvalidated one does
        self.unvalidated_language: UnvalidatedPolicy = check_policy(unvalidated_language)
        langs = (manifest.get("languages") or {}).get("validated")
        self.validated_languages: frozenset[str] | None = (
            frozenset(str(c) for c in langs) if isinstance(langs, (list, tuple)) and langs else None)
        if self.validated_languages is None and self.unvalidated_language != "score":
            raise ModelLoadError(f"{folder}: unvalidated_language={self.unvalidated_language!r} needs the "
                                 f"manifest's languages.validated list, and this model has none "
                                 f"(use 'score')")
        self.language_id = shared_language_id().warm()  # the model loads now, not on a request
        # dynamic int8: activation scales are computed per call (see runtime/scheduler.py)
        self.dynamic_quant = "dynamic" in str((manifest.get("onnx") or {}).get("quantization") or "")
        if max_batch_tokens is None:
            # CPU: two full windows per call (about 40 ms on 2 cores) keeps a short request's
            # wait behind a long one small; a GPU wants big calls
            on_gpu = any(p != "CPUExecutionProvider" for p in session.get_providers())
            max_batch_tokens = 16_384 if on_gpu else 2 * (self.window + 2)
        if window_cache_mb is not None and (isinstance(window_cache_mb, bool)
                                            or not isinstance(window_cache_mb, (int, float))
                                            or window_cache_mb < 0):
            raise ModelLoadError(f"window_cache_mb must be a number >= 0 (0: no cache), got {window_cache_mb!r}")
        sha = str(((manifest.get("files") or {}).get(manifest["onnx"].get("file", "model.onnx")) or {})
                  .get("sha256") or folder)
        self.window_cache: WindowCache | None = (
            WindowCache(window_cache_mb, namespace=sha) if window_cache_mb else None)
        self.scheduler: WindowScheduler | None = (
            WindowScheduler(self._call, 1 + len(self.categories), max_batch_tokens=max_batch_tokens,
                            max_batch_rows=max(self.batch_size, 64), exact_rows=self.dynamic_quant,
                            name="guard-plugins-input")
            if batching else None)

    @classmethod
    def load(cls, folder: str | Path, providers: ProviderSpec = None, *, verify: bool = True,
             threshold: float | None = None, category_thresholds: Mapping[str, float] | None = None,
             intra_op_threads: int | None = None, batch_size: int = 16,
             decode_obfuscations: bool = True,
             max_input_tokens: int | None = DEFAULT_MAX_INPUT_TOKENS,
             on_oversize: OversizePolicy = "reject", batching: bool = True,
             max_batch_tokens: int | None = None,
             window_cache_mb: float | None = DEFAULT_WINDOW_CACHE_MB,
             unvalidated_language: UnvalidatedPolicy = DEFAULT_UNVALIDATED_LANGUAGE,
             operating_point: str | None = None) -> InputGuard:
        """Load an exported input model folder (checks sha256 of every file first).

        ``window_cache_mb``: bound of the window-score cache (``runtime/window_cache.py``;
        default 32 MB; ``0`` or ``None``: no cache). ``unvalidated_language``: ``"score"``
        (default), ``"flag"`` or ``"allow"`` for text in a language the manifest does not list
        as validated (``runtime/language.py``); ``"flag"``/``"allow"`` need that list.
        ``operating_point``: a named threshold of the manifest (``"standard"``, ``"strict"``, ``"balanced"``;
        ``None``: its default); an explicit ``threshold`` wins."""
        folder = Path(folder)
        manifest = load_manifest(folder, kind="input", verify=verify)
        tinfo = manifest["tokenizer"]
        tok = GuardTokenizer(folder / tinfo["file"], cls_id=tinfo.get("cls_id"),
                             sep_id=tinfo.get("sep_id"), pad_id=tinfo.get("pad_id"))
        session = make_session(folder / manifest["onnx"]["file"], providers,
                               intra_op_threads=intra_op_threads)
        return cls(folder, manifest, session, tok, threshold=threshold,
                   category_thresholds=category_thresholds, batch_size=batch_size,
                   decode_obfuscations=decode_obfuscations, max_input_tokens=max_input_tokens,
                   on_oversize=on_oversize, batching=batching, max_batch_tokens=max_batch_tokens,
                   window_cache_mb=window_cache_mb, unvalidated_language=unvalidated_language,
                   operating_point=operating_point)

    @property
    def providers(self) -> list[str]:
        """Execution providers the session actually uses."""
        return list(self._session.get_providers())

    def cache_stats(self) -> CacheStats | None:
        """Hits, misses, entries and bytes of the window cache (``None`` when it is off)."""
        return self.window_cache.stats() if self.window_cache is not None else None

    # -- scoring -------------------------------------------------------------------------
    def _prepare(self, content: Any, limit: int | None = None,
                 policy: OversizePolicy = "scan") -> tuple[list[list[int]], int, list[str]]:
        """``(windows, prompt tokens, notes)`` of one prompt."""
        return self._prepare_full(content, limit, policy)[:3]  # type: ignore[return-value]

    def _prepare_full(self, content: Any, limit: int | None = None, policy: OversizePolicy = "scan",
                      ) -> tuple[list[list[int]], int, list[str], LanguageReport | None]:
        """:meth:`_prepare` plus the language of the text (``runtime/language.py``)."""
        text, notes, starts = render_segments(content)
        if limit is not None and policy == "reject" and len(text) > limit * CHARS_PER_TOKEN_CAP:
            raise InputTooLargeError(len(text), limit * CHARS_PER_TOKEN_CAP, "characters")
        # sanitised piece by piece (a piece starts after a newline, so no surrogate pair is
        # split), so the pieces' tokens can be counted (the text's tokens are their
        # concatenation: BERT splits words at the newline)
        pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
        fixed = [sanitize(p) for p in pieces]
        replaced = sum(n for _, n in fixed)
        text = "".join(p for p, _ in fixed)
        if replaced:
            notes.append(f"replaced {replaced} invalid unicode code point(s)")
        if limit is not None and policy == "reject" and len(text) > limit * PREFIX_CHARS_PER_TOKEN:
            end = limit * PREFIX_CHARS_PER_TOKEN
            cut = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
            if cut > 0:
                n_prefix = len(self._tok.encode(text[:cut + 1]))
                if n_prefix > limit:
                    raise InputTooLargeError(n_prefix, limit, at_least=True)
        parts = [self._piece(p) for p, _ in fixed]
        ids, tok_starts = [], []
        for part_ids, _, _ in parts:
            tok_starts.append(len(ids))
            ids.extend(part_ids)
        if limit is not None and len(ids) > limit:
            if policy == "reject":
                raise InputTooLargeError(len(ids), limit)
            notes.append(f"{len(ids)} tokens, over max_input_tokens={limit}: scored whole "
                         f"(on_oversize='scan')")
        wins = segment_windows(ids, tok_starts, self.window, self.stride)
        if len(wins) > 1:
            notes.append(f"scored in {len(wins)} windows of {self.window} tokens")
        if self.decode_obfuscations:
            # decoded variants are extra windows: the verdict is the max, so they can only
            # raise a score (runtime/decode.py says why the small encoder needs them). Only
            # windows not already scored count (a homoglyph fold of a long prompt changes few).
            # Cost stays bounded: all variants together add at most max(prompt tokens, 512)
            # tokens (a check costs at most twice its prompt), and the smallest go first, so a
            # short payload (a base64 blob) is never crowded out by a large variant (a fold of
            # the whole prompt). A text of one piece, or one that fits a window, is decoded
            # whole; a longer conversation piece by piece (each piece's decodings are kept
            # with its tokens in the window cache, so history is not decoded again).
            if len(parts) == 1:
                decoded = list(parts[0][1])
            elif len(ids) <= self.window:
                decoded = [(name, self._tok.encode(v)) for name, v in decoded_variants(text)]
            else:
                decoded = [v for _, pvs, _ in parts for v in pvs]
            cap = max(len(ids), VARIANT_MIN_TOKENS)
            total = cap
            seen = {tuple(w) for w in wins}
            variants = []
            for name, variant_ids in decoded:
                new = []
                for w in input_windows(list(variant_ids), self.window, self.stride):
                    if tuple(w) not in seen:
                        seen.add(tuple(w))
                        new.append(w)
                variants.append((sum(len(w) for w in new), name, new))
            for size, name, new in sorted(variants, key=lambda v: v[0]):
                room = min(cap, total)
                kept, used = [], 0
                for w in new:
                    if used + len(w) > room:
                        notes.append(f"{name}-decoded variant: new windows cut at {room} of {size} tokens")
                        break
                    kept.append(w)
                    used += len(w)
                total -= used
                wins.extend(kept)
                note = f"also scored a {name}-decoded variant"
                if note not in notes:
                    notes.append(note)
        # identified turn by turn (each turn's chunks are kept with its tokens in the window
        # cache, so a conversation's history is not identified again)
        lang = (report([c for part in parts for c in part[2]], self.validated_languages)
                if self.language_id is not None else None)
        return wins, len(ids), notes, lang

    def _piece(self, text: str) -> tuple[list[int], list[tuple[str, list[int]]],
                                         tuple[tuple[str, bool | None, int], ...]]:
        """Tokens of one piece of a prompt (a conversation turn), of its decoded variants, and
        its identified language chunks; kept in the window cache by text (tokens as int32
        arrays), so an unchanged turn is not tokenized, decoded nor identified again."""
        cache = self.window_cache
        key = cache.text_key(text) if cache is not None else b""
        hit = cache.get_text(key) if cache is not None else None
        if hit is None:
            ids = np.asarray(self._tok.encode(text), dtype=np.int32)
            variants = tuple((name, np.asarray(self._tok.encode(v), dtype=np.int32))
                             for name, v in decoded_variants(text)) if self.decode_obfuscations else ()
            langs = (self.language_id.identify_chunks(text, self.validated_languages)
                     if self.language_id is not None else ())
            hit = (ids, variants, langs)
            if cache is not None:
                arrays = [ids, *(v for _, v in variants)]
                cache.put_text(key, hit, sum(a.nbytes + 112 for a in arrays) + 64 * len(variants)
                               + 120 * len(langs))
        ids, variants, langs = hit  # type: ignore[misc]
        return ids.tolist(), [(name, v.tolist()) for name, v in variants], langs

    def _call(self, windows: list[list[int]]) -> np.ndarray:
        """One onnxruntime call: logits ``[len(windows), 1 + C]`` (rows padded to the longest)."""
        cls_id, sep_id, pad_id = self._tok.cls_id, self._tok.sep_id, self._tok.pad_id
        width = max(len(w) for w in windows) + 2
        ids = np.full((len(windows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(windows), width), dtype=np.int64)
        for r, w in enumerate(windows):
            ids[r, 0] = cls_id
            ids[r, 1:len(w) + 1] = w
            ids[r, len(w) + 1] = sep_id
            mask[r, :len(w) + 2] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        logits = self._session.run(["logits"], feed)[0]
        if logits.shape[1] != 1 + len(self.categories):
            raise ModelLoadError(f"{self.folder}: model gives {logits.shape[1]} logits, the manifest "
                                 f"lists {len(self.categories)} categories (+1)")
        return logits

    def _run_direct(self, windows: list[list[int]]) -> np.ndarray:
        """Logits ``[len(windows), 1 + C]`` in the caller's thread; batches of similar length
        (one window per call for a dynamically quantized model: ``runtime/window_cache.py``)."""
        out = np.zeros((len(windows), 1 + len(self.categories)), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        step = 1 if self.dynamic_quant else self.batch_size
        for start in range(0, len(order), step):
            idx = order[start:start + step]
            out[idx] = self._call([windows[i] for i in idx])
        return out

    def _run(self, windows: list[list[int]]) -> np.ndarray:
        """Logits ``[len(windows), 1 + C]`` (through the scheduler when batching)."""
        if self.scheduler is None:
            return self._run_direct(windows)
        fut, order = self._submit(windows)
        return self._unsort(fut.result(), order)

    def _submit(self, windows: list[list[int]]) -> tuple[Any, list[int]]:
        """Queue windows on the scheduler, shortest first (so they pack into fewer calls)."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        assert self.scheduler is not None
        return self.scheduler.submit([windows[i] for i in order]), order

    @staticmethod
    def _unsort(logits: np.ndarray, order: list[int]) -> np.ndarray:
        out = np.empty_like(logits)
        out[order] = logits
        return out

    def _verdict(self, logits: np.ndarray, n_tokens: int, notes: list[str], latency_ms: float,
                 lang: LanguageReport | None = None) -> Verdict:
        probs = sigmoid(logits[:, 0].astype(np.float64))
        cats: list[str | None] = [None] * len(probs)
        if self.categories:
            best = np.argmax(logits[:, 1:], axis=1)
            cats = [self.categories[int(b)] for b in best]
        thr = np.array([self.category_thresholds.get(c, self.threshold) if c else self.threshold
                        for c in cats])
        hit = probs >= thr
        flagged = bool(hit.any())
        w = int(np.argmax(np.where(hit, probs, -1.0))) if flagged else int(np.argmax(probs))
        flagged, category, action, lang_notes = decide(
            flagged, cats[w] if flagged else None, lang, self.unvalidated_language, self.validated_languages)
        return Verdict(flagged=flagged, score=float(probs.max()), category=category,
                       threshold=float(thr[w]), latency_ms=latency_ms, kind="input", tokens=n_tokens,
                       notes=(*notes, *lang_notes), language=lang.language if lang is not None else None,
                       language_validated=lang.validated if lang is not None else None,
                       language_action=action)

    def _limits(self, max_input_tokens: int | None | Literal["default"],
                on_oversize: OversizePolicy | None) -> tuple[int | None, OversizePolicy]:
        limit = self.max_input_tokens if max_input_tokens == "default" else max_input_tokens
        return _check_policy(limit, self.on_oversize if on_oversize is None else on_oversize)

    def check(self, content: Any, *, max_input_tokens: int | None | Literal["default"] = "default",
              on_oversize: OversizePolicy | None = None) -> Verdict:
        """Score one prompt: a string or an OpenAI-style message list.

        ``max_input_tokens`` / ``on_oversize`` override the guard's budget for this call.
        Raises :class:`InputTooLargeError` for a prompt over the budget under ``"reject"``.
        """
        return self.check_many([content], max_input_tokens=max_input_tokens,
                               on_oversize=on_oversize)[0]

    def _prepare_many(self, contents: Sequence[Any], limit: int | None,
                      policy: OversizePolicy) -> list[Prepared]:
        if isinstance(contents, (str, bytes, Mapping)) or not isinstance(contents, Sequence):
            raise InputError("check_inputs expects a list of prompts (strings or message lists)")
        return [self._prepare_full(c, limit, policy) for c in contents]

    @staticmethod
    def _dedupe(wins: list[list[int]]) -> tuple[list[list[int]], list[int]]:
        """Unique windows (repeated text is scored once) and each window's row among them."""
        rows: dict[tuple[int, ...], int] = {}
        where = [rows.setdefault(tuple(w), len(rows)) for w in wins]
        return [list(k) for k in rows], where

    def _lookup(self, uniq: list[list[int]]) -> tuple[np.ndarray, list[int], list[bytes]]:
        """Rows of ``uniq`` the window cache holds (the rest zero), the indexes it does not
        hold, and their keys."""
        rows = np.zeros((len(uniq), 1 + len(self.categories)), dtype=np.float32)
        if self.window_cache is None:
            return rows, list(range(len(uniq))), []
        keys = [self.window_cache.key(w) for w in uniq]
        miss = []
        for i, row in enumerate(self.window_cache.get_many(keys)):
            if row is None:
                miss.append(i)
            else:
                rows[i] = row
        return rows, miss, [keys[i] for i in miss]

    def _merge(self, rows: np.ndarray, miss: list[int], keys: list[bytes], scored: np.ndarray) -> np.ndarray:
        """Fill the missed rows with their new logits and keep them in the cache."""
        if miss:
            rows[miss] = scored
            if self.window_cache is not None:
                self.window_cache.put_many(keys, scored)
        return rows

    def _submit_all(self, prepared: list[Prepared]) -> list[Any]:
        """One scheduler job per prompt, so a prompt's verdict never depends on its neighbours.
        Windows the cache holds are not submitted."""
        jobs = []
        for wins, _, _, _ in prepared:
            uniq, where = self._dedupe(wins)
            rows, miss, keys = self._lookup(uniq)
            fut, order = self._submit([uniq[i] for i in miss])
            jobs.append((fut, order, where, rows, miss, keys))
        return jobs

    def _finish(self, job: tuple[Any, ...], result: np.ndarray) -> np.ndarray:
        _, order, where, rows, miss, keys = job
        return self._merge(rows, miss, keys, self._unsort(result, order))[where]

    def _run_shared(self, prepared: list[Prepared]) -> list[np.ndarray]:
        """Without the scheduler: all prompts' unique windows in shared batches (the old path)."""
        uniq, where = self._dedupe([w for wins, _, _, _ in prepared for w in wins])
        rows, miss, keys = self._lookup(uniq)
        if miss:
            rows = self._merge(rows, miss, keys, self._run_direct([uniq[i] for i in miss]))
        flat = rows[where]
        out, k = [], 0
        for wins, _, _, _ in prepared:
            out.append(flat[k:k + len(wins)])
            k += len(wins)
        return out

    def _verdicts(self, prepared: list[Prepared],
                  logits: list[np.ndarray], t0: float) -> list[Verdict]:
        ms = (time.perf_counter() - t0) * 1000.0
        return [self._verdict(lg, n, notes, ms, lang) for (_, n, notes, lang), lg in zip(prepared, logits)]

    def check_many(self, contents: Sequence[Any], *,
                   max_input_tokens: int | None | Literal["default"] = "default",
                   on_oversize: OversizePolicy | None = None) -> list[Verdict]:
        """Score many prompts; one verdict each, the same as :meth:`check` gives alone.

        ``latency_ms`` of each verdict is the wall time of the whole call. One prompt over
        the budget (``"reject"``) raises :class:`InputTooLargeError` for the call.
        """
        t0 = time.perf_counter()
        limit, policy = self._limits(max_input_tokens, on_oversize)
        prepared = self._prepare_many(contents, limit, policy)
        if self.scheduler is None:
            return self._verdicts(prepared, self._run_shared(prepared), t0)
        logits = [self._finish(job, job[0].result()) for job in self._submit_all(prepared)]
        return self._verdicts(prepared, logits, t0)

    async def acheck(self, content: Any, *, max_input_tokens: int | None | Literal["default"] = "default",
                     on_oversize: OversizePolicy | None = None) -> Verdict:
        """:meth:`check` for async code: tokenization runs in a worker thread and the scoring
        is awaited on the scheduler, so no thread is held while the check waits its turn."""
        return (await self.acheck_many([content], max_input_tokens=max_input_tokens,
                                       on_oversize=on_oversize))[0]

    async def acheck_many(self, contents: Sequence[Any], *,
                          max_input_tokens: int | None | Literal["default"] = "default",
                          on_oversize: OversizePolicy | None = None) -> list[Verdict]:
        """:meth:`check_many` for async code (see :meth:`acheck`)."""
        t0 = time.perf_counter()
        limit, policy = self._limits(max_input_tokens, on_oversize)
        prepared = await asyncio.to_thread(self._prepare_many, contents, limit, policy)
        if self.scheduler is None:
            return self._verdicts(prepared, await asyncio.to_thread(self._run_shared, prepared), t0)
        jobs = self._submit_all(prepared)
        results = await asyncio.gather(*(asyncio.wrap_future(job[0]) for job in jobs))
        logits = [self._finish(job, r) for r, job in zip(results, jobs)]
        return self._verdicts(prepared, logits, t0)
