"""Tokenisation for the runtime: whole texts and incremental streams of arbitrary chunks.

The guards use BERT WordPiece tokenizers (``tokenizer.json``). BERT pre-tokenisation splits on
whitespace and punctuation (and pads CJK ideographs with spaces), and WordPiece works per
word, so a text's tokens are the concatenation of the tokens of its words. A stream of
chunks from an LLM does not align with words: :class:`IncrementalTokenizer` tokenises only the
part of the text that ends at a word boundary, and carries the unfinished word to the next
chunk. The ids it emits are exactly those of tokenising the whole text at once (a property
test checks it for random splits).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from tokenizers import Tokenizer

from ..errors import ModelLoadError

_SURROGATE = re.compile("[\ud800-\udfff]")

# Characters the BERT normaliser maps to " " (``clean_text``): '\t', '\n', '\r', ' ' and the
# Unicode White_Space characters that are not control characters (controls are removed,
# which *joins* the text around them, so they are not boundaries).
_BERT_WHITESPACE = frozenset(
    " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def _is_cjk(cp: int) -> bool:
    """The CJK ideograph ranges BERT's ``handle_chinese_chars`` isolates."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_word_boundary(ch: str) -> bool:
    """True if a word always ends right after ``ch`` under BERT pre-tokenisation.

    Whitespace ends a word; punctuation (ASCII punctuation or Unicode ``P*``) and CJK
    ideographs are words of their own.
    """
    if ch in _BERT_WHITESPACE:
        return True
    cp = ord(ch)
    if cp < 128:
        return (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126)
    if 0xD800 <= cp <= 0xDFFF:
        return False
    return unicodedata.category(ch).startswith("P") or _is_cjk(cp)


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
    ``GuardTokenizer.encode(whole_text)``. Memory stays bounded on text without any word
    boundary: a word longer than WordPiece's ``max_input_chars_per_word`` is ``[UNK]``
    whatever follows, so it is emitted at once and the rest of the word skipped.
    Not thread-safe: one per stream.
    """

    def __init__(self, tokenizer: GuardTokenizer):
        self._tok = tokenizer
        self._pending = ""
        self._skipping = False  # inside an over-long word already emitted as [UNK]
        self.replaced = 0       # invalid code points replaced so far

    def _overlong(self, tail: str) -> bool:
        limit = self._tok.max_word_chars
        # cheap pre-check: normalisation never makes a word more than ~3x longer
        return len(tail) > limit // 3 and self._tok.normalized_len(tail) > limit

    def feed(self, chunk: str) -> list[int]:
        """Ids of the words completed by ``chunk``."""
        if not chunk:
            return []
        text = self._pending + chunk
        # a high surrogate at the very end may pair with the next chunk: keep it pending
        hold = ""
        if "\ud800" <= text[-1] <= "\udbff":
            text, hold = text[:-1], text[-1]
        if self._skipping:
            i = 0
            while i < len(text) and not is_word_boundary(text[i]):
                i += 1
            if i == len(text):
                self._pending = hold
                return []
            self._skipping = False
            text = text[i:]
        cut = len(text)
        while cut > 0 and not is_word_boundary(text[cut - 1]):
            cut -= 1
        stable, tail = text[:cut], text[cut:]
        stable, n = sanitize(stable)
        self.replaced += n
        ids = self._tok.encode(stable)
        if tail and self._overlong(tail) and self._tok.unk_id is not None:
            ids.append(self._tok.unk_id)
            self._skipping = True
            tail = ""
        self._pending = tail + hold
        return ids

    def flush(self) -> list[int]:
        """Ids of the unfinished tail (end of stream)."""
        text, self._pending = self._pending, ""
        if self._skipping:
            self._skipping = False
            return []
        text, n = sanitize(text)
        self.replaced += n
        return self._tok.encode(text)
