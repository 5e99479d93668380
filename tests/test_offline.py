"""The offline synthetic generator (guard_plugins.synth.offline) on the default constitution."""

from __future__ import annotations

import collections
import re
import time

import pytest

from guard_plugins.constitution import load_constitution, parse_constitution
from guard_plugins.synth.offline import LICENSE, REDACTION_MARKERS, SOURCE, generate_offline
from guard_plugins.synth.schema import validate_record

INPUT_KEYS = {"text", "label", "category", "source", "kind", "augmentations", "lookalike", "license", "group"}
OUTPUT_KEYS = {"prompt", "response", "label", "category", "source", "kind", "augmentations", "license", "group"}


@pytest.fixture(scope="module")
def con():
    return load_constitution()


@pytest.fixture(scope="module")
def data(con):
    t0 = time.perf_counter()
    inputs, outputs = generate_offline(con, seed=0)
    return inputs, outputs, time.perf_counter() - t0


def _prefix(text: str, n: int = 3) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower())[:n])


def test_counts_and_speed(data) -> None:
    inputs, outputs, seconds = data
    assert len({r["text"] for r in inputs}) >= 20_000
    assert len({r["response"] for r in outputs}) >= 20_000
    assert seconds < 30, f"generation took {seconds:.1f}s; it should take seconds"


def test_schema_keys_and_values(con, data) -> None:
    inputs, outputs, _ = data
    for i, r in enumerate(inputs):
        assert set(r) == INPUT_KEYS, r
        assert r["source"] == SOURCE and r["license"] == LICENSE and r["augmentations"] == []
        assert isinstance(r["group"], str) and r["group"]
        validate_record({**r, "id": f"in-{i}"}, "input", f"inputs[{i}]")
    for i, r in enumerate(outputs):
        assert set(r) - {"harm_onset"} == OUTPUT_KEYS, r
        assert r["source"] == SOURCE and r["license"] == LICENSE and r["augmentations"] == []
        validate_record({**r, "id": f"out-{i}"}, "output", f"outputs[{i}]")


def test_compliant_responses_mark_where_the_harmful_body_starts(data) -> None:
    """The preamble and background of a mock compliant response are benign text: harm_onset
    points past them, so the streaming loss does not teach "compliance opener => harm"."""
    _, outputs, _ = data
    marked = [r for r in outputs if r.get("harm_onset")]
    compliant = [r for r in outputs if r["kind"] == "compliant"]
    assert len(marked) >= 0.9 * len(compliant)
    assert all(r["label"] == 1 for r in marked)
    for r in marked:
        head, body = r["response"][:r["harm_onset"]], r["response"][r["harm_onset"]:]
        assert head.endswith("\n\n") and body and not body[0].isspace()
        assert not any(m in head for m in ("[REDACTED", "withheld"))


def test_compliance_preambles_open_benign_answers_too(data) -> None:
    """No stock opener of the generator may predict the label: each compliance preamble of the
    harmful mock answers also opens benign answers (a shortcut the audit found)."""
    from guard_plugins.synth.offline_vocab import HARMFUL_PREAMBLES

    _, outputs, _ = data
    fixed = [p for p in HARMFUL_PREAMBLES if p and "{" not in p]
    opens = collections.Counter((p, r["label"]) for r in outputs for p in fixed
                                if r["response"].startswith(p))
    for p in fixed:
        harmful, benign = opens[(p, 1)], opens[(p, 0)]
        assert harmful and benign, (p, harmful, benign)
        assert 0.2 < benign / (benign + harmful) < 0.8, (p, harmful, benign)


