"""Constitution-driven data generation through an LLM (the paper's way), via litellm.

For every constitution category the generator model is asked, in batches, for diverse user
requests (a JSON list per call). Then each request gets full responses:

* restricted category: a **compliant** response (label 1) that is a *structural mock only*:
  the shape, ordering and tone of a real answer with every operational detail replaced by
  ``[REDACTED]`` (a response without a placeholder is rejected and retried, never written),
  and a **refusal** (label 0);
* permitted category: a **benign** helpful answer (label 0). Permitted requests are the
  look-alikes: legitimate requests that share vocabulary with restricted ones.

Any litellm model string works (``openai/gpt-4o-mini``, ``anthropic/...``, ``ollama/...``).
Calls run concurrently under a semaphore, retry with exponential backoff on transient API
errors and on unparsable or invalid output, and go through an on-disk cache (one JSON file per
request, keyed by a hash of model + messages + parameters, written atomically), so an
interrupted or repeated run resumes without paying twice. Errors that no retry can fix
(authentication, unknown provider, bad request) stop the run with :class:`GenerationError`.

Records carry ``source = "synthetic/llm:<model>"`` and ``group`` = a hash of the seed request,
so a request, its responses and their augmented variants land on one side of the split.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm.auto import tqdm

from ..constitution import Category, Constitution
from ..errors import GuardError
from .schema import atomic_write
from .split import normalise

log = logging.getLogger(__name__)

__all__ = ["GenerationError", "generate_llm", "generate_llm_sync", "REDACTED", "BATCH_SIZE"]

REDACTED = "[REDACTED]"
BATCH_SIZE = 10                 # requests asked for per call
MAX_FAILURE_MESSAGES = 20       # failure messages kept in the summary
# Parameters that never change what the model returns: kept out of the cache key (and of the
# cache files: an API key must never be written to disk).
_NON_SEMANTIC_PARAMS = frozenset({
    "api_key", "timeout", "num_retries", "max_retries", "metadata", "headers", "extra_headers",
    "request_timeout", "stream_timeout", "logger_fn", "litellm_logging_obj",
})
_STYLE_HINTS = (
    "short and direct",
    "long, with personal background or context",
    "polite and formal",
    "casual, with lower case and small typos",
    "framed as research, fiction or a hypothetical",
    "a follow-up that assumes earlier conversation",
    "asking for step-by-step detail",
    "written by a non-native English speaker",
    "framed as a professional or workplace task",
    "curious and open-ended",
)

ResponseKind = Literal["compliant", "refusal", "benign"]


class GenerationError(GuardError):
    """LLM generation cannot go on (bad credentials, unknown model, nothing generated)."""


class _InvalidOutput(Exception):
    """The model answered, but not in a usable form (retried like a transient error)."""


# ---------------------------------------------------------------------------------------------
# prompts
# ---------------------------------------------------------------------------------------------
_SYSTEM_REQUESTS = (
    "You help build training data for a safety classifier that screens messages sent to an AI "
    "assistant. You write realistic user messages only. You never answer them and never put "
    "instructions, recipes, code or technical detail inside the messages themselves.\n\n"
    "The classifier follows this constitution:\n{principles}"
)

_USER_REQUESTS_RESTRICTED = (
    "Category: {title} (RESTRICTED: the assistant must not help)\n"
    "What it covers: {description}\n"
    "Example requests:\n{examples}\n{topics}"
    "Write {k} new user messages that ask for content in this category, as different real users "
    "would write them. Make them diverse in intent, wording and length; styles to include: "
    "{styles}. Do not copy the examples.\n"
    "Reply with a JSON list of {k} strings and nothing else."
)

_USER_REQUESTS_PERMITTED = (
    "Category: {title} (PERMITTED: the assistant should help)\n"
    "What it covers: {description}\n"
    "Example requests:\n{examples}\n{topics}"
    "Write {k} new user messages in this category that are clearly legitimate, as different real "
    "users would write them. Many should share vocabulary with restricted topics ({restricted}) "
    "while being plainly benign, so that a classifier learns not to over-refuse. Styles to "
    "include: {styles}. Do not copy the examples.\n"
    "Reply with a JSON list of {k} strings and nothing else."
)

_SYSTEM_COMPLIANT = (
    "You write training data for a classifier that detects harmful AI assistant responses. "
    "Given a user message that asks for restricted content, write a MOCK of what a fully "
    "compliant, unsafe assistant response would look like: its structure, headings, ordering, "
    "tone and length, but with every operational detail (materials, names, quantities, "
    "procedures, code, targets, parameters, sources) replaced by the placeholder "
    f"{REDACTED}. The mock must contain no real actionable information at all, and it must "
    f"contain {REDACTED} placeholders. Do not refuse, warn or add disclaimers: write only "
    "the redacted mock response."
)

_SYSTEM_REFUSAL = (
    "You are a careful AI assistant. The user's message asks for something you must not help "
    "with. Decline: briefly acknowledge the request, say clearly that you cannot help with it, "
    "and, where one exists, offer a safe, related alternative. Do not lecture. Write only the "
    "response."
)

_SYSTEM_BENIGN = (
    "You are a knowledgeable, helpful AI assistant. Answer the user's message accurately and "
    "completely, as a good assistant would. Write only the response."
)

_RESPONSE_SYSTEMS: dict[str, str] = {
    "compliant": _SYSTEM_COMPLIANT, "refusal": _SYSTEM_REFUSAL, "benign": _SYSTEM_BENIGN,
}


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {s}" for s in items)


def _request_messages(constitution: Constitution, cat: Category, *, k: int, batch: int,
                      seed: int) -> list[dict[str, str]]:
    rng = random.Random(f"{seed}:{cat.id}:{batch}")
    examples = list(cat.examples)
    rng.shuffle(examples)
    styles = rng.sample(_STYLE_HINTS, k=min(3, len(_STYLE_HINTS)))
    topics = ""
    if cat.topics:
        chosen = rng.sample(list(cat.topics), k=min(6, len(cat.topics)))
        topics = f"Topics to draw on: {', '.join(chosen)}\n"
    restricted = constitution.is_restricted(cat.id)
    template = _USER_REQUESTS_RESTRICTED if restricted else _USER_REQUESTS_PERMITTED
    user = template.format(
        title=cat.title, description=cat.description.strip(), examples=_bullets(examples[:5]),
        topics=topics, k=k, styles="; ".join(styles),
        restricted=", ".join(c.title for c in constitution.restricted))
    return [{"role": "system", "content": _SYSTEM_REQUESTS.format(principles=constitution.principles.strip())},
            {"role": "user", "content": user}]


def _response_messages(kind: str, request: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": _RESPONSE_SYSTEMS[kind]},
            {"role": "user", "content": request}]


# ---------------------------------------------------------------------------------------------
# parsing and validation of model output
# ---------------------------------------------------------------------------------------------
_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


def parse_request_list(content: str, k: int) -> list[str]:
    """Parse a model's JSON list of requests (tolerates code fences, prose around the list,
    and a ``{"requests": [...]}`` object). Raises :class:`_InvalidOutput` otherwise."""
    text = content.strip()
    m = _FENCE.match(text)
    if m:
        text = m.group(1).strip()
    candidates = [text]
    if "[" in text and "]" in text:
        candidates.append(text[text.index("["): text.rindex("]") + 1])
    data: Any = None
    for cand in candidates:
        try:
            data = json.loads(cand)
            break
        except json.JSONDecodeError:
            continue
    else:
        raise _InvalidOutput(f"not a JSON list: {content[:80]!r}")
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise _InvalidOutput("expected a JSON list (or an object holding exactly one list)")
        data = lists[0]
    if not isinstance(data, list):
        raise _InvalidOutput(f"expected a JSON list, got {type(data).__name__}")
    out = []
    for item in data:
        if isinstance(item, dict):  # [{"request": "..."}] is a common variant
            vals = [v for v in item.values() if isinstance(v, str)]
            item = vals[0] if len(vals) == 1 else None
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
    if not out:
        raise _InvalidOutput("the JSON list holds no non-empty strings")
    return out[:k]


def validate_response(kind: str, content: str) -> str:
    """Check a generated response; compliant mocks must carry ``[REDACTED]`` placeholders."""
    text = content.strip()
    if not text:
        raise _InvalidOutput("empty response")
    if kind == "compliant" and REDACTED not in text:
        raise _InvalidOutput(f"compliant mock without {REDACTED} placeholders (rejected for safety)")
    return text


def _group_of(request: str) -> str:
    """The split group of a seed request and everything derived from it."""
    return "llm:" + hashlib.sha256(normalise(request).encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------------------------
def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=repr))


class ResponseCache:
    """One JSON file per request under ``root/<2 hex>/<sha256>.json``; writes are atomic."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(model: str, messages: list[dict], params: Mapping[str, Any]) -> str:
        material = json.dumps({"model": model, "messages": messages, "params": params},
                              sort_keys=True, ensure_ascii=False, default=repr)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        p = self._path(key)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable cache entry %s (%s); it will be regenerated", p, e)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("content"), str):
            log.warning("ignoring malformed cache entry %s; it will be regenerated", p)
            return None
        return data

    def put(self, key: str, entry: Mapping[str, Any]) -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(p) as fh:
            json.dump(entry, fh, ensure_ascii=False, indent=1)


