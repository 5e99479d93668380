"""Dataset reading, stratified subsampling, tokenisation and length-bucketed batching.

Records follow docs/ARCHITECTURE.md section 2 and are read with
:func:`guard_plugins.synth.schema.read_jsonl` (validated; a bad line raises
:class:`~guard_plugins.errors.DataError` naming file and line).

Windowing uses the runtime's own functions (``runtime.windows``), so training sees exactly
what serving sees: input items are cut into ``[CLS] window [SEP]`` windows, and output pairs
into the passes (:class:`~guard_plugins.runtime.windows.OutputSegment`) the stream makes,
re-primes included.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from ..errors import DataError
from ..runtime.windows import (INPUT_STRIDE, INPUT_WINDOW, OUTPUT_CARRY, OUTPUT_MAX_LEN,
                               OUTPUT_MAX_PROMPT, input_windows, output_segments)
from ..synth.schema import data_file, read_jsonl

Record = dict[str, Any]


def load_split(data_dir: str | Path, kind: str, split: str) -> list[Record]:
    """Validated records of ``DATA/{inputs|outputs}.{split}.jsonl``."""
    path = data_file(data_dir, kind, split)  # type: ignore[arg-type]
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected guard-synth output in {data_dir})")
    rows = read_jsonl(path, kind)  # type: ignore[arg-type]
    if not rows:
        raise DataError(f"{path}: no records")
    return rows


def read_card(data_dir: str | Path) -> dict[str, Any]:
    """``DATA/dataset_card.json`` if present (else ``{}``)."""
    p = Path(data_dir) / "dataset_card.json"
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise DataError(f"{p}: invalid JSON ({e})") from e


def card_summary(card: dict[str, Any]) -> dict[str, Any]:
    """The small part of a dataset card that goes into checkpoint metadata."""
    keep = ("name", "schema_version", "created", "constitution", "params", "summary", "counts",
            "licences", "licenses", "restricted_licences", "seed", "version")
    return {k: card[k] for k in keep if k in card}


def stratum(rec: Record) -> tuple:
    """Stratification key: label, category, source, kind, augmented or not, look-alike."""
    return (rec["label"], rec.get("category"), rec["source"], rec.get("kind"),
            bool(rec.get("augmentations")), bool(rec.get("lookalike")))


def stratified_sample(records: Sequence[Record], n: int | None, seed: int,
                      key: Callable[[Record], tuple] = stratum, min_per_stratum: int = 20
                      ) -> list[Record]:
    """At most ``n`` records, proportional per stratum, keeping small strata whole.

    Each stratum gets ``max(min(size, min_per_stratum), round(n * share))`` items (rare
    categories/sources survive subsampling); totals are then trimmed to ``n`` from the
    largest strata. Deterministic for a seed; order is shuffled.
    """
    rng = random.Random(seed)
    if n is None or n >= len(records):
        out = list(records)
        rng.shuffle(out)
        return out
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    total = len(records)
    min_per_stratum = max(1, min(min_per_stratum, n // max(1, len(groups))))
    alloc = {k: min(len(v), max(min(len(v), min_per_stratum), round(n * len(v) / total)))
             for k, v in groups.items()}
    excess = sum(alloc.values()) - n
    for k in sorted(alloc, key=lambda k: -alloc[k]):
        if excess <= 0:
            break
        floor = min(len(groups[k]), min_per_stratum)
        cut = min(excess, alloc[k] - floor)
        alloc[k] -= cut
        excess -= cut
    keys = sorted(alloc, key=repr)
    rng.shuffle(keys)
    while excess < 0:  # rounding left room: top up from the strata with items left
        room = [k for k in sorted(keys, key=lambda k: alloc[k] - len(groups[k])) if alloc[k] < len(groups[k])]
        for k in room[:-excess]:
            alloc[k] += 1
            excess += 1
    for k in keys:  # more strata than n: drop whole (random) strata down to n
        if excess <= 0:
            break
        cut = min(excess, alloc[k])
        alloc[k] -= cut
        excess -= cut
    out: list[Record] = []
    for k in sorted(groups, key=repr):
        v = list(groups[k])
        rng.shuffle(v)
        out.extend(v[:alloc[k]])
    rng.shuffle(out)
    return out


def restricted_categories(card: dict[str, Any], constitution: str | Path | None,
                          records: Sequence[Record]) -> tuple[list[str], dict[str, str], dict]:
    """Restricted category ids (head order), their titles, and the constitution summary.

    With ``constitution`` (a path or "default") given, its restricted ids are used. Otherwise
    the restricted ids the dataset card records (the constitution the data was made with) are
    used, so the head always matches the data; titles come from the shipped constitution where
    ids match. Falls back to the shipped default. Harmful records whose category is not in the
    list get no category loss.
    """
    from ..constitution import load_constitution

    card_c = card.get("constitution") if isinstance(card.get("constitution"), dict) else {}
    if constitution is None and card_c.get("restricted"):
        cats = [str(c) for c in card_c["restricted"]]
        try:
            known = {c.id: c.title for c in load_constitution(None).restricted}
        except Exception:  # noqa: BLE001 - titles are cosmetic
            known = {}
        titles = {c: known.get(c, c.replace("_", " ")) for c in cats}
        summary = {k: card_c.get(k) for k in ("name", "version", "hash")}
        return cats, titles, summary
    const = load_constitution(constitution)
    cats = const.restricted_ids
    titles = {c.id: c.title for c in const.restricted}
    summary = {"name": const.name, "version": const.version, "hash": const.content_hash()}
    if card_c.get("hash") and card_c["hash"] != summary["hash"]:
        summary["dataset_hash_mismatch"] = card_c["hash"]
    return cats, titles, summary


# ----------------------------------------------------------------------------- input items
@dataclass
class InputExample:
    """One input item cut into windows (content ids; [CLS]/[SEP] added at collate time)."""

    windows: list[list[int]]
    label: int
    category: int  # index into the restricted list, -1 if none/unknown
    index: int     # position in the record list it came from

    @property
    def n_tokens(self) -> int:
        return sum(len(w) + 2 for w in self.windows)


def encode_batched(tok: Tokenizer, texts: Sequence[str], batch: int = 2048) -> list[Any]:
    """``tokenizers`` encodings (ids and character offsets, no special tokens) of many texts."""
    out: list[Any] = []
    for i in range(0, len(texts), batch):
        out.extend(tok.encode_batch(list(texts[i:i + batch]), add_special_tokens=False))
    return out


def encode_texts(tok: Tokenizer, texts: Sequence[str], batch: int = 2048) -> list[list[int]]:
    """Content token ids (no special tokens) of many texts."""
    return [e.ids for e in encode_batched(tok, texts, batch)]


def build_input_examples(records: Sequence[Record], tok: Tokenizer, categories: list[str],
                         window: int = INPUT_WINDOW, stride: int = INPUT_STRIDE) -> list[InputExample]:
    """Tokenise and window input records with ``runtime.windows.input_windows``."""
    cat_index = {c: i for i, c in enumerate(categories)}
    ids = encode_texts(tok, [r["text"] for r in records])
    out = []
    for i, (r, x) in enumerate(zip(records, ids)):
        cat = cat_index.get(r.get("category") or "", -1) if r["label"] == 1 else -1
        out.append(InputExample(input_windows(x, window, stride), int(r["label"]), cat, i))
    return out


@dataclass
class InputBatch:
    input_ids: torch.Tensor       # [W, L]
    attention_mask: torch.Tensor  # [W, L]
    window_item: torch.Tensor     # [W]
    labels: torch.Tensor          # [B]
    cat_targets: torch.Tensor     # [B]
    cat_known: torch.Tensor       # [B] bool
    indices: list[int] = field(default_factory=list)

    def to(self, device: torch.device | str) -> "InputBatch":
        move = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return InputBatch(**move)


def collate_input(examples: Sequence[InputExample], cls_id: int, sep_id: int, pad_id: int,
                  max_windows: int | None = None, rng: random.Random | None = None) -> InputBatch:
    """Pad ``[CLS] w [SEP]`` windows of a batch to its longest window (dynamic padding).

    ``max_windows`` (training only) caps the windows taken from a long item (a random subset
    for benign items; harmful items keep all of them up to the cap, chosen at random beyond).
    """
    seqs: list[list[int]] = []
    owner: list[int] = []
    for j, ex in enumerate(examples):
        ws = ex.windows
        if max_windows is not None and len(ws) > max_windows:
            r = rng or random.Random(0)
            ws = [ws[k] for k in sorted(r.sample(range(len(ws)), max_windows))]
        for w in ws:
            seqs.append([cls_id, *w, sep_id])
            owner.append(j)
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.long)
    for k, s in enumerate(seqs):
        ids[k, :len(s)] = torch.tensor(s)
        mask[k, :len(s)] = 1
    labels = torch.tensor([ex.label for ex in examples], dtype=torch.long)
    cats = torch.tensor([ex.category for ex in examples], dtype=torch.long)
    return InputBatch(ids, mask, torch.tensor(owner, dtype=torch.long), labels, cats,
                      (labels == 1) & (cats >= 0), [ex.index for ex in examples])


# ---------------------------------------------------------------------------- output items
@dataclass
class OutputExample:
    """One (prompt, response) pair as the passes the runtime stream would make."""

    segments: list[tuple[list[int], int]]  # (input_ids, score_from) per pass
    n_response: int                        # response tokens scored (after truncation)
    label: int
    index: int
    onset: int = 0                         # first harmful response token (label 1 only)

    @property
    def n_tokens(self) -> int:
        return sum(len(s) for s, _ in self.segments)


# Synthetic compliant responses carry redaction markers ("[REDACTED]", "<step withheld>")
# instead of operational detail; real harmful text never does. Left in, the markers are a
# shortcut: the model would learn "marker => harmful" and miss real harmful output. So both
# classes see them replaced by the same neutral fillers, at train and dev time alike, and the
# label has to come from the content around them.
_MARKER_RE = re.compile(r"\[(?:REDACTED[^\]]*|[A-Za-z ]*withheld[^\]]*)\]|<[A-Za-z ]*withheld>")
NEUTRAL_FILLERS = ("it", "that", "the item", "the material", "the amount", "the target",
                   "the thing", "the part", "the one", "this")


def neutralise_markers(text: str, seed: int = 0) -> str:
    """Replace redaction markers by neutral fillers (deterministic per text and seed)."""
    if "[" not in text and "<" not in text:
        return text
    rng = random.Random(f"{seed}:{len(text)}:{text[:32]}")
    return _MARKER_RE.sub(lambda _m: rng.choice(NEUTRAL_FILLERS), text)


def build_output_examples(records: Sequence[Record], tok: Tokenizer, cls_id: int, sep_id: int,
                          max_response: int | None = None, full_fraction: float = 0.0,
                          seed: int = 0, max_len: int = OUTPUT_MAX_LEN,
                          max_prompt: int = OUTPUT_MAX_PROMPT, carry: int = OUTPUT_CARRY
                          ) -> list[OutputExample]:
    """Tokenise pairs and cut them with ``runtime.windows.output_segments``.

    ``max_response`` (training budget) truncates responses to their first tokens, except a
    random ``full_fraction`` of long ones kept whole so re-primed passes are trained too.
    Evaluation passes ``max_response=None``: every token is scored, as at serving time.
    """
    rng = random.Random(seed)
    p_ids = encode_texts(tok, [r["prompt"] for r in records])
    texts = [neutralise_markers(r["response"], seed) for r in records]
    r_enc = encode_batched(tok, texts)
    out = []
    for i, (r, p, enc) in enumerate(zip(records, p_ids, r_enc)):
        x = enc.ids
        if not x:
            raise DataError(f"record {r.get('id')!r}: response has no tokens")
        onset = 0
        h = r.get("harm_onset")
        # marker neutralisation only rewrites text after the onset (the redacted harmful part)
        if h and int(r["label"]) == 1 and texts[i][:h] == r["response"][:h]:
            onset = onset_token(enc.offsets, int(h))
        if max_response is not None and len(x) > max_response and rng.random() >= full_fraction:
            x = x[:max_response]
            if onset >= len(x):  # the harmful part was cut off: nothing harmful is left
                onset = len(x)
        segs = output_segments(p, x, cls_id, sep_id, max_len, max_prompt, carry)
        out.append(OutputExample([(s.input_ids, s.score_from) for s in segs], len(x),
                                 int(r["label"]), i, onset))
    return out


def onset_token(offsets: Sequence[tuple[int, int]], onset_char: int) -> int:
    """Index of the first token (by its character ``offsets``) that starts at or after
    ``onset_char`` (``harm_onset``); the number of tokens when none does."""
    for k, (start, _end) in enumerate(offsets):
        if start >= onset_char:
            return k
    return len(offsets)


def token_targets(examples: Sequence[OutputExample], T: int) -> torch.Tensor:
    """Per-token targets [B, T]: 0 for benign responses; for harmful ones 0 before the
    example's ``onset`` (a benign preamble spliced in front) and 1 from it on."""
    tgt = torch.zeros((len(examples), T), dtype=torch.float32)
    for b, ex in enumerate(examples):
        if ex.label == 1:
            tgt[b, min(ex.onset, T):] = 1.0
    return tgt


