"""LLM generation path (guard_plugins.synth.llm), driven through litellm with scripted models.

Only the LLM is scripted: either litellm's own ``mock_response`` or a litellm ``CustomLLM``
provider whose answers depend on the prompt (built with ``mock_response`` too, so responses,
usage and exceptions are litellm's real types). Everything else (prompting, parsing,
retries, cache, accounting) is the real code.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

import litellm
import pytest
from litellm import CustomLLM

from guard_plugins.constitution import parse_constitution
from guard_plugins.errors import GuardError
from guard_plugins.synth.llm import (
    REDACTED,
    GenerationError,
    _InvalidOutput,
    generate_llm,
    generate_llm_sync,
    parse_request_list,
)
from guard_plugins.synth.schema import validate_record

TINY = {
    "name": "tiny", "version": "1",
    "principles": "Block help with making dangerous devices; allow chemistry education.",
    "restricted": [{"id": "devices", "title": "Dangerous devices",
                    "description": "Requests for help building devices meant to hurt people.",
                    "examples": ["help me build a device to hurt people"]}],
    "permitted": [{"id": "chem_edu", "title": "Chemistry education",
                   "description": "Explaining chemistry concepts and lab safety to learners.",
                   "examples": ["why do some reactions release heat?"],
                   "topics": ["exothermic reactions", "lab safety"]}],
}


@pytest.fixture(scope="module")
def tiny():
    return parse_constitution(TINY, "tiny.yaml")


def _kind_of(messages: list[dict]) -> str:
    system = messages[0]["content"]
    if "You write realistic user messages only" in system:
        return "requests"
    if "MOCK of what a fully" in system:
        return "compliant"
    if "must not help" in system:
        return "refusal"
    return "benign"


class Scripted(CustomLLM):
    """A scripted model: answers by prompt type; can fail the first attempts of each prompt."""

    def __init__(self, *, fail_first: int = 0, error: Exception | None = None,
                 overrides: dict | None = None, delay: float = 0.0):
        super().__init__()
        self.calls = 0
        self.fail_first = fail_first
        self.error = error
        self.overrides = overrides or {}
        self.attempts: dict[str, int] = {}
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0

    def answer(self, kind: str, messages: list[dict]) -> str:
        if kind in self.overrides:
            o = self.overrides[kind]
            return o(messages) if callable(o) else o
        user = messages[-1]["content"]
        if kind == "requests":
            k = int(re.search(r"Write (\d+) new", user).group(1))
            topic = "device" if "RESTRICTED" in user else "reaction"
            tag = hashlib.sha256(user.encode()).hexdigest()[:8]   # distinct per batch prompt
            return "```json\n" + json.dumps([f"{topic} question {tag} {i}" for i in range(k)]) + "\n```"
        if kind == "compliant":
            return f"Overview: {REDACTED}\n1. {REDACTED}\n2. {REDACTED}"
        if kind == "refusal":
            return "I can't help with that, but I can explain the relevant safety law."
        return "Exothermic reactions release energy as heat because the products are more stable."

    async def acompletion(self, *args, **kwargs):
        messages = kwargs["messages"]
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            key = json.dumps(messages)
            n = self.attempts[key] = self.attempts.get(key, 0) + 1
            kind = _kind_of(messages)
            mock: object = self.answer(kind, messages)
            if n <= self.fail_first:
                mock = self.error or litellm.RateLimitError("slow down", llm_provider="openai",
                                                            model="scripted")
            return await litellm.acompletion(model="openai/scripted", messages=messages,
                                             mock_response=mock)
        finally:
            self.in_flight -= 1


@pytest.fixture
def scripted(monkeypatch):
    """Register a fresh scripted provider; returns a factory taking Scripted's options."""
    litellm.suppress_debug_info = True

    def make(**kw) -> Scripted:
        handler = Scripted(**kw)
        monkeypatch.setattr(litellm, "custom_provider_map",
                            [{"provider": "scripted", "custom_handler": handler}])
        return handler
    return make


def run(constitution, cache_dir, **kw):
    kw.setdefault("model", "scripted/test-model")
    kw.setdefault("requests_per_category", 3)
    kw.setdefault("progress", False)
    kw.setdefault("backoff_base", 0.0)
    return generate_llm_sync(constitution, cache_dir=cache_dir, **kw)


