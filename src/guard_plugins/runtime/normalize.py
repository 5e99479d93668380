"""What both guards fold before their tokenizers, and the streaming normaliser of the output guard.

One place for the rules of both guards (standard library only):

* :data:`CONFUSABLES`: Cyrillic / Greek look-alikes of Latin letters, folded to ASCII;
* :data:`LEET`: the digits and symbols of leetspeak (``0 1 3 4 5 7 8 9 @ $``) and their letters;
* :data:`COMMON`: a small English stop-word list (judges whether text reads as English);
* :func:`is_invisible`: the characters dropped before anything else (format characters such
  as zero-width spaces, joiners, bidi marks, soft hyphens; control characters but tab, line
  feed and carriage return), which the BERT normaliser deletes too.

The input guard's de-obfuscation pre-pass (:mod:`.decode`) uses them on whole prompts. The
output guard reads a response as it streams: :class:`StreamNormalizer` folds it **in front of
the output tokenizer**, incrementally and exactly under any chunking (the normalised text of a
stream is the same whatever its chunk boundaries), and watches for encoded spans, whose
decoded text the output guard scores in a parallel stream.

Folded in the text the model reads (each a function of one word, or of a run of
single-letter words, so nothing depends on where a chunk ends):

* Unicode compatibility folding (NFKC: full-width and mathematical letters, ligatures) and
  :data:`CONFUSABLES` in words whose letters are all Latin or look-alikes (``сор`` and ``cоp``
  fold; a Russian word with any other Cyrillic letter stays);
* invisible characters dropped;
* leetspeak in words that mix letters with leet digits / symbols (``h0w``, ``7h3``; not ``10``,
  ``1st``, ``4kg``, ``x86``, ``user@example.com``); inside leetspeak (two of the last
  :data:`WINDOW` words were leet, or the next word is) numbers of leet digits fold too
  (``70`` -> ``to``), list markers (``1.``) never;
* runs of single spaced characters joined (``h o w   t o`` -> ``how to``: at least three
  single spaces inside the run, wider gaps being word breaks) and words spelled with one
  separator between letters (``h-o-w``, ``s.t.e.p``);
* Markdown code fences (```` ```python ````) dropped: the model reads the code alone.

Decoded (:data:`DECODERS`), each only while its span looks encoded:

* ``base64`` / ``hex``: runs of >= 16 such characters (lines of a wrapped run continue it)
  that decode to printable UTF-8 text;
* ``rot13``: the last :data:`WINDOW` words read as English after ROT13 and not before;
* ``reversed``: the same for words read backwards; its text is turned back in blocks of
  :data:`REVERSED_BLOCK` words, so an answer reversed as a whole reads forwards within each
  block (the blocks come last first).

Not decoded: ciphers with a key (Caesar shifts other than 13, Vigenère, substitution
alphabets), other encodings (base32, morse, URL-escapes, binary), arbitrary languages and
images.

Bounded: the held-back tail is one word of at most :data:`PIECE` characters (a longer word is
passed on in pieces of that size), one whitespace run of at most :data:`PIECE` characters (the
rest of an over-long run is dropped: whitespace is one separator to the tokenizer), and at
most :data:`RUN_MAX` tokens of a spaced-letter run; each decoder keeps a bounded state.
"""

from __future__ import annotations

import binascii
import codecs
import re
import unicodedata
from collections import deque
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- shared rules
#: Latin look-alikes from Cyrillic and Greek (the common confusables), folded to ASCII.
CONFUSABLES = str.maketrans({
    "\u0430": "a", "\u0441": "c", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0445": "x",
    "\u0443": "y", "\u0456": "i", "\u0455": "s", "\u0458": "j", "\u0501": "d", "\u04bb": "h",
    "\u051b": "q", "\u051d": "w", "\u04cf": "l", "\u0410": "A", "\u0412": "B", "\u0415": "E",
    "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O", "\u0420": "P", "\u0421": "C",
    "\u0422": "T", "\u0425": "X", "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z",
    "\u0397": "H", "\u0399": "I", "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O",
    "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X", "\u03bf": "o", "\u03bd": "v",
    "\u0457": "i", "\u0406": "I", "\u0408": "J", "\u0405": "S", "\u03b9": "i", "\u03ba": "k"})
