"""LiteLLM integration: a proxy guardrail and SDK wrappers that halt harmful streams.

Two ways people use LiteLLM, both covered with the same behaviour:

* **Proxy** (``litellm --config config.yaml``): :class:`ConstitutionalGuardrail`, a
  ``CustomGuardrail`` that the proxy instantiates from the ``guardrails:`` block::

      guardrails:
        - guardrail_name: constitutional
          litellm_params:
            guardrail: guard_plugins.litellm.ConstitutionalGuardrail
            mode: [pre_call, post_call]
            default_on: true
            models_path: null        # null -> the embedded default models
            fail_closed: true

  - ``pre_call`` (or ``during_call``, which runs in parallel with the LLM call): the input
    classifier scores the rendered conversation; a flagged prompt is rejected with HTTP 400
    and an OpenAI-style body ``{"error": {"code": "content_filter", "category", "score", ...}}``.
  - ``post_call``, non-streaming: the output classifier scores the whole response; a flagged
    response is *replaced* (content withheld, ``finish_reason="content_filter"``) or, with
    ``output_action: block``, rejected with the same 400 body as an input block.
  - ``post_call``, streaming: every chunk's text is fed to a streaming session; the chunk
    that gets the stream flagged is **not** sent, one final chunk with
    ``finish_reason="content_filter"`` is sent instead and the stream ends. On
    ``/v1/messages`` the Anthropic equivalent is sent (``stop_reason: "refusal"``); on
    ``/v1/responses`` a ``response.incomplete`` event with
    ``incomplete_details.reason = "content_filter"``.

* **SDK** (no proxy): ``litellm.completion`` streams cannot be aborted from callbacks, so
  :func:`guarded_completion` / :func:`guarded_acompletion` wrap the call: input check before
  the call (:class:`ContentBlockedError` when flagged), the returned stream halted the same
  way, and non-streaming responses checked whole.

The guard itself is :class:`guard_plugins.runtime.Guard` (onnxruntime, no torch). Runtime
errors are handled per ``fail_closed``: closed (default) treats an error as a block, open
logs it and lets the content through.

Modules: :mod:`.formats` (request/response formats, error body), :mod:`.sdk` (SDK wrappers,
guarded streams, the per-process Guard cache), :mod:`.proxy` (the guardrail). Decisions are
made by :mod:`guard_plugins.policy`, shared with the LangChain integration.
"""

from __future__ import annotations

import os

# Importing litellm must not reach the network for its model cost map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ..errors import BlockedError, GuardError, InputError  # noqa: E402,F401  (were importable from the old module)
from ..policy import Decision, GuardPolicy, OutputAction, StreamJudge  # noqa: E402
from .formats import (  # noqa: E402
    ANTHROPIC_STOP_REASON,
    CONTENT_FILTER,
    INPUT_TOO_LARGE,
    _sse_frames,
    content_filter_chunk,
    error_body,
    request_prompt,
)
from .proxy import BYPASS_NOTE, COVERED_ROUTES, ConstitutionalGuardrail  # noqa: E402
from .sdk import (  # noqa: E402
    ContentBlockedError,
    GuardedAsyncStream,
    GuardedStream,
    guarded_acompletion,
    guarded_completion,
    load_guard,
)

__all__ = [
    "ANTHROPIC_STOP_REASON",
    "BYPASS_NOTE",
    "CONTENT_FILTER",
    "COVERED_ROUTES",
    "INPUT_TOO_LARGE",
    "ConstitutionalGuardrail",
    "ContentBlockedError",
    "Decision",
    "GuardPolicy",
    "GuardedAsyncStream",
    "GuardedStream",
    "OutputAction",
    "StreamJudge",
    "_sse_frames",
    "content_filter_chunk",
    "error_body",
    "guarded_acompletion",
    "guarded_completion",
    "load_guard",
    "request_prompt",
]
