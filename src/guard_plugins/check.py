"""``guard-check``: try a guard from the shell.

Usage::

    guard-check "How do I bake bread?"                 # input guard on one prompt
    guard-check --file prompts.txt                      # one text per line
    guard-check --file pairs.jsonl --json               # JSONL: {"text": ...} or {"prompt": ..., "response": ...}
    cat prompts.txt | guard-check                       # stdin (also: guard-check -)
    guard-check --output --prompt "Write a poem" "Roses are red..."   # judge a response, streamed
    guard-check --models DIR --threshold 0.8 "some text"

What is checked:

* a text (argument, line, or JSONL ``text``): the **input guard** (``Guard.check_input``),
  scored whole however long (``on_oversize="scan"``, as ``guard-eval`` does);
* with ``--output`` each text is a **response** to ``--prompt`` (default: an empty prompt);
  a JSONL record with ``response`` (and ``prompt``, else ``--prompt``) is a response in any
  mode. A response is streamed the way the integrations stream one: cut into chunks
  (``--chunk-size``: random runs of 1-6 words by default, as ``guard-eval`` cuts them),
  each fed to ``Guard.stream(prompt).feed`` until a chunk gets the stream flagged, where the
  integrations halt (that chunk and the rest are never sent), or ``finish()`` at the end
  (which scores the last word). The halt point is reported: the character offset where the
  flagged chunk starts (the text released before the halt), and the response tokens scored
  when it flagged.

Input formats (``--file F``, or stdin when no text is given or a text is ``-``): ``--format
lines`` (one text per line, blank lines skipped), ``jsonl`` (one JSON object per line:
``{"text": ...}`` or ``{"prompt": ..., "response": ...}``; other fields are ignored),
``text`` (the whole content is one text, e.g. a multi-line response), or ``auto`` (default:
``jsonl`` when the file name ends in ``.jsonl`` / ``.ndjson`` or its first non-blank line
starts with ``{``, else ``lines``).

Output: one line per text on stdout (``flagged`` / ``ok``, the score, the category when the
input guard flags, the halt point of a flagged response, the start of the text), or with
``--json`` one JSON object per text (JSON Lines), keys always present::

    schema_version  1
    source          "arg" | "stdin" | the file path
    line            line number in the file or stdin (null for an argument, or --format text)
    index           0-based position among all the texts checked
    kind            "input" | "output"
    flagged         bool (output: the stream halted)
    score           float in [0, 1] (output: the running maximum when it halted, or at the end)
    threshold       float, the threshold the decision used
    category        str | null: restricted category of a flagged input
    language        str | null: input: ISO 639-1 code of the prompt ("und": undetermined)
    language_validated  bool | null: input: whether the model was validated on that language
    tokens          int: tokens scored (output: response tokens when it halted, or all)
    chars           int: characters of the text (output: of the response)
    latency_ms      float: guard time (input: of the check_inputs call that scored it, up to
                    32 texts at once; output: summed over the stream's calls)
    notes           [str]: what the guard ignored or changed (decoded obfuscations, ...)
    halt            null, or for a flagged response {chunk: int (0-based index of the
                    chunk that flagged), chunks: int (chunks in the response), char_offset:
                    int (where that chunk starts = characters released before the halt),
                    tokens: int, at_finish: bool (flagged only when the stream was finished,
                    i.e. by its last word)}

A progress bar goes to stderr for ``--file`` / stdin inputs when stderr is a terminal
(``--no-progress`` turns it off).

Thresholds: ``--operating-point NAME`` picks a named threshold of both manifests
(``standard``, the shipped default: at most 1 % of the real benign calib traffic flagged;
``strict``: at most 1 % of hard benign English traffic flagged, mean over strata;
``balanced``: best F1 on held-back real data); ``--threshold T`` (in [0, 1])
replaces both guards' thresholds and wins over a point.

Exit status: 0 nothing flagged; 1 at least one text flagged; 2 a usage or input error (a
missing or unreadable file, a malformed JSONL line, empty input, a models folder that does
not load, a threshold out of range, an unknown operating point), with a one-line ``guard-check: error: ...`` on stderr;
130 interrupted.

Torch-free: this module imports only the runtime (onnxruntime, tokenizers, numpy) and the
chunking of :mod:`guard_plugins.eval.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .cli_common import EXIT_ERROR, EXIT_OK, offline_env, run_cli
from .errors import DataError, GuardError, InputError, ModelLoadError, OperatingPointError

__all__ = ["EXIT_FLAGGED", "SCHEMA_VERSION", "Item", "build_parser", "read_items", "main"]

PROG = "guard-check"
SCHEMA_VERSION = 1
EXIT_FLAGGED = 1
BATCH = 32                      # input texts per check_inputs call
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_PREVIEW = 60


@dataclass
class Item:
    """One text to check: an input (``prompt is None``) or a response to ``prompt``."""

    text: str
    source: str                 # "arg", "stdin" or the file path
    line: int | None
    prompt: Any = None          # str or message list; set for a response
    output: bool = False

    @property
    def where(self) -> str:
        if self.source == "arg":
            return ""
        return f"{self.source}:{self.line}" if self.line is not None else self.source


# --------------------------------------------------------------------------- arguments
def _threshold(value: str) -> float:
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {value!r}") from None
    if math.isnan(t) or not 0.0 <= t <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return t


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Check texts with the guards: prompts with the input guard, or with --output "
                    "responses with the streaming output guard (reporting where the stream would "
                    "have halted). Exit status: 0 nothing flagged, 1 something flagged, 2 usage "
                    "or input error.",
        epilog="Texts come from the arguments, --file, or stdin (when no text is given and stdin "
               "is not a terminal, or a text is '-'). JSONL lines: {\"text\": ...} or "
               "{\"prompt\": ..., \"response\": ...}. --json keys: `python -m pydoc "
               "guard_plugins.check`.")
    p.add_argument("texts", nargs="*", metavar="TEXT",
                   help="texts to check ('-' reads stdin)")
    p.add_argument("--file", "-f", default=None, metavar="F",
                   help="read texts from F ('-' for stdin)")
    p.add_argument("--format", choices=("auto", "lines", "jsonl", "text"), default="auto",
                   help="how --file / stdin is read: one text per line, JSONL, or the whole "
                        "content as one text (default: %(default)s: jsonl for *.jsonl or when the "
                        "first line starts with '{', else lines)")
    p.add_argument("--output", action="store_true",
                   help="the texts are responses: stream them through the output guard")
    p.add_argument("--prompt", default=None, metavar="P",
                   help="with --output: the prompt the responses answer (default: empty)")
    p.add_argument("--chunk-size", default="realistic", metavar="N|realistic",
                   help="with --output: stream chunks of 'realistic' random 1-6 word runs or N "
                        "characters (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="one JSON object per text on stdout")
    p.add_argument("--models", type=Path, default=None, metavar="DIR",
                   help="exported models folder holding input/ and output/ (default: the "
                        "embedded default models)")
    p.add_argument("--threshold", type=_threshold, default=None, metavar="T",
                   help="decision threshold in [0, 1] for both guards (default: each model's "
                        "calibrated threshold from its manifest)")
    p.add_argument("--operating-point", default=None, metavar="NAME",
                   help="named threshold of both manifests: standard (default: at most 1%% of "
                        "real benign calib traffic flagged), strict (at most 1%% of hard benign "
                        "English traffic flagged, mean over strata) or balanced (best F1 on "
                        "held-back real data)")
    p.add_argument("--cpu", action="store_true", help="run on CPU even when a GPU is available")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


# --------------------------------------------------------------------------- reading texts
def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW else flat[:_PREVIEW - 1] + "…"


def _read_source(name: str, stdin: IO[str]) -> tuple[str, str]:
    """``(source label, content)`` of a file or of stdin (``"-"``)."""
    if name == "-":
        try:
            return "stdin", stdin.read()
        except UnicodeDecodeError as e:
            raise DataError(f"stdin: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    p = Path(name)
    if not p.exists():
        raise DataError(f"{name}: file not found")
    if p.is_dir():
        raise DataError(f"{name}: is a folder, not a file")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DataError(f"{name}: cannot read: {e.strerror or e}") from None
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{name}: not valid UTF-8 ({e.reason} at byte {e.start})") from None


def _format_of(source: str, content: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if source.lower().endswith(_JSONL_SUFFIXES):
        return "jsonl"
    first = next((ln for ln in content.splitlines() if ln.strip()), "")
    return "jsonl" if first.lstrip().startswith("{") else "lines"


def _field(obj: dict[str, Any], key: str, where: str, *, allow_list: bool = False) -> Any:
    v = obj[key]
    if isinstance(v, str):
        if not v.strip():
            raise DataError(f"{where}: field {key!r} is empty")
        return v
    if allow_list and isinstance(v, list) and v:
        return v  # an OpenAI-style message list; the runtime checks its shape
    want = "a string or a message list" if allow_list else "a string"
    raise DataError(f"{where}: field {key!r} must be {want}, got {type(v).__name__}")


def _jsonl_item(obj: Any, source: str, line: int, output: bool, prompt: str | None) -> Item:
    where = f"{source}:{line}"
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if "response" in obj:
        has_prompt = "prompt" in obj and obj["prompt"] is not None
        p = _field(obj, "prompt", where, allow_list=True) if has_prompt else (prompt or "")
        return Item(_field(obj, "response", where), source, line, prompt=p, output=True)
    if "text" in obj:
        return Item(_field(obj, "text", where), source, line, prompt=(prompt or "") if output else None,
                    output=output)
    if "prompt" in obj:
        raise DataError(f"{where}: has 'prompt' but no 'response' (an input to check goes in "
                        f"'text'; a response to judge in 'response', with its 'prompt')")
    keys = ", ".join(sorted(obj)) or "none"
    raise DataError(f"{where}: needs a 'text' field, or 'prompt' and 'response' (fields: {keys})")


def _items_from(source: str, content: str, fmt: str, output: bool, prompt: str | None) -> list[Item]:
    fmt = _format_of(source, content, fmt)
    p = (prompt or "") if output else None
    if fmt == "text":
        return [Item(content, source, None, prompt=p, output=output)] if content.strip() else []
    items = []
    for i, ln in enumerate(content.splitlines(), 1):
        if not ln.strip():
            continue
        if fmt == "lines":
            items.append(Item(ln, source, i, prompt=p, output=output))
            continue
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError as e:
            hint = "" if source.lower().endswith(_JSONL_SUFFIXES) else " (plain text? pass --format lines)"
            raise DataError(f"{source}:{i}: not valid JSON ({e.msg} at column {e.colno}){hint}") from None
        items.append(_jsonl_item(obj, source, i, output, prompt))
    return items


def read_items(args: argparse.Namespace, stdin: IO[str] | None = None) -> list[Item]:
    """Every text the arguments ask for, in order; :class:`DataError` on bad or empty input."""
    stdin = sys.stdin if stdin is None else stdin
    if args.prompt is not None and not args.output:
        raise DataError("--prompt needs --output (it is the prompt the checked responses answer)")
    if args.output and args.prompt is not None and not args.prompt.strip():
        raise DataError("--prompt is empty (leave it out to judge responses without a prompt)")
    if args.file is not None and not args.file.strip():
        raise DataError("--file is empty: give a file name, or '-' for stdin")
    items: list[Item] = []
    read_stdin = False
    p = (args.prompt or "") if args.output else None
    for k, t in enumerate(args.texts, 1):
        if t == "-":
            read_stdin = True
            continue
        if not t.strip():
            raise DataError(f"text argument {k} is empty: nothing to check")
        items.append(Item(t, "arg", None, prompt=p, output=args.output))
    sources = []
    if args.file is not None:
        sources.append(args.file)
    if read_stdin and args.file != "-":
        sources.append("-")
    if not args.texts and args.file is None:
        if stdin is None or (hasattr(stdin, "isatty") and stdin.isatty()):
            raise DataError("nothing to check: give a text, --file F, or pipe texts on stdin "
                            "(see guard-check --help)")
        sources.append("-")
    for name in sources:
        label, content = _read_source(name, stdin)
        got = _items_from(label, content, args.format, args.output, args.prompt)
        if not got:
            raise DataError(f"{label}: no texts to check (it is empty or holds only blank lines)")
        items.extend(got)
    return items


# --------------------------------------------------------------------------- checking
def _load_guard(args: argparse.Namespace) -> Any:
    from .runtime import Guard  # onnxruntime, loaded only once the input is known good

    what = "models" if args.models is not None else "the embedded default models"  # e names the folder
    if args.models is not None and not args.models.is_dir():
        what = "is not a folder" if args.models.exists() else "not found"
        raise ModelLoadError(f"--models {args.models}: {what}")
    try:
        return Guard.load(args.models, providers="cpu" if args.cpu else None,
                          input_threshold=args.threshold, output_threshold=args.threshold,
                          operating_point=args.operating_point, on_oversize="scan")
    except OperatingPointError as e:
        raise ModelLoadError(f"--operating-point: {e}") from None
    except GuardError as e:
        raise ModelLoadError(f"cannot load {what}: {e}") from None
    except OSError as e:  # an unreadable file in the folder
        raise ModelLoadError(f"cannot load {what}: {e}") from None


def _record(item: Item, index: int, verdict: Any, *, latency_ms: float | None = None,
            halt: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "source": item.source,
        "line": item.line,
        "index": index,
        "kind": "output" if item.output else "input",
        "flagged": bool(verdict.flagged),
        "score": round(float(verdict.score), 6),
        "threshold": float(verdict.threshold),
        "category": verdict.category if verdict.flagged else None,
        "language": getattr(verdict, "language", None),
        "language_validated": getattr(verdict, "language_validated", None),
        "tokens": int(verdict.tokens),
        "chars": len(item.text),
        "latency_ms": round(float(verdict.latency_ms if latency_ms is None else latency_ms), 3),
        "notes": list(verdict.notes),
        "halt": halt,
    }


def stream_response(guard: Any, item: Item, index: int, chunking: Any) -> dict[str, Any]:
    """Stream one response through the output guard as the integrations do; its record."""
    from .eval.evaluate import split_chunks

    chunks = split_chunks(item.text, chunking, index)
    spent = 0.0
    try:
        stream = guard.stream(item.prompt)
    except InputError as e:  # e.g. a JSONL 'prompt' message list of the wrong shape
        raise DataError(f"{item.where or f'text {index + 1}'}: prompt: {e}") from None
    halt = None
    try:
        offset = 0
        verdict = None
        for k, chunk in enumerate(chunks):
            verdict = stream.feed(chunk)
            spent += verdict.latency_ms
            if verdict.flagged:  # the integrations halt here: this chunk is never sent
                halt = {"chunk": k, "chunks": len(chunks), "char_offset": offset,
                        "tokens": int(verdict.tokens), "at_finish": False}
                break
            offset += len(chunk)
        if halt is None:
            verdict = stream.finish()
            spent += verdict.latency_ms
            if verdict.flagged:  # the last word flagged: everything before it was sent
                halt = {"chunk": len(chunks) - 1, "chunks": len(chunks), "char_offset": offset,
                        "tokens": int(verdict.tokens), "at_finish": True}
    finally:
        stream.close()
    return _record(item, index, verdict, latency_ms=spent, halt=halt)


def check_items(guard: Any, items: Sequence[Item], chunking: Any) -> Iterator[dict[str, Any]]:
    """Records in the order of ``items`` (inputs scored in batches, responses streamed)."""
    i = 0
    while i < len(items):
        if items[i].output:
            yield stream_response(guard, items[i], i, chunking)
            i += 1
            continue
        j = i
        while j < len(items) and j - i < BATCH and not items[j].output:
            j += 1
        batch = items[i:j]
        verdicts = guard.check_inputs([it.text for it in batch])
        for k, (it, v) in enumerate(zip(batch, verdicts)):
            yield _record(it, i + k, v)
        i = j


def format_line(rec: dict[str, Any], item: Item) -> str:
    """The human-readable line of one record."""
    parts = []
    if item.where:
        parts.append(item.where)
    parts.append("flagged" if rec["flagged"] else "ok     ")
    parts.append(f"score={rec['score']:.3f}")
    if rec["kind"] == "output":
        parts.append("output")
    if rec["category"]:
        parts.append(f"category={rec['category']}")
    if rec["language_validated"] is False:
        parts.append(f"language={rec['language']} (not validated for this model)")
    h = rec["halt"]
    if h is not None:
        if h["at_finish"]:
            parts.append(f"halted at the end (char {h['char_offset']} of {rec['chars']}, "
                         f"token {h['tokens']}: the last word)")
        else:
            parts.append(f"halted at char {h['char_offset']} of {rec['chars']} (token {h['tokens']}, "
                         f"chunk {h['chunk'] + 1} of {h['chunks']})")
    parts.append(f"| {_preview(item.text)}")
    return "  ".join(parts)


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=PROG, unit="text", leave=False, file=sys.stderr,
                disable=not enabled)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``guard-check``; returns the exit status (0 ok, 1 flagged, 2 error)."""
    offline_env()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2, message printed)
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_ERROR

    def body() -> int:
        from .eval.evaluate import ChunkSpec

        try:
            chunking = ChunkSpec.parse(args.chunk_size)
        except ValueError as e:
            raise DataError(f"--chunk-size: {e}") from None
        items = read_items(args)
        guard = _load_guard(args)
        from_file = any(it.source != "arg" for it in items)
        show = from_file and len(items) > 1 and not args.no_progress and sys.stderr.isatty()
        bar = _progress(len(items), show)
        flagged = 0
        t0 = time.perf_counter()
        try:
            for rec in check_items(guard, items, chunking):
                flagged += rec["flagged"]
                line = (json.dumps(rec, ensure_ascii=False) if args.json
                        else format_line(rec, items[rec["index"]]))
                if show:
                    bar.write(line, file=sys.stdout)
                else:
                    print(line, flush=len(items) > 1)
                bar.update(1)
        finally:
            bar.close()
        if len(items) > 1 and not args.json:
            print(f"{PROG}: {len(items)} texts, {flagged} flagged ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr)
        return EXIT_FLAGGED if flagged else EXIT_OK

    return run_cli(PROG, body)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