def test_labels_kinds_and_categories_agree(con, data) -> None:
    inputs, outputs, _ = data
    restricted, permitted = set(con.restricted_ids), set(con.permitted_ids)
    for r in inputs:
        if r["kind"] == "harmful_request":
            assert r["label"] == 1 and r["category"] in restricted and not r["lookalike"]
        elif r["kind"] == "lookalike_request":
            assert r["label"] == 0 and r["category"] in permitted and r["lookalike"]
        else:
            assert r["kind"] == "benign_request"
            assert r["label"] == 0 and r["category"] is None and not r["lookalike"]
    for r in outputs:
        assert (r["kind"] == "compliant") == (r["label"] == 1)
        assert r["kind"] in {"compliant", "refusal", "benign"}
        if r["kind"] == "compliant":
            assert r["category"] in restricted
        if r["kind"] == "benign":
            assert r["category"] is None or r["category"] in permitted


def test_lookalikes_at_least_as_many_as_harmful(data) -> None:
    inputs, outputs, _ = data
    kinds = collections.Counter(r["kind"] for r in inputs)
    assert kinds["lookalike_request"] >= kinds["harmful_request"] > 0
    labels = collections.Counter(r["label"] for r in outputs)
    assert labels[0] >= labels[1] > 0
    # refusals of harmful prompts exist and are label 0
    assert sum(r["kind"] == "refusal" for r in outputs) > 1000


def test_every_category_represented(con, data) -> None:
    inputs, outputs, _ = data
    in_counts = collections.Counter(r["category"] for r in inputs)
    out_counts = collections.Counter(r["category"] for r in outputs)
    for cid in con.restricted_ids + con.permitted_ids:
        assert in_counts[cid] >= 100, f"{cid}: only {in_counts[cid]} prompts"
        assert out_counts[cid] >= 100, f"{cid}: only {out_counts[cid]} responses"
    compliant = collections.Counter(r["category"] for r in outputs if r["kind"] == "compliant")
    assert set(compliant) == set(con.restricted_ids)


def test_deterministic_for_a_seed(con, data) -> None:
    inputs, outputs, _ = data
    again_in, again_out = generate_offline(con, seed=0)
    assert again_in == inputs and again_out == outputs
    other_in, _ = generate_offline(con, seed=1, scale=0.2)
    first_in, _ = generate_offline(con, seed=0, scale=0.2)
    assert [r["text"] for r in other_in] != [r["text"] for r in first_in]


def test_scale(con, data) -> None:
    inputs, _, _ = data
    small_in, small_out = generate_offline(con, seed=0, scale=0.25)
    assert 0 < len(small_in) < len(inputs) / 2
    assert {r["category"] for r in small_in} == {r["category"] for r in inputs}
    with pytest.raises(ValueError, match="scale"):
        generate_offline(con, scale=-1)


def test_harmful_responses_are_redacted(data) -> None:
    _, outputs, _ = data
    compliant = [r["response"] for r in outputs if r["kind"] == "compliant"]
    assert compliant
    unredacted = [r for r in compliant if not any(m in r for m in REDACTION_MARKERS)]
    assert not unredacted, unredacted[:3]


def test_harmful_content_starts_at_varied_positions(data) -> None:
    _, outputs, _ = data
    starts = []
    for r in (o["response"] for o in outputs if o["kind"] == "compliant"):
        first = min(r.find(m) for m in REDACTION_MARKERS if m in r)
        starts.append(len(r[:first].split()))
    early = sum(s < 15 for s in starts) / len(starts)
    late = sum(s >= 30 for s in starts) / len(starts)
    assert 0.1 < early < 0.9 and late > 0.2, (early, late)


def test_openings_do_not_decide_the_output_label(data) -> None:
    _, outputs, _ = data
    by_open: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in outputs:
        by_open[_prefix(r["response"])][r["label"]] += 1
    # openings that look like compliance also open benign answers
    for opening in ("sure here's how", "absolutely", "step 1", "dan here", "in the story"):
        hits = collections.Counter()
        for k, c in by_open.items():
            if k.startswith(opening):
                hits.update(c)
        assert hits[0] > 0, f"no benign response opens with {opening!r}"
    # benign responses sometimes carry placeholders too, so markers alone do not decide
    benign = [r["response"] for r in outputs if r["kind"] == "benign"]
    share = sum(any(m in r for m in REDACTION_MARKERS) for r in benign) / len(benign)
    assert 0.03 < share < 0.5, share