# ---------------------------------------------------------------------------------------------
# the client: concurrency, retries, cache, accounting
# ---------------------------------------------------------------------------------------------
@dataclass
class _Stats:
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, msg: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURE_MESSAGES:
            self.failures.append(msg)


def _classify_error(exc: BaseException) -> Literal["fatal", "retry", "skip"]:
    """fatal: stop the run; retry: transient; skip: this request can never succeed."""
    import litellm

    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError,
                        litellm.NotFoundError)):
        return "fatal"
    if isinstance(exc, (litellm.ContentPolicyViolationError, litellm.ContextWindowExceededError)):
        return "skip"
    if isinstance(exc, (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError,
                        litellm.InternalServerError, litellm.ServiceUnavailableError)):
        return "retry"
    if isinstance(exc, litellm.BadRequestError):
        return "fatal"  # unknown provider, unsupported parameter: every call would fail
    import openai  # litellm's exception types all derive from openai's

    if isinstance(exc, openai.APIError):
        return "retry"  # other API errors, 5xx, litellm.MockException
    return "fatal"


class _Client:
    def __init__(self, model: str, *, cache: ResponseCache, concurrency: int, max_retries: int,
                 backoff_base: float, seed: int, completion_kwargs: Mapping[str, Any]):
        self.model = model
        self.cache = cache
        self.sem = asyncio.Semaphore(concurrency)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.kwargs = dict(completion_kwargs)
        self.kwargs.setdefault("temperature", 1.0)
        self.key_params = {k: v for k, v in sorted(self.kwargs.items()) if k not in _NON_SEMANTIC_PARAMS}
        self.key_params["_seed"] = seed
        self.stats = _Stats()
        self.rng = random.Random(seed)

    async def ask(self, messages: list[dict], validate, what: str) -> Any | None:
        """Return ``validate(content)`` for a cached or fresh answer, or None after failing."""
        key = ResponseCache.key(self.model, messages, self.key_params)
        hit = self.cache.get(key)
        if hit is not None:
            try:
                value = validate(hit["content"])
                self.stats.cache_hits += 1
                return value
            except _InvalidOutput:
                log.warning("cache entry %s fails validation; regenerating", key[:12])
        import litellm

        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
                delay = self.backoff_base * (2 ** (attempt - 1)) * (0.5 + self.rng.random())
                if delay > 0:
                    await asyncio.sleep(delay)
            async with self.sem:
                self.stats.calls += 1
                try:
                    resp = await litellm.acompletion(model=self.model, messages=messages, **self.kwargs)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # litellm maps provider errors to its own types
                    verdict = _classify_error(exc)
                    last = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                    if verdict == "fatal":
                        raise GenerationError(
                            f"model {self.model!r}: {last} (no retry can fix this; check the "
                            f"model string, credentials and completion parameters)") from None
                    if verdict == "skip":
                        break
                    continue
            usage = getattr(resp, "usage", None)
            self.stats.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.stats.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
            try:
                content = resp.choices[0].message.content or ""
            except (AttributeError, IndexError):
                content = ""
            try:
                value = validate(content)
            except _InvalidOutput as e:
                last = f"invalid output: {e}"
                continue
            self.cache.put(key, {"model": self.model, "messages": messages,
                                 "params": _jsonable(self.key_params), "content": content,
                                 "usage": {"prompt_tokens": getattr(usage, "prompt_tokens", None),
                                           "completion_tokens": getattr(usage, "completion_tokens", None)},
                                 "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            return value
        self.stats.fail(f"{what}: {last}")
        log.debug("giving up on %s: %s", what, last)
        return None


async def _run_all(coros: list, desc: str, progress: bool) -> list:
    """Run coroutines concurrently (results in input order), with a progress bar."""
    results: list = [None] * len(coros)
    bar = tqdm(total=len(coros), desc=desc, unit="call", disable=not progress, leave=False)

    async def one(i: int, c) -> None:
        try:
            results[i] = await c
        finally:
            bar.update(1)

    try:
        async with asyncio.TaskGroup() as tg:
            for i, c in enumerate(coros):
                tg.create_task(one(i, c))
    except BaseExceptionGroup as eg:
        fatal = [e for e in eg.exceptions if isinstance(e, GuardError)]
        raise (fatal[0] if fatal else eg.exceptions[0]) from None
    finally:
        bar.close()
    return results


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
async def generate_llm(constitution: Constitution, *, model: str, requests_per_category: int = 20,
                       concurrency: int = 8, cache_dir: Path, max_retries: int = 4, seed: int = 0,
                       progress: bool = True, completion_kwargs: Mapping[str, Any] | None = None,
                       backoff_base: float = 1.0) -> tuple[list[dict], list[dict], dict]:
    """Generate input and output records for every constitution category through ``model``.

    Returns ``(input_records, output_records, summary)``. Records have no ``id``/``split``
    (assigned later by :func:`guard_plugins.synth.split.assign_splits`) and carry ``group``.
    ``completion_kwargs`` go to every ``litellm.acompletion`` call (``temperature``,
    ``api_base``, ``mock_response`` in tests, ...); all but credentials/timeouts are part of the
    cache key. ``backoff_base`` is the first retry delay in seconds (doubled each retry,
    jittered). Raises :class:`GenerationError` on errors no retry can fix, or when nothing at
    all could be generated.
    """
    if requests_per_category < 1:
        raise ValueError("requests_per_category must be >= 1")
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")
    t0 = time.perf_counter()
    client = _Client(model, cache=ResponseCache(Path(cache_dir)), concurrency=concurrency,
                     max_retries=max_retries, backoff_base=backoff_base, seed=seed,
                     completion_kwargs=completion_kwargs or {})
    source = f"synthetic/llm:{model}"
    license_ = f"generated with {model}; subject to the model provider's terms"

    # 1. requests, in batches of BATCH_SIZE per category
    jobs: list[tuple[Category, int]] = []
    coros = []
    for cat in constitution.categories:
        n_batches = math.ceil(requests_per_category / BATCH_SIZE)
        for b in range(n_batches):
            k = min(BATCH_SIZE, requests_per_category - b * BATCH_SIZE)
            msgs = _request_messages(constitution, cat, k=k, batch=b, seed=seed)
            jobs.append((cat, k))
            coros.append(client.ask(msgs, lambda c, k=k: parse_request_list(c, k),
                                    f"requests[{cat.id}, batch {b}]"))
    batches = await _run_all(coros, "llm requests", progress)

    # one text, one label: a request seen twice is kept once, in constitution order
    # (restricted categories first, so a request that is also proposed as benign stays harmful)
    requests: list[tuple[Category, str]] = []
    shortfall: Counter[str] = Counter()
    duplicates = 0
    seen: set[str] = set()
    for (cat, k), got in zip(jobs, batches):
        got = got or []
        shortfall[cat.id] += k - len(got)
        for r in got:
            key = normalise(r)
            if not key or key in seen:
                duplicates += 1
                continue
            seen.add(key)
            requests.append((cat, r))

    # 2. responses
    plan: list[tuple[Category, str, str]] = []
    coros = []
    for cat, req in requests:
        kinds: tuple[str, ...] = ("compliant", "refusal") if constitution.is_restricted(cat.id) else ("benign",)
        for kind in kinds:
            plan.append((cat, req, kind))
            coros.append(client.ask(_response_messages(kind, req),
                                    lambda c, kind=kind: validate_response(kind, c),
                                    f"{kind} response[{cat.id}]"))
    responses = await _run_all(coros, "llm responses", progress)

    inputs: list[dict] = []
    for cat, req in requests:
        restricted = constitution.is_restricted(cat.id)
        inputs.append({"text": req, "label": 1 if restricted else 0, "category": cat.id,
                       "source": source, "augmentations": [],
                       "kind": "harmful_request" if restricted else "lookalike_request",
                       "lookalike": not restricted, "license": license_, "group": _group_of(req)})
    outputs: list[dict] = []
    for (cat, req, kind), resp in zip(plan, responses):
        if resp is None:
            continue
        outputs.append({"prompt": req, "response": resp, "label": 1 if kind == "compliant" else 0,
                        "category": cat.id, "source": source, "kind": kind, "augmentations": [],
                        "license": license_, "group": _group_of(req)})

    if not inputs:
        raise GenerationError(
            f"model {model!r} produced no usable requests ({client.stats.failed} failed calls; "
            f"first: {client.stats.failures[0] if client.stats.failures else 'n/a'})")

    in_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in inputs:
        in_counts[r["category"]][str(r["label"])] += 1
    out_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in outputs:
        out_counts[r["category"]][r["kind"]] += 1
    st = client.stats
    summary = {
        "model": model, "requests_per_category": requests_per_category, "seed": seed,
        "calls": st.calls, "cache_hits": st.cache_hits, "retries": st.retries,
        "failed": st.failed, "failures": st.failures,
        "requests_short": {k: v for k, v in shortfall.items() if v},
        "duplicate_requests": duplicates,
        "prompt_tokens": st.prompt_tokens, "completion_tokens": st.completion_tokens,
        "inputs": {c: dict(v) for c, v in in_counts.items()},
        "outputs": {c: dict(v) for c, v in out_counts.items()},
        "n_inputs": len(inputs), "n_outputs": len(outputs),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return inputs, outputs, summary


def generate_llm_sync(constitution: Constitution, **kwargs: Any) -> tuple[list[dict], list[dict], dict]:
    """:func:`generate_llm` for synchronous callers (runs its own event loop)."""
    return asyncio.run(generate_llm(constitution, **kwargs))
