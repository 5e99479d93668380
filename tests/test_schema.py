"""Dataset record schemas and JSONL I/O (guard_plugins.synth.schema)."""

from __future__ import annotations

import json
import os

import pytest

from guard_plugins.errors import DataError, GuardError
from guard_plugins.synth.schema import (
    InputRecord,
    OutputRecord,
    data_file,
    read_jsonl,
    validate_record,
    write_jsonl,
)


def _inp(**kw):
    r = {"id": "in-1", "text": "how do volcanoes form?", "label": 0, "category": None,
         "source": "public/test", "kind": "public", "augmentations": [], "lookalike": False,
         "license": "MIT"}
    r.update(kw)
    return r


def _out(**kw):
    r = {"id": "out-1", "prompt": "q", "response": "Step 1: [REDACTED]", "label": 1,
         "category": "cbrne", "source": "synthetic/offline", "kind": "compliant",
         "augmentations": ["prefix"], "license": "Apache-2.0"}
    r.update(kw)
    return r


def test_round_trip_keeps_records_and_optional_fields(tmp_path):
    recs = [_inp(), _inp(id="in-2", label=1, category="cbrne", group="g1", split="dev")]
    p = tmp_path / "sub" / "inputs.train.jsonl"
    assert write_jsonl(p, recs, kind="input") == 2
    back = read_jsonl(p, "input")
    assert back[0] == _inp()                      # absent group/split stay absent
    assert back[1]["group"] == "g1" and back[1]["split"] == "dev"
    assert [r["id"] for r in back] == ["in-1", "in-2"]
    # unicode survives unescaped
    write_jsonl(p, [_inp(text="naïve ünïcode ✓")], kind="input")
    assert "naïve ünïcode ✓" in p.read_text(encoding="utf-8")


def test_models_validate_both_kinds():
    assert InputRecord.model_validate(_inp()).text.startswith("how")
    assert OutputRecord.model_validate(_out()).kind == "compliant"
    assert validate_record(_out(), "output")["augmentations"] == ["prefix"]


@pytest.mark.parametrize("bad, field", [
    ({"label": 2}, "label"),
    ({"label": True}, "label"),
    ({"label": "1"}, "label"),
    ({"text": "   "}, "text"),
    ({"lable": 1}, "lable"),          # a typo must not pass silently
    ({"split": "test"}, "split"),
])
def test_invalid_input_records_name_the_field(bad, field):
    rec = _inp(**bad)
    with pytest.raises(DataError, match=f"field '{field}'"):
        validate_record(rec, "input", "x.jsonl:3")


def test_missing_field_and_bad_output_kind():
    rec = _out()
    del rec["response"]
    with pytest.raises(DataError, match="field 'response': field required"):
        validate_record(rec, "output")
    with pytest.raises(DataError, match="field 'kind'"):
        validate_record(_out(kind="harmful"), "output")


def test_read_reports_file_and_line(tmp_path):
    p = tmp_path / "outputs.dev.jsonl"
    lines = [json.dumps(_out()), "", "{not json", json.dumps([1, 2]), json.dumps(_out(label=5))]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{p.name}:3: invalid JSON"):
        read_jsonl(p, "output")
    errors: list[DataError] = []
    good = read_jsonl(p, "output", errors=errors)
    assert len(good) == 1
    msgs = [str(e) for e in errors]
    assert len(msgs) == 3
    assert f"{p}:3: invalid JSON" in msgs[0]
    assert f"{p}:4: expected a JSON object, got list" in msgs[1]
    assert f"{p}:5: invalid output record: field 'label'" in msgs[2]
    # without a kind, only JSON-object structure is checked
    raw = read_jsonl(p, errors=(errs := []))
    assert len(raw) == 2 and len(errs) == 2


def test_read_missing_file_and_bad_utf8(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_jsonl(tmp_path / "nope.jsonl", "input")
    p = tmp_path / "bad.jsonl"
    p.write_bytes(json.dumps(_inp()).encode() + b"\n\xff\xfe\n")
    with pytest.raises(DataError, match=r"bad.jsonl:2: not valid UTF-8"):
        read_jsonl(p, "input")
    assert isinstance(DataError("x"), GuardError)


def test_write_is_atomic_and_validates_before_touching_the_file(tmp_path):
    p = tmp_path / "inputs.train.jsonl"
    write_jsonl(p, [_inp()], kind="input")
    before = p.read_bytes()
    with pytest.raises(DataError, match="record 1"):
        write_jsonl(p, [_inp(), _inp(label=7)], kind="input")
    assert p.read_bytes() == before                 # old content intact
    assert os.listdir(tmp_path) == ["inputs.train.jsonl"]   # no temporary file left behind

    def boom():
        yield _inp()
        raise RuntimeError("producer failed")
    with pytest.raises(RuntimeError):
        write_jsonl(p, boom())
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["inputs.train.jsonl"]


def test_data_file_names(tmp_path):
    assert data_file(tmp_path, "input", "train").name == "inputs.train.jsonl"
    assert data_file(tmp_path, "output", "calib").name == "outputs.calib.jsonl"
    with pytest.raises(ValueError):
        data_file(tmp_path, "output", "test")