def test_both_classes_share_phrasings(data) -> None:
    inputs, _, _ = data
    pos = collections.Counter(_prefix(r["text"]) for r in inputs if r["label"] == 1)
    neg = collections.Counter(_prefix(r["text"]) for r in inputs if r["label"] == 0)
    shared_pos = sum(v for k, v in pos.items() if k in neg) / sum(pos.values())
    shared_neg = sum(v for k, v in neg.items() if k in pos) / sum(neg.values())
    assert shared_pos > 0.7 and shared_neg > 0.7, (shared_pos, shared_neg)
    # no frequent opening is (nearly) pure: templates alone do not decide the label
    for k, n in (pos + neg).most_common(30):
        frac = pos[k] / n
        assert 0.1 < frac < 0.9, f"opening {k!r}: {frac:.2f} harmful over {n} prompts"


def test_lookalikes_use_alarming_words(data) -> None:
    inputs, _, _ = data
    scary = re.compile(r"\b(kill\w*|attack\w*|exploit\w*|poison\w*|bomb\w*|weapon\w*|hack\w*|"
                       r"drug\w*|overdose|shoot\w*|assassinat\w*|explosive\w*|terminat\w*)\b", re.I)
    look = [r["text"] for r in inputs if r["kind"] == "lookalike_request"]
    share = sum(bool(scary.search(t)) for t in look) / len(look)
    assert share > 0.15, share
    # ... and some harmful requests have none of them (subtle harm)
    harmful = [r["text"] for r in inputs if r["label"] == 1]
    assert sum(not scary.search(t) for t in harmful) / len(harmful) > 0.3


def test_groups_tie_prompts_and_responses(data) -> None:
    inputs, outputs, _ = data
    group_of = {r["text"]: r["group"] for r in inputs}
    for r in outputs:
        assert group_of[r["prompt"]] == r["group"]
    # a group never mixes labels on the input side
    labels: dict[str, set[int]] = collections.defaultdict(set)
    for r in inputs:
        labels[r["group"]].add(r["label"])
    assert all(len(v) == 1 for v in labels.values())
    assert len(labels) > 3000


def test_response_lengths_vary(data) -> None:
    _, outputs, _ = data
    for kind in ("compliant", "benign"):
        words = sorted(len(r["response"].split()) for r in outputs if r["kind"] == kind)
        assert words[len(words) // 20] >= 20, kind
        assert words[-1] >= 200, kind
        assert words[len(words) // 2] >= 60, kind


def test_custom_constitution_with_unknown_ids() -> None:
    con = parse_constitution({
        "name": "tiny", "version": "0", "principles": "test",
        "restricted": [{"id": "lockpicking", "title": "Lock picking", "description": "Opening locks you do not own.",
                        "examples": ["How do I open my neighbour's front door lock?"],
                        "topics": ["a door lock", "a padlock"]}],
        "permitted": [{"id": "locksmith_history", "title": "Locks", "description": "History of locks.",
                       "examples": ["Who invented the pin tumbler lock?"], "topics": ["pin tumbler locks"]}],
    })
    inputs, outputs = generate_offline(con, seed=3)
    cats = collections.Counter((r["category"], r["label"]) for r in inputs)
    assert cats[("lockpicking", 1)] > 10 and cats[("locksmith_history", 0)] > 5
    assert any(r["kind"] == "compliant" and r["category"] == "lockpicking" for r in outputs)


def test_compliant_responses_carry_no_quantities(data) -> None:
    """Synthetic harmful answers must stay structural: no amounts, temperatures or durations."""
    _, outputs, _ = data
    qty = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:mg|g|kg|ml|l|grams?|kilos?|litres?|liters?|°\s?[cf]|"
                     r"degrees|psi|%|percent|minutes?|hours?|volts?|mm|cm)\b", re.I)
    bad = [r["response"] for r in outputs if r["kind"] == "compliant" and qty.search(r["response"])]
    assert not bad, bad[:2]
