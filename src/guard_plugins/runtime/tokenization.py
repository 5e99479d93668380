"""Tokenisation for the runtime: whole texts and incremental streams of arbitrary chunks.

The guards use BERT WordPiece tokenizers (``tokenizer.json``). BERT pre-tokenisation splits on
whitespace and punctuation (and pads CJK ideographs with spaces), and WordPiece works per
word, so a text's tokens are the concatenation of the tokens of its words. A stream of
chunks from an LLM does not align with words: :class:`IncrementalTokenizer` emits the tokens of
the words the tokenizer itself says are complete, and carries the unfinished word to the next
chunk. The ids it emits are exactly those of tokenising the whole text at once (property
tests check it for random splits, the fuzz suite with all of Unicode).
"""

from __future__ import annotations

import re
from pathlib import Path

from tokenizers import Tokenizer

from ..errors import ModelLoadError

_SURROGATE = re.compile("[\ud800-\udfff]")

# Characters the BERT normaliser keeps as (or maps to) whitespace: in normalised text, one of
# these after the last token means that word is complete.
_BERT_WHITESPACE = frozenset(
    " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def sanitize(text: str) -> tuple[str, int]:
    """Make ``text`` encodable as UTF-8: join valid surrogate pairs, replace lone ones.

    Returns ``(text, n_replaced)``; the replacement U+FFFD is dropped by the BERT normaliser.
    """
    if not _SURROGATE.search(text):
        return text, 0
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return fixed, fixed.count("\ufffd") - text.count("\ufffd")


class GuardTokenizer:
    """A ``tokenizers`` BERT tokenizer with truncation and padding off.

    Thread-safe for encoding (``tokenizers`` encodes without shared mutable state once the
    truncation/padding settings are fixed at load time).
    """

    def __init__(self, path: str | Path, *, cls_id: int | None = None, sep_id: int | None = None,
                 pad_id: int | None = None, max_word_chars: int | None = None):
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises plain Exception subclasses
            raise ModelLoadError(f"{path}: cannot load tokenizer ({e})") from e
        tok.no_truncation()
        tok.no_padding()
        # text that spells a special token ("[SEP]", "[CLS]") is read as text, never as the
        # token itself: a response could otherwise fake a separator, and a chunked stream
        # (which never sees "[SEP]" whole) would read other tokens than check() does
        tok.encode_special_tokens = True
        self._tok = tok
        self.cls_id = cls_id if cls_id is not None else tok.token_to_id("[CLS]")
        self.sep_id = sep_id if sep_id is not None else tok.token_to_id("[SEP]")
        self.pad_id = pad_id if pad_id is not None else (tok.token_to_id("[PAD]") or 0)
        if self.cls_id is None or self.sep_id is None:
            raise ModelLoadError(f"{path}: tokenizer has no [CLS]/[SEP] token")
        self.unk_id = tok.token_to_id("[UNK]")
        if max_word_chars is None:
            import json
            try:
                model = json.loads(Path(path).read_text(encoding="utf-8")).get("model", {})
                max_word_chars = int(model.get("max_input_chars_per_word", 100))
            except (OSError, ValueError):
                max_word_chars = 100
        self.max_word_chars = max_word_chars

    def encode(self, text: str) -> list[int]:
        """Content token ids of ``text`` (no special tokens). ``text`` must be sanitised."""
        if not text:
            return []
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """:meth:`encode` for many texts (parallel inside ``tokenizers`` when enabled)."""
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def normalized_len(self, text: str) -> int:
        """Characters of ``text`` after the tokenizer's normaliser."""
        norm = self._tok.normalizer
        text = sanitize(text)[0]
        return len(norm.normalize_str(text)) if norm is not None else len(text)

    def incremental(self) -> IncrementalTokenizer:
        """A fresh incremental tokenizer for one stream."""
        return IncrementalTokenizer(self)


class IncrementalTokenizer:
    """Tokenise a text that arrives in arbitrary chunks, emitting ids as words complete.

    ``feed(chunk)`` returns the ids of the words completed so far (not returned before);
    ``flush()`` returns the ids of the unfinished tail. Concatenated, they equal
    ``GuardTokenizer.encode(whole_text)`` (property-tested, and fuzzed with all of Unicode).

    Where a word ends is decided by the tokenizer itself, never by a table of our own: the
    pending text plus the chunk is encoded, and every word but the last (per the encoding's
    word ids) is final; the last stays pending unless whitespace follows it. An earlier
    version used Python's Unicode tables for word boundaries; they disagree with the Rust
    normaliser on some characters (``"≠"`` decomposes to ``"="`` plus a combining mark, a split
    for the tokenizer), which let a harmful text joined with such characters be streamed as
    one over-long ``[UNK]`` "word".

    One known gap: the ``tokenizers`` library misplaces character offsets after its normaliser
    reorders combining marks that survive it (U+1D165, U+3099, ...). The stream checks its
    cut against the tokenizer and, when they disagree, cuts after whitespace instead; around
    such marks it may then emit an extra ``[UNK]``, never fewer real tokens (tested).

    Cost is linear in the text: the pending tail is one word; characters the normaliser
    deletes (controls, zero-width, combining marks) are dropped from it once it grows, so a
    stream of invisible characters cannot make each ``feed`` re-read all of them. A word longer
    than WordPiece's ``max_input_chars_per_word`` is ``[UNK]`` whatever follows, so it is
    emitted at once and the rest of it skipped. Not thread-safe: one per stream.
    """

    def __init__(self, tokenizer: GuardTokenizer):
        self._tok = tokenizer
        self._rust = tokenizer._tok
        self._norm = tokenizer._tok.normalizer
        self._pending = ""       # sanitised text of the unfinished last word (may be empty)
        self._hold = ""          # a high surrogate that may pair with the next chunk
        self._skipping = False   # inside an over-long word already emitted as [UNK]
        self.replaced = 0        # invalid code points replaced so far

    def _normalized(self, text: str) -> str:
        return self._norm.normalize_str(text) if self._norm is not None else text

    def _compact(self, text: str) -> str:
        """``text`` without the characters the normaliser deletes (same tokens, shorter)."""
        return "".join(ch for ch in text if self._normalized(ch) != "")

    def _skip_continuation(self, text: str) -> str:
        """While skipping an over-long word: ``text`` after the rest of that word (``""`` and
        still skipping when the word goes on past it)."""
        enc = self._rust.encode("a" + text, add_special_tokens=False)
        first = enc.word_ids[0]
        end = max(0, max(o[1] for o, w in zip(enc.offsets, enc.word_ids) if w == first) - 1)
        rest = text[end:]  # (text holding only deleted characters keeps the word going)
        if all(w == first for w in enc.word_ids) and not self._ends_word(rest):
            return ""
        self._skipping = False
        k = next(i for i, w in enumerate(enc.word_ids) if w != first) if len(set(enc.word_ids)) > 1 else len(enc.ids)
        if self._rust.encode(rest, add_special_tokens=False).ids[:len(enc.ids) - k] != enc.ids[k:]:
            return text  # misplaced offsets (see feed): score it all as new words, never fewer
        return rest

    def _ends_word(self, tail: str) -> bool:
        """True if ``tail`` (text after the last token) holds whitespace for the tokenizer."""
        norm = self._normalized(tail)
        return any(ch in _BERT_WHITESPACE or ch.isspace() for ch in norm)

    def feed(self, chunk: str) -> list[int]:
        """Ids of the words completed by ``chunk``."""
        if not chunk:
            return []
        raw = self._hold + chunk
        self._hold = ""
        if "\ud800" <= raw[-1] <= "\udbff":  # may pair with the next chunk's low surrogate
            raw, self._hold = raw[:-1], raw[-1]
        if not raw:
            return []
        raw, n = sanitize(raw)
        self.replaced += n
        if self._skipping:
            raw = self._skip_continuation(raw)
            if self._skipping or not raw:
                return []
        if len(self._pending) > 4 * self._tok.max_word_chars:  # e.g. a letter and 1,000 accents
            self._pending = self._compact(self._pending)
        text = self._pending + raw
        enc = self._rust.encode(text, add_special_tokens=False)
        if not enc.ids:  # nothing but deleted characters and whitespace: no word to wait for
            self._pending = ""
            return []
        ids, words, offsets = enc.ids, enc.word_ids, enc.offsets
        last_end = offsets[-1][1]
        if self._ends_word(text[last_end:]):  # whitespace after the last word: all final
            self._pending = ""
            return list(ids)
        last = words[-1]
        k = next(i for i, w in enumerate(words) if w == last)  # first token of the last word
        start = offsets[k][0]
        word = text[start:last_end]  # characters after last_end are deleted ones: dropped
        if not text.isascii() and self._rust.encode(word, add_special_tokens=False).ids != ids[k:]:
            # the offsets are off (the tokenizers library misplaces them after the normaliser
            # reorders combining marks, so ASCII text skips this check, which would otherwise
            # cost every feed a second encode): cut after the last whitespace instead, where the
            # tokens of the part before are surely a prefix of the whole text's
            return self._cut_at_space(text)
        out = list(ids[:k])
        if (len(ids) - k == 1 and ids[-1] == self._tok.unk_id
                and len(self._normalized(word)) > self._tok.max_word_chars):
            out.append(self._tok.unk_id)  # over-long: [UNK] whatever follows
            self._skipping = True
            self._pending = ""
            return out
        self._pending = word
        return out

    def _cut_at_space(self, text: str) -> list[int]:
        cut = max(text.rfind(ch) for ch in " \t\n\r")
        if cut < 0 and len(text) <= 64 * self._tok.max_word_chars:
            self._pending = text  # no whitespace yet: keep it all (bounded; see below)
            return []
        if cut < 0:  # a long run with no whitespace and misplaced offsets: give up exactness
            cut = len(text) - 1  # for bounded cost (only [UNK]s were seen to differ here)
        self._pending = text[cut + 1:]
        return self._rust.encode(text[:cut + 1], add_special_tokens=False).ids

    def flush(self) -> list[int]:
        """Ids of the unfinished tail (end of stream)."""
        text, self._pending = self._pending, ""
        hold, self._hold = self._hold, ""
        if hold:  # a lone high surrogate: replaced, and deleted by the normaliser
            self.replaced += sanitize(hold)[1]
        if self._skipping:
            self._skipping = False
            return []
        return self._tok.encode(text)