@dataclass
class OutputBatch:
    input_ids: torch.Tensor       # [S, L] one row per pass
    attention_mask: torch.Tensor  # [S, L]
    gather_row: torch.Tensor      # [B, T] pass row of each response position
    gather_col: torch.Tensor      # [B, T] column of each response position
    resp_mask: torch.Tensor       # [B, T]
    labels: torch.Tensor          # [B]
    indices: list[int] = field(default_factory=list)
    targets: torch.Tensor | None = None  # [B, T] per-token targets (harm onset known)

    def to(self, device: torch.device | str) -> "OutputBatch":
        move = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return OutputBatch(**move)


def collate_output(examples: Sequence[OutputExample], pad_id: int) -> OutputBatch:
    """Pad every pass of the batch; index maps put response values back per response."""
    seqs: list[list[int]] = []
    rows: list[list[int]] = []
    cols: list[list[int]] = []
    for ex in examples:
        rr: list[int] = []
        cc: list[int] = []
        for ids, start in ex.segments:
            k = len(seqs)
            seqs.append(ids)
            rr.extend([k] * (len(ids) - start))
            cc.extend(range(start, len(ids)))
        rows.append(rr)
        cols.append(cc)
    L = max(len(s) for s in seqs)
    T = max(len(r) for r in rows)
    ids = torch.full((len(seqs), L), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.long)
    for k, s in enumerate(seqs):
        ids[k, :len(s)] = torch.tensor(s)
        mask[k, :len(s)] = 1
    grow = torch.zeros((len(examples), T), dtype=torch.long)
    gcol = torch.zeros((len(examples), T), dtype=torch.long)
    rmask = torch.zeros((len(examples), T), dtype=torch.long)
    for b, (rr, cc) in enumerate(zip(rows, cols)):
        grow[b, :len(rr)] = torch.tensor(rr)
        gcol[b, :len(cc)] = torch.tensor(cc)
        rmask[b, :len(rr)] = 1
    labels = torch.tensor([ex.label for ex in examples], dtype=torch.long)
    targets = token_targets(examples, T) if any(ex.onset for ex in examples) else None
    return OutputBatch(ids, mask, grow, gcol, rmask, labels, [ex.index for ex in examples], targets)


