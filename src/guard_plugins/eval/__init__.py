"""Measuring the guards: ``guard-eval``, ``guard-redteam`` and the results suite.

Torch-free: everything here scores through :mod:`guard_plugins.runtime` (onnxruntime).

* :mod:`.data` reads labelled JSONL files (line-numbered errors, never a silent skip);
* :mod:`.evaluate` scores them (input check; output whole-response vs the streaming rule);
* :mod:`.cli` is ``guard-eval`` (summary, ``--json`` contract, ``--report``);
* :mod:`.report` writes the markdown report with PNG plots (matplotlib, only there);
* :mod:`.redteam` is ``guard-redteam`` (attack success rate per transform);
* :mod:`.suite` evaluates the models on the dev splits and the public labelled sets.

Metric definitions live in :mod:`guard_plugins.metrics`.
"""

from __future__ import annotations

from .data import EvalData, EvalRecord, read_eval_file
from .evaluate import ChunkSpec, EvalResult, evaluate, evaluate_input, evaluate_output, split_chunks

__all__ = ["EvalData", "EvalRecord", "read_eval_file", "ChunkSpec", "EvalResult", "evaluate",
           "evaluate_input", "evaluate_output", "split_chunks"]