_CONFUSABLE_CHARS = frozenset(chr(c) for c in CONFUSABLES)
#: Leetspeak digits and symbols and the letters they stand for.
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                      "@": "a", "$": "s"})
_LEET_CHARS = frozenset("0134578 9@$".replace(" ", ""))
COMMON = frozenset("""the an and or of to in on for with is are was be it this that how what
why who when where can do does you me my your we they he she make get give tell write
please help need want from by as at not no yes will would should could about into out
have has had if then than so but just like some any all more most very""".split())
SEPARATORS = "-._*"


def is_invisible(ch: str) -> bool:
    """Format characters (zero-width, joiners, bidi marks, soft hyphen, BOM, tags) and
    control characters other than tab, line feed and carriage return."""
    cat = unicodedata.category(ch)
    return cat == "Cf" or (cat == "Cc" and ch not in "\t\n\r")


def _invisible_table() -> dict[int, None]:
    # format and control characters live in planes 0, 1 and 14 only (checked for the whole
    # code space in tests/test_output_transforms.py); reading just those keeps import cheap
    planes = (range(0, 0xD800), range(0xE000, 0x20000), range(0xE0000, 0xF0000))
    return {cp: None for r in planes for cp in r if is_invisible(chr(cp))}


_DROP = _invisible_table()


def drop_invisible(text: str) -> str:
    """``text`` without :func:`is_invisible` characters."""
    return text.translate(_DROP)


def english_ratio(text: str) -> float:
    """Share of the words of ``text`` in :data:`COMMON` (1.0 for fewer than four words)."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", text)]
    if len(words) < 4:
        return 1.0  # too short to judge: assume plain
    return sum(w in COMMON for w in words) / len(words)


def joined_word(word: str, min_len: int = 5) -> bool:
    """``h-o-w``, ``a.l.o.n.e..``, ``I-'-m``: one separator between single characters."""
    return len(word) >= min_len and word[1] in SEPARATORS and set(word[1::2]) == {word[1]}


def fold_confusables(word: str) -> str:
    """:data:`CONFUSABLES` folded in a word whose letters are all Latin or look-alikes."""
    if word.isascii():
        return word
    for ch in word:
        if ch.isalpha() and not ch.isascii() and ch not in _CONFUSABLE_CHARS:
            return word
    return word.translate(CONFUSABLES)


_LEET_CORE = re.compile(r"[A-Za-z0-9@$'\-]+")
_NUMBER_UNIT = re.compile(r"\d+(st|nd|rd|th|s|k|m|g|x|d|am|pm|px|kg|km|mm|cm|ml|mb|gb|kb|tb|hz)",
                          re.IGNORECASE)
_LIST_MARKER = re.compile(r"\(?\d+[.):]")
_CODE = re.compile(r"[A-Za-z]+[0-9]{2,}")
_EDGE_PUNCT = "\"'()[]{}<>.,;:!?*_`~"


def fold_leet(word: str, *, inside: bool = False, line_start: bool = False) -> str:
    """Leetspeak folded in a word mixing letters with leet digits / symbols (``h0w``,
    ``7h3``); real numbers (``10``, ``3.5``), ordinals and units (``1st``, ``4kg``), codes
    (``x86``, ``covid19``) and words with other characters (``user@example.com``) stay.
    ``inside``: the word stands in leetspeak (a stream's recent words were), so numbers made of
    leet digits and codes fold too (``70`` -> ``to``, ``ju57`` -> ``just``, ``17'5``)."""
    core = word.strip(_EDGE_PUNCT)
    if not core or not any(c in _LEET_CHARS for c in core) or not _LEET_CORE.fullmatch(core):
        return word
    if any(c in "26" for c in core):  # digits no leet alphabet uses: a number or a code
        return word
    if not inside and (not any(c.isalpha() for c in core) or _NUMBER_UNIT.fullmatch(core)
                       or _CODE.fullmatch(core)):
        return word
    if line_start and core.isdigit() and _LIST_MARKER.fullmatch(word):  # "1." "3)" at a line's start
        return word
    i = word.find(core)
    return word[:i] + core.translate(LEET) + word[i + len(core):]