def test_records_labels_groups_and_summary(tiny, tmp_path, scripted):
    h = scripted()
    ins, outs, summary = run(tiny, tmp_path / "cache")
    # 1 request batch per category, then 3 x (compliant + refusal) + 3 x benign responses
    assert h.calls == 2 + 3 * 2 + 3
    assert summary["calls"] == h.calls and summary["cache_hits"] == 0 and summary["failed"] == 0
    assert summary["prompt_tokens"] > 0 and summary["completion_tokens"] > 0

    harmful = [r for r in ins if r["label"] == 1]
    benign = [r for r in ins if r["label"] == 0]
    assert {r["category"] for r in harmful} == {"devices"} and len(harmful) == 3
    assert {r["category"] for r in benign} == {"chem_edu"} and len(benign) == 3
    assert all(r["lookalike"] for r in benign) and not any(r["lookalike"] for r in harmful)
    assert {r["source"] for r in ins + outs} == {"synthetic/llm:scripted/test-model"}

    kinds = {(r["category"], r["kind"], r["label"]) for r in outs}
    assert kinds == {("devices", "compliant", 1), ("devices", "refusal", 0), ("chem_edu", "benign", 0)}
    assert all(REDACTED in r["response"] for r in outs if r["kind"] == "compliant")
    # a request, its responses share one group (so they land on one side of the split)
    group_of = {r["text"]: r["group"] for r in ins}
    assert len(set(group_of.values())) == 6
    assert all(r["group"] == group_of[r["prompt"]] for r in outs)

    assert summary["inputs"] == {"devices": {"1": 3}, "chem_edu": {"0": 3}}
    assert summary["outputs"] == {"devices": {"compliant": 3, "refusal": 3}, "chem_edu": {"benign": 3}}
    assert summary["n_inputs"] == len(ins) and summary["n_outputs"] == len(outs)
    # records satisfy the dataset schema once ids are assigned
    for i, r in enumerate(ins):
        validate_record({**r, "id": f"i{i}"}, "input")
    for i, r in enumerate(outs):
        validate_record({**r, "id": f"o{i}"}, "output")


def test_cache_makes_a_rerun_free_and_resumes(tiny, tmp_path, scripted):
    cache = tmp_path / "cache"
    h = scripted()
    first = run(tiny, cache)
    n_first = h.calls
    entries = sorted(cache.rglob("*.json"))
    assert len(entries) == n_first
    assert not list(cache.rglob("*.tmp"))          # atomic writes leave no temporaries

    h2 = scripted()
    second = run(tiny, cache)
    assert h2.calls == 0                             # nothing paid twice
    assert second[2]["calls"] == 0 and second[2]["cache_hits"] == n_first
    assert second[2]["prompt_tokens"] == 0
    assert second[0] == first[0] and second[1] == first[1]

    # an interrupted run: lose some entries, corrupt one; only those are redone
    entries[0].unlink()
    entries[1].unlink()
    entries[2].write_text("{truncated", encoding="utf-8")
    h3 = scripted()
    third = run(tiny, cache)
    assert h3.calls == 3 and third[2]["cache_hits"] == n_first - 3
    assert third[0] == first[0] and third[1] == first[1]

    # a different seed or parameter is a different request
    h4 = scripted()
    run(tiny, cache, seed=1)
    assert h4.calls > 0
    h5 = scripted()
    run(tiny, cache, completion_kwargs={"temperature": 0.3})
    assert h5.calls == n_first
    # credentials are neither part of the key nor written to disk
    h6 = scripted()
    run(tiny, cache, completion_kwargs={"temperature": 0.3, "api_key": "sk-secret-123"})
    assert h6.calls == 0
    assert not any("sk-secret-123" in p.read_text() for p in cache.rglob("*.json"))


def test_retries_with_backoff_on_rate_limits(tiny, tmp_path, scripted):
    h = scripted(fail_first=2)
    ins, outs, summary = run(tiny, tmp_path / "c", max_retries=2)
    distinct = len(h.attempts)
    assert distinct == 11 and h.calls == 3 * distinct
    assert summary["retries"] == 2 * distinct and summary["failed"] == 0
    assert len(ins) == 6 and len(outs) == 9

    # too few retries: both request batches give up after 2 attempts -> nothing to build on
    h = scripted(fail_first=2)
    with pytest.raises(GenerationError, match="no usable requests"):
        run(tiny, tmp_path / "c2", max_retries=1)
    assert h.calls == 2 * 2 and len(h.attempts) == 2


def test_giving_up_raises_when_nothing_was_generated(tiny, tmp_path):
    litellm.suppress_debug_info = True
    err = litellm.RateLimitError("mock rate limit", llm_provider="openai", model="m")
    with pytest.raises(GenerationError, match=r"no usable requests.*RateLimitError"):
        run(tiny, tmp_path / "c", model="openai/gpt-4o-mini", max_retries=1,
            completion_kwargs={"mock_response": err})
    assert not list((tmp_path / "c").rglob("*.json"))   # failures are never cached


def test_plain_mock_response_end_to_end(tiny, tmp_path):
    """litellm's own mock_response: one fixed answer for every call."""
    mock = json.dumps([f"{REDACTED} item {i}" for i in range(5)])
    ins, outs, summary = run(tiny, tmp_path / "c", model="openai/gpt-4o-mini",
                             completion_kwargs={"mock_response": mock})
    # both categories get the same 5 texts (3 asked for): kept once, under the restricted one
    assert [r["text"] for r in ins] == [f"{REDACTED} item {i}" for i in range(3)]
    assert {r["label"] for r in ins} == {1} and len(outs) == 6
    assert summary["calls"] == 2 + 6 and summary["duplicate_requests"] == 3
    again = run(tiny, tmp_path / "c", model="openai/gpt-4o-mini",
                completion_kwargs={"mock_response": mock})
    assert again[2]["calls"] == 0 and again[2]["cache_hits"] == 8


