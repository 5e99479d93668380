"""The input guard: scores prompts (strings or message lists) with the input classifier."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelLoadError
from ._common import check_threshold, sigmoid, windowing
from .decode import decoded_variants
from .manifest import load_manifest
from .session import ProviderSpec, make_session
from .text import render_messages
from .tokenization import GuardTokenizer, sanitize
from .verdict import Verdict
from .windows import input_windows


class InputGuard:
    """Input classifier over ONNX: ``[CLS] window [SEP]`` -> logits ``[1 + C]``.

    Logit 0 is harm; logits ``1..C`` are the restricted categories. A prompt longer than one
    window is cut into overlapping windows (:func:`runtime.windows.input_windows`) and the
    verdict is the maximum over windows. Thread-safe: no state changes after :meth:`load`.
    """

    kind = "input"

    def __init__(self, folder: Path, manifest: dict[str, Any], session: Any, tokenizer: GuardTokenizer,
                 *, threshold: float | None = None,
                 category_thresholds: Mapping[str, float] | None = None, batch_size: int = 16,
                 decode_obfuscations: bool = True):
        self.folder = folder
        self.manifest = manifest
        self._session = session
        self._tok = tokenizer
        self._inputs = {i.name for i in session.get_inputs()}
        self.categories: tuple[str, ...] = tuple(manifest.get("categories") or ())
        win = windowing(manifest)
        self.window, self.stride = win["input_window"], win["input_stride"]
        self.threshold = check_threshold(manifest["threshold"] if threshold is None else threshold,
                                         f"{folder} threshold")
        merged = dict(manifest.get("category_thresholds") or {})
        merged.update(category_thresholds or {})
        unknown = set(merged) - set(self.categories)
        if unknown:
            raise ModelLoadError(f"category thresholds for unknown categories {sorted(unknown)}; "
                                 f"known: {list(self.categories)}")
        self.category_thresholds = {c: check_threshold(v, f"category {c!r}") for c, v in merged.items()}
        self.batch_size = max(1, int(batch_size))
        self.decode_obfuscations = bool(decode_obfuscations)

    @classmethod
    def load(cls, folder: str | Path, providers: ProviderSpec = None, *, verify: bool = True,
             threshold: float | None = None, category_thresholds: Mapping[str, float] | None = None,
             intra_op_threads: int | None = None, batch_size: int = 16,
             decode_obfuscations: bool = True) -> InputGuard:
        """Load an exported input model folder (checks sha256 of every file first)."""
        folder = Path(folder)
        manifest = load_manifest(folder, kind="input", verify=verify)
        tinfo = manifest["tokenizer"]
        tok = GuardTokenizer(folder / tinfo["file"], cls_id=tinfo.get("cls_id"),
                             sep_id=tinfo.get("sep_id"), pad_id=tinfo.get("pad_id"))
        session = make_session(folder / manifest["onnx"]["file"], providers,
                               intra_op_threads=intra_op_threads)
        return cls(folder, manifest, session, tok, threshold=threshold,
                   category_thresholds=category_thresholds, batch_size=batch_size,
                   decode_obfuscations=decode_obfuscations)

    @property
    def providers(self) -> list[str]:
        """Execution providers the session actually uses."""
        return list(self._session.get_providers())

    # -- scoring -------------------------------------------------------------------------
    def _prepare(self, content: Any) -> tuple[list[list[int]], int, list[str]]:
        text, notes = render_messages(content)
        text, replaced = sanitize(text)
        if replaced:
            notes.append(f"replaced {replaced} invalid unicode code point(s)")
        ids = self._tok.encode(text)
        wins = input_windows(ids, self.window, self.stride)
        if len(wins) > 1:
            notes.append(f"scored in {len(wins)} windows of {self.window} tokens")
        if self.decode_obfuscations:
            # decoded variants are extra windows: the verdict is the max, so they can only
            # raise a score (runtime/decode.py says why the small encoder needs them)
            for name, variant in decoded_variants(text):
                wins.extend(input_windows(self._tok.encode(variant), self.window, self.stride))
                notes.append(f"also scored a {name}-decoded variant")
        return wins, len(ids), notes

    def _run(self, windows: list[list[int]]) -> np.ndarray:
        """Logits ``[len(windows), 1 + C]``; batches of similar length."""
        out = np.zeros((len(windows), 1 + len(self.categories)), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        cls_id, sep_id, pad_id = self._tok.cls_id, self._tok.sep_id, self._tok.pad_id
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(windows[i]) for i in idx) + 2
            ids = np.full((len(idx), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                row = [cls_id, *windows[i], sep_id]
                ids[r, :len(row)] = row
                mask[r, :len(row)] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            logits = self._session.run(["logits"], feed)[0]
            if logits.shape[1] != out.shape[1]:
                raise ModelLoadError(f"{self.folder}: model gives {logits.shape[1]} logits, the manifest "
                                     f"lists {len(self.categories)} categories (+1)")
            out[idx] = logits
        return out

    def _verdict(self, logits: np.ndarray, n_tokens: int, notes: list[str], latency_ms: float) -> Verdict:
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
        return Verdict(flagged=flagged, score=float(probs.max()),
                       category=cats[w] if flagged else None, threshold=float(thr[w]),
                       latency_ms=latency_ms, kind="input", tokens=n_tokens, notes=tuple(notes))

    def check(self, content: Any) -> Verdict:
        """Score one prompt: a string or an OpenAI-style message list."""
        return self.check_many([content])[0]

    def check_many(self, contents: Sequence[Any]) -> list[Verdict]:
        """Score many prompts; windows of all of them share batches (one verdict each).

        ``latency_ms`` of each verdict is the wall time of the whole call.
        """
        if isinstance(contents, (str, bytes, Mapping)) or not isinstance(contents, Sequence):
            raise InputError("check_inputs expects a list of prompts (strings or message lists)")
        t0 = time.perf_counter()
        prepared = [self._prepare(c) for c in contents]
        flat = [w for wins, _, _ in prepared for w in wins]
        logits = self._run(flat) if flat else np.zeros((0, 1 + len(self.categories)), np.float32)
        ms = (time.perf_counter() - t0) * 1000.0
        out, k = [], 0
        for wins, n, notes in prepared:
            out.append(self._verdict(logits[k:k + len(wins)], n, notes, ms))
            k += len(wins)
        return out
