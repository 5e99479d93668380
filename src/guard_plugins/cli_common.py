"""Small helpers shared by the ``guard-*`` command-line tools.

* :func:`setup_logging`: one consistent log format; ``--quiet`` keeps warnings only.
* :func:`run_cli`: runs a command's body and turns a :class:`~guard_plugins.errors.GuardError`
  into a one-line ``<prog>: error: <message>`` on stderr and exit code 2 (the argparse
  convention for bad usage), Ctrl-C into exit code 130, and lets real bugs raise with a
  traceback.
* :func:`format_table`: a plain-text table for end-of-run summaries.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import GuardError

__all__ = ["EXIT_OK", "EXIT_ERROR", "EXIT_INTERRUPTED", "setup_logging", "run_cli", "format_table",
           "offline_env"]

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def offline_env() -> None:
    """Default the environment to offline operation (no weight or cost-map downloads)."""
    for k, v in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                 ("LITELLM_LOCAL_MODEL_COST_MAP", "True"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(k, v)


def setup_logging(quiet: bool = False, verbose: bool = False) -> None:
    """Configure the root logger once: INFO by default, WARNING with ``quiet``, DEBUG with
    ``verbose``. Noisy third-party loggers (litellm, httpx) stay at WARNING."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", force=True)
    for name in ("LiteLLM", "litellm", "httpx", "httpcore", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_cli(prog: str, body: Callable[[], int | None]) -> int:
    """Run ``body`` and map failures to exit codes (see module docstring)."""
    try:
        rc = body()
        return EXIT_OK if rc is None else int(rc)
    except GuardError as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned text columns (numbers right-aligned), separated by two spaces."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(r[i]) for r in rows) and bool(rows) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(row, widths, numeric)).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
