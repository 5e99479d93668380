"""guard-eval's file reader: malformed lines are reported with their line numbers, never
skipped silently; CLI exit status 2 lists them. No model needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard_plugins.errors import DataError
from guard_plugins.eval.cli import main
from guard_plugins.eval.data import read_eval_file
from guard_plugins.eval.evaluate import ChunkSpec, split_chunks

GOOD_IN = [{"text": "how do I bake bread", "label": 0, "source": "x"},
           {"text": "a harmful request", "label": 1, "category": "cbrne"}]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_records_and_keeps_extra_fields(tmp_path: Path) -> None:
    f = _write(tmp_path / "in.jsonl", [json.dumps(r) for r in GOOD_IN] + ["", "   "])
    d = read_eval_file(f, "input")
    assert [r.label for r in d.records] == [0, 1]
    assert d.records[0].extra == {"source": "x"} and d.records[1].extra == {"category": "cbrne"}
    assert d.records[1].line == 2 and d.bad == []


def test_output_records(tmp_path: Path) -> None:
    f = _write(tmp_path / "out.jsonl", [
        json.dumps({"prompt": "", "response": "Sure.", "label": 0, "kind": "benign"}),
        json.dumps({"prompt": "p", "response": "   ", "label": 1}),
    ])
    with pytest.raises(DataError) as e:
        read_eval_file(f, "output")
    assert f"{f}:2: field 'response' is blank" in str(e.value)
    d = read_eval_file(f, "output", skip_bad=True)
    assert d.records[0].text == "" and d.records[0].response == "Sure."
    assert d.records[0].extra == {"kind": "benign"}


@pytest.mark.parametrize("line, reason", [
    ('{"text": "x", "label": 1', "invalid JSON"),
    ('["text", 1]', "expected a JSON object, got list"),
    ('{"text": "x"}', "missing field 'label'"),
    ('{"text": "x", "label": 2}', "must be the integer 0 or 1, got 2"),
    ('{"text": "x", "label": true}', "must be the integer 0 or 1, got True"),
    ('{"text": "x", "label": 1.0}', "must be the integer 0 or 1, got 1.0"),
    ('{"text": "x", "label": "1"}', "must be the integer 0 or 1, got '1'"),
    ('{"text": 5, "label": 1}', "field 'text' must be a string, got int"),
    ('{"text": " ", "label": 0}', "field 'text' is blank"),
    ('{"prompt": "x", "response": "y", "label": 0}', "missing field 'text'"),
])
def test_each_malformed_line_is_named_with_its_number(tmp_path: Path, line: str, reason: str) -> None:
    f = _write(tmp_path / "in.jsonl", [json.dumps(GOOD_IN[0]), line, json.dumps(GOOD_IN[1])])
    with pytest.raises(DataError) as e:
        read_eval_file(f, "input")
    assert f"{f}:2: " in str(e.value) and reason in str(e.value)
    d = read_eval_file(f, "input", skip_bad=True)
    assert [b.line for b in d.bad] == [2] and reason in d.bad[0].reason
    assert [r.line for r in d.records] == [1, 3]  # nothing else lost


def test_many_bad_lines_are_counted_and_listed(tmp_path: Path) -> None:
    lines = [json.dumps(GOOD_IN[0])] + ["not json"] * 15
    f = _write(tmp_path / "in.jsonl", lines)
    with pytest.raises(DataError) as e:
        read_eval_file(f, "input")
    msg = str(e.value)
    assert "15 malformed lines" in msg and f"{f}:2:" in msg and f"{f}:11:" in msg
    assert "and 5 more" in msg
    d = read_eval_file(f, "input", skip_bad=True)
    assert [b.line for b in d.bad] == list(range(2, 17))


def test_missing_empty_and_invalid_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_eval_file(tmp_path / "nope.jsonl", "input")
    with pytest.raises(DataError, match="no input records"):
        read_eval_file(_write(tmp_path / "empty.jsonl", [""]), "input")
    raw = tmp_path / "latin1.jsonl"
    raw.write_bytes(json.dumps(GOOD_IN[0]).encode() + b"\n" + b'{"text": "caf\xe9", "label": 0}\n')
    with pytest.raises(DataError, match=r":2: not valid UTF-8"):
        read_eval_file(raw, "input")


def test_limit_keeps_first_records_but_validates_all(tmp_path: Path) -> None:
    f = _write(tmp_path / "in.jsonl", [json.dumps(GOOD_IN[0])] * 5 + ["{bad"])
    with pytest.raises(DataError, match=":6:"):
        read_eval_file(f, "input", limit=2)
    assert len(read_eval_file(f, "input", limit=2, skip_bad=True).records) == 2


def test_cli_exits_2_listing_bad_lines_before_loading_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "in.jsonl", [json.dumps(GOOD_IN[0]), '{"text": "x", "label": 3}'])
    rc = main(["--kind", "input", "--data", str(f), "--json", "--models", str(tmp_path / "none")])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert f"{f}:2: field 'label'" in err and "--skip-bad" in err


def test_cli_missing_models_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "in.jsonl", [json.dumps(r) for r in GOOD_IN])
    rc = main(["--kind", "input", "--data", str(f), "--models", str(tmp_path / "none")])
    assert rc == 3 and "cannot load models" in capsys.readouterr().err


def test_realistic_chunks_cover_the_text_and_are_reproducible() -> None:
    text = "  Sure, here is   the plan:\n1. [REDACTED]\n2. <step withheld>  "
    spec = ChunkSpec.parse("realistic", seed=3)
    chunks = split_chunks(text, spec, index=7)
    assert "".join(chunks) == text
    assert chunks == split_chunks(text, spec, index=7)
    assert all(1 <= len(c.split()) <= 6 for c in chunks[:-1])
    assert split_chunks(text, ChunkSpec.parse("4"), 0)[0] == "  Su"
    assert "".join(split_chunks(text, ChunkSpec.parse(5), 0)) == text
    with pytest.raises(ValueError):
        ChunkSpec.parse("0")
    with pytest.raises(ValueError):
        ChunkSpec.parse("big")


def test_eval_tools_import_without_torch() -> None:
    """guard-eval, guard-redteam, the suite, the metrics and the demo never import torch,
    transformers or optimum (they run on the onnxruntime runtime; make demo installs no torch)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'transformers', 'optimum'):\n"
        "            raise ImportError(f'blocked: {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import guard_plugins.metrics, guard_plugins.eval, guard_plugins.eval.cli\n"
        "import guard_plugins.eval.redteam, guard_plugins.eval.suite, guard_plugins.eval.report\n"
        "import guard_plugins.demo, guard_plugins.synth.augment, guard_plugins.synth.public\n"
        "assert not any(m.split('.')[0] in ('torch', 'transformers', 'optimum') for m in sys.modules)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