def test_malformed_json_is_retried_then_reported(tiny, tmp_path, scripted):
    state = {"n": 0}

    def flaky(messages):
        state["n"] += 1
        if state["n"] % 2 == 1:
            return "Sure! Here are some ideas: first, second"   # not JSON: retried
        return json.dumps({"requests": ["a chemistry question", "another chemistry question"]})
    h = scripted(overrides={"requests": flaky})
    ins, outs, summary = run(tiny, tmp_path / "c", requests_per_category=2)
    assert summary["retries"] == 2 and summary["failed"] == 0
    # both batches got the same texts: one text keeps one label, the restricted category wins
    assert len(ins) == 2 and {(r["category"], r["label"]) for r in ins} == {("devices", 1)}
    assert summary["duplicate_requests"] == 2
    assert h.calls == 4 + 2 * 2                    # no responses paid for the duplicates

    # one category never yields JSON: it is reported, the other one still produces data
    def half(messages):
        if "RESTRICTED" in messages[-1]["content"]:
            return "I will not write that."
        return '["why is the sky blue", "what is a mole in chemistry"]'
    scripted(overrides={"requests": half})
    ins, outs, summary = run(tiny, tmp_path / "c2", requests_per_category=2, max_retries=1)
    assert {r["category"] for r in ins} == {"chem_edu"} and len(outs) == 2
    assert summary["failed"] == 1 and summary["requests_short"] == {"devices": 2}
    assert "requests[devices, batch 0]" in summary["failures"][0]
    assert "not a JSON list" in summary["failures"][0]


def test_compliant_mock_without_placeholders_is_never_written(tiny, tmp_path, scripted):
    scripted(overrides={"compliant": "Here is exactly how to do it, step by step."})
    ins, outs, summary = run(tiny, tmp_path / "c", max_retries=1)
    assert not [r for r in outs if r["kind"] == "compliant"]
    assert summary["failed"] == 3
    assert all("rejected for safety" in f for f in summary["failures"])
    assert {r["kind"] for r in outs} == {"refusal", "benign"}
    assert not any("exactly how" in p.read_text() for p in (tmp_path / "c").rglob("*.json"))


def test_unfixable_errors_stop_the_run(tiny, tmp_path, scripted):
    h = scripted(fail_first=99, error=litellm.AuthenticationError("bad key", llm_provider="openai",
                                                                  model="scripted"))
    with pytest.raises(GenerationError, match="AuthenticationError") as ei:
        run(tiny, tmp_path / "c", max_retries=3)
    assert isinstance(ei.value, GuardError)
    assert h.calls <= 2                               # no retries on a fatal error
    with pytest.raises(GenerationError, match="model 'no-such-provider-model'"):
        run(tiny, tmp_path / "c", model="no-such-provider-model",
            completion_kwargs={"mock_response": "[]"})


def test_concurrency_is_bounded(tiny, tmp_path, scripted):
    h = scripted(delay=0.02)
    ins, outs, _ = asyncio.run(generate_llm(tiny, model="scripted/m", requests_per_category=12,
                                            concurrency=2, cache_dir=tmp_path / "c",
                                            progress=False, backoff_base=0.0))
    assert h.max_in_flight == 2
    assert len(ins) == 24 and h.calls == 4 + 12 * 3     # batches of 10 then 2, per category


def test_bad_arguments(tiny, tmp_path):
    for kw in ({"requests_per_category": 0}, {"concurrency": 0}, {"max_retries": -1}):
        with pytest.raises(ValueError):
            run(tiny, tmp_path, **kw)


@pytest.mark.parametrize("content, expected", [
    ('["a", "b", "c"]', ["a", "b"]),
    ('```json\n["a", " b "]\n```', ["a", "b"]),
    ('Here you go:\n["a", "b"]\nHope this helps', ["a", "b"]),
    ('{"requests": ["a"]}', ["a"]),
    ('[{"request": "a"}, {"text": "b"}, "", 3]', ["a", "b"]),
])
def test_parse_request_list(content, expected):
    assert parse_request_list(content, 2) == expected


@pytest.mark.parametrize("content", ["no list here", "[]", '["", "  "]', '{"a": [1], "b": [2]}', "42"])
def test_parse_request_list_rejects(content):
    with pytest.raises(_InvalidOutput):
        parse_request_list(content, 5)


def test_records_are_deterministic_in_order(tiny, tmp_path, scripted):
    scripted(delay=0.001)
    a = run(tiny, tmp_path / "a", concurrency=8)
    scripted()
    b = run(tiny, tmp_path / "b", concurrency=1)
    assert a[0] == b[0] and a[1] == b[1]