# ---------------------------------------------------------------------------------- batching
def bucketed_batches(lengths: Sequence[int], batch_size: int, seed: int, shuffle: bool = True,
                     max_tokens: int | None = None, pool: int = 50) -> list[list[int]]:
    """Length-bucketed batches of indices.

    Shuffle, then sort by length inside pools of ``pool`` batches (so a batch holds items of
    similar length: little padding), then shuffle the batch order. A batch is also closed when
    ``batch x longest`` would exceed ``max_tokens``. Deterministic for a seed.
    """
    idx = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(idx)
    chunk = batch_size * pool
    batches: list[list[int]] = []
    for start in range(0, len(idx), chunk):
        part = sorted(idx[start:start + chunk], key=lambda i: lengths[i])
        cur: list[int] = []
        longest = 0
        for i in part:
            nl = max(longest, lengths[i])
            if cur and (len(cur) >= batch_size or (max_tokens and nl * (len(cur) + 1) > max_tokens)):
                batches.append(cur)
                cur, nl = [], lengths[i]
            cur.append(i)
            longest = nl
        if cur:
            batches.append(cur)
    if shuffle:
        rng.shuffle(batches)
    return batches


def iterate(items: Sequence[Any], batches: Sequence[Sequence[int]]) -> Iterator[list[Any]]:
    for b in batches:
        yield [items[i] for i in b]