def fold_word(word: str, *, leet: bool = True, spelled: bool = False) -> str:
    """One word's folds: NFKC, confusables, separator spelling, leetspeak. ``spelled``: the
    word before was separator-spelled, so a short one (``t-o``) is joined too."""
    if not word.isascii():
        word = fold_confusables(unicodedata.normalize("NFKC", word))
    if joined_word(word, 3 if spelled else 5):
        word = word[0::2]
    return fold_leet(word) if leet else word


# --------------------------------------------------------------------------- streaming
PIECE = 128
"""Longest word (and whitespace run) the normaliser holds back; a longer word goes on in pieces
of this size (WordPiece reads a word over 100 characters as one ``[UNK]`` anyway)."""
RUN_MAX = 64
"""Tokens of a spaced-letter run held back before it is decided (then it goes on as decided)."""
WINDOW = 8
"""Words the rot13 / reversed detectors look at."""
REVERSED_BLOCK = 128
"""Words of reversed text turned back at once (the decoder stream reads a block when it is
complete, or when the span or the response ends)."""
HISTORY = 8 * WINDOW
"""Tokens (words and gaps) before a rot13 / reversed span is recognised that its decoder
reads too (the detector needs :data:`WINDOW` words; the span began before them)."""
DECODERS = ("base64", "hex", "rot13", "reversed")
MIN_B64 = 16

_TOKENS = re.compile(r"\s+|\S+")
_FENCE = re.compile(r"(`{3,}|~{3,})[\w+#.-]*")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_HEX_CHARS = frozenset("0123456789abcdefABCDEF")
_ALPHA_WORD = re.compile(r"[A-Za-z]+")


def _printable_share(s: str) -> float:
    return sum(ch.isprintable() or ch in "\n\t" for ch in s) / max(1, len(s))


