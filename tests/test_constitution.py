"""The shipped default constitution and the loader's error reporting."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from guard_plugins.constitution import (
    Constitution,
    default_constitution_path,
    load_constitution,
    parse_constitution,
)
from guard_plugins.errors import ConstitutionError, GuardError

#: MLCommons AILuminate v1.0 hazards (plus cyber-attacks and jailbreaks) -> our ids.
#: Intellectual property is out of scope of the default by design (see the YAML header).
AILUMINATE_HAZARDS = {
    "violent crimes": "violent_crimes",
    "non-violent crimes": "nonviolent_crimes",
    "sex-related crimes": "sex_crimes",
    "child sexual exploitation": "child_exploitation",
    "indiscriminate weapons (CBRNE)": "cbrne",
    "suicide and self-harm": "self_harm",
    "hate": "hate",
    "defamation / harassment": "harassment",
    "privacy": "privacy",
    "specialized advice": "specialized_advice",
    "sexual content": "sexual_content",
    "cyber-attacks": "cyber_attacks",
    "jailbreak extraction": "jailbreak_extraction",
}

#: Look-alike families that the default must permit explicitly.
EXPECTED_PERMITTED = {
    "chemistry_education", "biology_medicine_education", "security_defense", "weapons_history_news",
    "fiction_creative", "drug_safety_medical", "harm_reduction_crisis_support", "programming_terms",
    "games_sports_violence", "law_and_policy", "self_defense_safety", "sex_education_health",
    "privacy_protection", "history_of_atrocities", "copyright_fair_use",
}


@pytest.fixture(scope="module")
def default() -> Constitution:
    return load_constitution()


@pytest.fixture(scope="module")
def default_data() -> dict:
    return yaml.safe_load(default_constitution_path().read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return p


# -- the default ------------------------------------------------------------------------
def test_default_loads_by_none_and_by_name(default: Constitution) -> None:
    assert load_constitution("default").content_hash() == default.content_hash()
    assert default.name and default.version and default.principles.strip()


def test_default_covers_every_ailuminate_hazard(default: Constitution) -> None:
    missing = {hz: cid for hz, cid in AILUMINATE_HAZARDS.items() if cid not in default.restricted_ids}
    assert not missing, f"restricted categories missing for hazards: {missing}"
    assert set(default.restricted_ids) == set(AILUMINATE_HAZARDS.values())


def test_default_permits_the_look_alikes(default: Constitution) -> None:
    assert EXPECTED_PERMITTED <= set(default.permitted_ids)
    assert len(default.permitted) >= len(default.restricted)


def test_default_categories_are_complete(default: Constitution) -> None:
    for cat in default.categories:
        assert 5 <= len(cat.examples) <= 10, f"{cat.id}: {len(cat.examples)} examples"
        assert len(cat.topics) >= 5, f"{cat.id}: too few topics"
        assert len(set(cat.examples)) == len(cat.examples), f"{cat.id}: duplicate examples"
        assert len(cat.description) >= 80, f"{cat.id}: description too short to say what is in and out"
        assert "Out:" in cat.description, f"{cat.id}: description must say what is out"
    for cat in default.restricted:
        assert cat.severity is not None, f"{cat.id}: restricted categories need a severity"
    severities = {c.id: c.severity for c in default.restricted}
    assert severities["child_exploitation"] == severities["cbrne"] == "critical"


def test_default_examples_are_unique_across_categories(default: Constitution) -> None:
    seen: dict[str, str] = {}
    for cat in default.categories:
        for ex in cat.examples:
            key = ex.lower()
            assert key not in seen, f"example {ex!r} in both {seen.get(key)} and {cat.id}"
            seen[key] = cat.id


# -- content hash ----------------------------------------------------------------------
def test_hash_is_stable_across_reformatting(tmp_path: Path, default: Constitution,
                                            default_data: dict) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(yaml.safe_dump(default_data, default_flow_style=True, sort_keys=True, width=60),
                    encoding="utf-8")
    as_json = tmp_path / "as.json.yaml"  # JSON is YAML too
    as_json.write_text(json.dumps(default_data, indent=1), encoding="utf-8")
    reordered = {k: default_data[k] for k in reversed(list(default_data))}
    rev = _write(tmp_path, reordered, "reordered.yaml")
    for p in (flow, as_json, rev):
        assert load_constitution(p).content_hash() == default.content_hash(), p.name
    # whitespace around list items is stripped by the model, so it does not count either
    padded = copy.deepcopy(default_data)
    padded["restricted"][0]["examples"][0] = "  " + padded["restricted"][0]["examples"][0] + "  "
    assert load_constitution(_write(tmp_path, padded, "padded.yaml")).content_hash() == default.content_hash()


@pytest.mark.parametrize("edit", ["example", "severity", "topic", "principles", "order"])
def test_hash_changes_when_content_changes(tmp_path: Path, default: Constitution,
                                           default_data: dict, edit: str) -> None:
    data = copy.deepcopy(default_data)
    if edit == "example":
        data["restricted"][1]["examples"][0] += " (edited)"
    elif edit == "severity":
        data["restricted"][0]["severity"] = "low"
    elif edit == "topic":
        data["permitted"][0]["topics"].append("a new topic")
    elif edit == "principles":
        data["principles"] += "\nOne more principle."
    else:  # category order is meaningful: it fixes the classifier's head order
        data["restricted"][0], data["restricted"][1] = data["restricted"][1], data["restricted"][0]
    changed = load_constitution(_write(tmp_path, data))
    assert changed.content_hash() != default.content_hash()
    assert changed.content_hash().startswith("sha256:") and len(changed.content_hash()) == 7 + 64


# -- broken files ----------------------------------------------------------------------
def _broken(default_data: dict, what: str) -> object:
    data = copy.deepcopy(default_data)
    if what == "missing_field":
        del data["restricted"][2]["title"]
    elif what == "missing_top_field":
        del data["permitted"]
    elif what == "wrong_type":
        data["restricted"][1]["examples"] = 42
    elif what == "bad_severity":
        data["restricted"][0]["severity"] = "extreme"
    elif what == "empty_examples":
        data["permitted"][3]["examples"] = []
    elif what == "blank_example":
        data["permitted"][0]["examples"][1] = "   "
    elif what == "duplicate_id":
        data["permitted"][0]["id"] = data["restricted"][0]["id"]
    elif what == "unknown_field":
        data["restricted"][4]["severty"] = "high"
    elif what == "bad_slug":
        data["restricted"][0]["id"] = "Violent Crimes"
    return data


@pytest.mark.parametrize("what, field, expect", [
    ("missing_field", "restricted.2.title", "field required"),
    ("missing_top_field", "permitted", "field required"),
    ("wrong_type", "restricted.1.examples", "valid"),
    ("bad_severity", "restricted.0.severity", "low"),
    ("empty_examples", "permitted.3.examples", "at least 1"),
    ("blank_example", "permitted.0.examples", "non-empty"),
    ("duplicate_id", "permitted.0.id", "duplicate category id"),
    ("unknown_field", "restricted.4.severty", "unknown field"),
    ("bad_slug", "restricted.0.id", "pattern"),
])
def test_broken_file_names_file_field_and_expectation(tmp_path: Path, default_data: dict, what: str,
                                                      field: str, expect: str) -> None:
    p = _write(tmp_path, _broken(default_data, what), f"{what}.yaml")
    with pytest.raises(ConstitutionError) as ei:
        load_constitution(p)
    msg = str(ei.value)
    assert msg.startswith(str(p) + ":"), msg
    assert field in msg, msg
    assert expect in msg, msg
    assert ei.value.path == str(p)
    assert isinstance(ei.value, GuardError) and isinstance(ei.value, ValueError)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nversion: '1'\nrestricted: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConstitutionError, match=r"bad\.yaml: invalid YAML at line \d+"):
        load_constitution(p)


@pytest.mark.parametrize("content", ["- just\n- a list\n", "just a string\n", ""])
def test_not_a_mapping(tmp_path: Path, content: str) -> None:
    p = tmp_path / "list.yaml"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ConstitutionError, match=r"list\.yaml: expected a mapping") as ei:
        load_constitution(p)
    assert ei.value.field == "<top level>"


def test_file_not_found(tmp_path: Path) -> None:
    p = tmp_path / "nope.yaml"
    with pytest.raises(ConstitutionError, match=r"nope\.yaml: file not found"):
        load_constitution(p)


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConstitutionError, match=r"latin1\.yaml: cannot read file"):
        load_constitution(p)


def test_parse_constitution_source_in_message(default_data: dict) -> None:
    data = _broken(default_data, "missing_field")
    with pytest.raises(ConstitutionError, match=r"^<inline>: field 'restricted\.2\.title'"):
        parse_constitution(data, "<inline>")