@dataclass
class Emit:
    """What one :meth:`StreamNormalizer.feed` (or ``finish``) gives: the normalised text, the
    decoded text per decoder kind, and notes (a decoder opened, or one refused by the cap)."""

    text: str = ""
    decoded: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Bytes:
    """A base64 or hex span being decoded: characters in, printable text out (bounded state)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.chars = ""      # characters not yet decoded (fewer than a quad / pair)
        self.utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self.open = False

    def decode(self, chars: str) -> str | None:
        """Decoded text of ``chars`` (appended to the span), or ``None`` if it is not text."""
        s = self.chars + chars.rstrip("=")
        step = 4 if self.kind == "base64" else 2
        n = len(s) - len(s) % step
        self.chars = s[n:]
        if not n:
            return ""
        try:
            raw = (binascii.a2b_base64(s[:n] + "=" * (-n % 4)) if self.kind == "base64"
                   else bytes.fromhex(s[:n]))
        except (binascii.Error, ValueError):
            return None
        text = self.utf8.decode(raw)
        if text and (_printable_share(text) < 0.9 or "\ufffd" in text and text.count("\ufffd") > len(text) // 20):
            return None
        return text

    def end(self) -> str:
        tail = ""
        if self.kind == "base64" and len(self.chars) >= 2:  # a padded last quad
            try:
                tail = self.utf8.decode(binascii.a2b_base64(self.chars + "=" * (-len(self.chars) % 4)))
            except binascii.Error:
                pass
        tail += self.utf8.decode(b"", final=True)
        self.chars = ""
        self.utf8.reset()
        return tail.replace("\ufffd", "")


class StreamNormalizer:
    """Incremental normaliser of one response (module docstring): ``feed(chunk)`` then
    ``finish()``; the concatenated ``text`` (and each decoder's concatenated ``decoded``) does
    not depend on how the response was chunked. Surrogates must be sanitised before (the
    caller holds a trailing high surrogate back, as :class:`.tokenization.IncrementalTokenizer`
    does). ``decoders``: watch for encoded spans (off for a decoder's own stream);
    ``max_decoders``: kinds that may open in one response (a further kind gets a note, not a
    decoder). Not thread-safe: one per stream."""

    def __init__(self, *, decoders: bool = True, max_decoders: int = len(DECODERS)):
        if isinstance(max_decoders, bool) or not isinstance(max_decoders, int) or max_decoders < 0:
            raise ValueError(f"max_decoders must be an integer >= 0, got {max_decoders!r}")
        self.decoders = decoders and max_decoders > 0
        self.max_decoders = max_decoders
        self._pending = ""        # the unfinished last token (word or whitespace)
        self._piece_open = False  # the pending word continues a piece already passed on
        self._run: list[tuple[str, str]] = []  # held spaced-letter run: ("w"|"g", text)
        self._run_mode: bool | None = None      # a run past RUN_MAX: joined (True) or not
        self._after_gap = True    # the previous token was whitespace (or nothing yet)
        self._spelled = False     # the last word was separator-spelled (h-o-w)
        self._leet: deque[bool] = deque(maxlen=WINDOW)  # recent words folded from leetspeak
        self._cand: str | None = None  # a number held until the next word (leetspeak or not)
        self._cand_gap = ""            # and the whitespace after it
        self._cand_plain = ""          # the number as it is (if the next word is not leet)
        self._line_start = True        # the next word starts a line
        # decoders
        self.opened: list[str] = []
        self.refused: set[str] = set()
        self._bytes: _Bytes | None = None     # the base64/hex span being read
        self._bytes_glue = False              # the next base64/hex token continues the span
        self._words: deque[tuple[int, int, int]] = deque(maxlen=WINDOW)  # (plain, rot13, rev) hits
        self._hist: deque[str] = deque(maxlen=HISTORY)  # raw tokens before a span opens
        self._scr_open = {"rot13": False, "reversed": False}
        self._rev_block: list[str] = []
        self._rev_words = 0
        self._out: Emit = Emit()
        self._parts: list[str] = []  # text emitted by this feed (joined once: no quadratic +=)
        self._dparts: dict[str, list[str]] = {}

    # ---------------------------------------------------------------- public
    def _begin(self) -> None:
        self._out, self._parts, self._dparts = Emit(), [], {}

    def _done(self) -> Emit:
        self._out.text = "".join(self._parts)
        self._out.decoded = {k: "".join(v) for k, v in self._dparts.items()}
        return self._out

    def feed(self, chunk: str) -> Emit:
        self._begin()
        text = self._pending + drop_invisible(chunk)
        if not text:
            return self._done()
        toks = _TOKENS.findall(text)
        last = toks.pop()
        for t in toks:
            self._token(t[:PIECE] if t[0].isspace() else t, complete=True)
        if last[0].isspace():
            self._pending = last[:PIECE]  # whitespace is one separator to the tokenizer
        else:
            while len(last) > PIECE:
                self._token(last[:PIECE], complete=False)
                last = last[PIECE:]
            self._pending = last
        return self._done()

    def finish(self) -> Emit:
        self._begin()
        if self._pending:
            self._token(self._pending, complete=True)
            self._pending = ""
        if self._cand is not None:
            gap = self._cand_gap
            self._cand, self._cand_gap = None, ""
            self._emit(self._cand_plain)
            self._gap(gap)
        self._close_run()
        if self.decoders:
            self._end_bytes()
            for kind in ("rot13", "reversed"):
                if self._scr_open[kind] and kind == "reversed":
                    self._flush_reversed()
        return self._done()

    # ---------------------------------------------------------------- tokens
    def _token(self, tok: str, complete: bool) -> None:
        is_gap = tok[0].isspace()
        if self.decoders:
            self._decode_token(tok, is_gap, complete)
        if is_gap:
            self._gap(tok)
        else:
            self._word(tok, complete)

    def _emit(self, s: str) -> None:
        self._parts.append(s)

    def _gap(self, gap: str) -> None:
        self._piece_open = False
        self._after_gap = True
        if "\n" in gap:
            self._line_start = True
        if self._cand is not None:  # waits with the number it follows
            self._cand_gap += gap
            return
        if self._run or self._run_mode is not None:
            if "\n" not in gap and len(gap) <= 4:
                self._run_push(("g", gap))
                return
            self._close_run()
        self._emit(gap)

    def _word(self, word: str, complete: bool) -> None:
        continues = self._piece_open or not self._after_gap
        self._after_gap = False
        self._piece_open = not complete
        whole = complete and not continues
        if self._cand is not None:  # a held number: leetspeak if this word is ("1 c4n'7")
            nxt = fold_word(word, leet=False)
            cand, gap = self._cand, self._cand_gap
            self._cand, self._cand_gap = None, ""
            self._emit(cand if whole and fold_leet(nxt) != nxt else self._cand_plain)
            self._gap(gap)
        in_run = bool(self._run) or self._run_mode is not None
        leet_mode = sum(self._leet) >= 2
        line_start, self._line_start = self._line_start, False
        if whole and _FENCE.fullmatch(word):  # a code fence: the model reads the code alone
            return
        if whole and len(word) == 1:  # perhaps a spaced letter: held in a run
            one = fold_word(word, leet=False)
            self._run_push(("w", fold_leet(one, inside=True) if leet_mode else one))
            return
        if in_run:
            nxt = fold_word(word, leet=False)
            self._close_run(leet_next=whole and fold_leet(nxt) != nxt)
        spelled = self._spelled
        self._spelled = whole and joined_word(word, 3 if spelled else 5)
        folded = fold_word(word, leet=False, spelled=spelled)
        if whole:
            leet = fold_leet(folded)
            self._leet.append(leet != folded)
            inside = fold_leet(folded, inside=True, line_start=line_start)
            if leet == folded and inside != folded:  # a number (70, 17'5)
                if not leet_mode:  # the next word says whether it is leetspeak
                    self._cand = inside
                    self._cand_plain = folded
                    return
                leet = inside  # inside leetspeak: "70" is "to"
            folded = leet
        self._emit(folded)

    # ---------------------------------------------------------------- spaced letters
    def _run_push(self, tok: tuple[str, str]) -> None:
        if self._run_mode is not None:  # decided already: pass on (a gap waits for its word)
            if tok[0] == "g":
                self._run = [tok]
            else:
                self._emit(self._render([*self._run, tok], self._run_mode))
                self._run = []
            return
        self._run.append(tok)
        if len(self._run) >= RUN_MAX and tok[0] == "w":
            self._run_mode = self._joined(self._run)
            self._emit(self._render(self._run, self._run_mode))
            self._run = []

    @staticmethod
    def _joined(run: list[tuple[str, str]]) -> bool:
        return sum(kind == "g" and text == " " for kind, text in run) >= 3

    @staticmethod
    def _render(run: list[tuple[str, str]], joined: bool) -> str:
        if not joined:
            return "".join(t for _, t in run)
        return "".join(t if k == "w" else ("" if t == " " else " ") for k, t in run)

    def _close_run(self, leet_next: bool = False) -> None:
        run, mode = self._run, self._run_mode
        self._run, self._run_mode = [], None
        if not run:
            return
        trail = ""
        if run[-1][0] == "g":  # a trailing gap is not part of the run
            trail = run.pop()[1]
        if leet_next and len(run) == 1:  # one digit before a leet word: "1 c4n'7"
            run = [("w", fold_leet(run[0][1], inside=True))]
        self._emit(self._render(run, self._joined(run) if mode is None else mode) + trail)

    # ---------------------------------------------------------------- decoders
    def _want(self, kind: str) -> bool:
        """May ``kind`` decode now? Opens it (first time) within the cap; notes a refusal."""
        if kind in self.opened:
            return True
        if len(self.opened) >= self.max_decoders:
            if kind not in self.refused:
                self.refused.add(kind)
                self._out.notes.append(f"{kind} span seen but not decoded: max_decoders="
                                       f"{self.max_decoders} already open")
            return False
        self.opened.append(kind)
        self._out.notes.append(f"{kind}-decoded text scored in a parallel stream")
        return True

    def _send(self, kind: str, text: str) -> None:
        if text:
            self._dparts.setdefault(kind, []).append(text)

    def _decode_token(self, tok: str, is_gap: bool, complete: bool) -> None:
        # base64 / hex: a run of their characters; wrapped lines continue it
        if is_gap:
            if self._bytes is not None and not (set(tok) <= {"\n", "\r"}):
                self._end_bytes()
            self._bytes_glue = self._bytes is not None
        else:
            self._bytes_token(tok)
        # rot13 / reversed: judged on whole words
        self._hist.append(tok)
        if self._scr_open["rot13"]:
            self._send("rot13", codecs.encode(tok, "rot13"))
        if self._scr_open["reversed"]:
            self._rev_block.append(tok)
        if is_gap or not complete:
            return
        words = _ALPHA_WORD.findall(tok)
        if not words:
            return
        w = max(words, key=len).lower()
        self._words.append((w in COMMON, codecs.encode(w, "rot13") in COMMON, w[::-1] in COMMON))
        if self._scr_open["reversed"]:
            self._rev_words += 1
            if self._rev_words >= REVERSED_BLOCK:
                self._flush_reversed()
        if len(self._words) < WINDOW:
            return
        plain = sum(h[0] for h in self._words)
        for kind, k in (("rot13", 1), ("reversed", 2)):
            hits = sum(h[k] for h in self._words)
            if not self._scr_open[kind]:
                if plain <= 1 and hits >= 3 and self._want(kind):
                    self._scr_open[kind] = True
                    window = list(self._hist)  # the words that opened it (and this one)
                    if kind == "rot13":
                        self._send(kind, codecs.encode("".join(window), "rot13"))
                    else:
                        self._rev_block = window
                        self._rev_words = len(self._words)
            elif hits <= 1 and plain >= 3:  # reads as English again: the span ended
                self._scr_open[kind] = False
                if kind == "reversed":
                    self._flush_reversed()
                else:
                    self._send(kind, "\n")

    def _flush_reversed(self) -> None:
        if self._rev_block:
            self._send("reversed", "".join(self._rev_block)[::-1].strip() + "\n")
        self._rev_block, self._rev_words = [], 0

    def _bytes_token(self, tok: str) -> None:
        glue, self._bytes_glue = self._bytes_glue, False
        chars = set(tok)
        if not chars <= _B64_CHARS:
            self._end_bytes()
            return
        span = self._bytes
        if span is not None and (glue or span.open):
            text = span.decode(tok)
            if text is None:
                self._end_bytes()
            else:
                self._send(span.kind, text)
                return
        if span is not None and not glue:
            self._end_bytes()
        # a new span? long enough, and not one plain word (letters of one case only)
        if len(tok) < MIN_B64 or tok.isalpha() and (tok.islower() or tok.isupper()):
            return
        kind = "hex" if chars <= _HEX_CHARS and len(tok.rstrip("=")) == len(tok) else "base64"
        probe = _Bytes(kind)
        text = probe.decode(tok)
        if text is None or len(text) < 8 or not _ALPHA_WORD.search(text):
            return
        if not self._want(kind):
            return
        probe.open = True
        self._bytes = probe
        self._send(kind, text)

    def _end_bytes(self) -> None:
        span, self._bytes = self._bytes, None
        if span is not None and span.open:
            self._send(span.kind, span.end() + "\n")


def normalize(text: str, *, decoders: bool = True, max_decoders: int = len(DECODERS)) -> Emit:
    """The whole of :class:`StreamNormalizer` over ``text`` at once (what a stream of it gives)."""
    n = StreamNormalizer(decoders=decoders, max_decoders=max_decoders)
    return merge(n.feed(text), n.finish())


def merge(a: Emit, b: Emit) -> Emit:
    """Two consecutive :class:`Emit` s as one (``feed`` then ``finish``)."""
    decoded = dict(a.decoded)
    for k, v in b.decoded.items():
        decoded[k] = decoded.get(k, "") + v
    return Emit(a.text + b.text, decoded, a.notes + b.notes)
