"""guard-export on tiny random checkpoints: graphs, int8, parity, manifest, model card, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from guard_plugins.errors import ExportError, ModelLoadError
from guard_plugins.runtime import InputGuard, OutputGuard, sha256_file

SECTION4_KEYS = {"schema_version", "kind", "name", "created", "files", "onnx", "tokenizer",
                 "windowing", "threshold", "categories", "category_titles", "constitution",
                 "training_data", "metrics", "parity"}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    from guard_plugins.export.devmodels import tiny_models

    return tiny_models(tmp_path_factory.getbasetemp() / "tiny_int8", "int8")


@pytest.fixture(scope="session")
def tiny_fp32(tmp_path_factory) -> Path:
    from guard_plugins.export.devmodels import tiny_models

    return tiny_models(tmp_path_factory.getbasetemp() / "tiny_fp32", "none")


@pytest.mark.parametrize("kind", ["input", "output"])
def test_manifest_schema(tiny, kind):
    folder = tiny / kind
    m = json.loads((folder / "manifest.json").read_text())
    assert set(m) == SECTION4_KEYS
    assert m["schema_version"] == 1 and m["kind"] == kind
    assert {"model.onnx", "tokenizer.json", "MODEL_CARD.md"} <= set(m["files"])
    for name, info in m["files"].items():
        p = folder / name
        assert info["bytes"] == p.stat().st_size and info["sha256"] == sha256_file(p)
    # inputs: dynamic int8; the streaming model: weight-only block-wise int8 (cache parity)
    expected = "int8-dynamic" if kind == "input" else "int8-blockwise-weight-only"
    assert m["onnx"]["file"] == "model.onnx" and m["onnx"]["quantization"].startswith(expected)
    assert {"cls_id", "sep_id", "pad_id", "lowercase", "file"} <= set(m["tokenizer"])
    assert m["tokenizer"]["lowercase"] is True
    assert m["constitution"]["hash"].startswith("sha256:")
    assert 0.0 <= m["threshold"] <= 1.0
    assert m["parity"]["passed"] is True and m["parity"]["fp32"]["max_abs_prob_diff"] <= 1e-4
    card = (folder / "MODEL_CARD.md").read_text()
    for section in ("Intended use", "Training data", "Metrics", "Threshold", "Limitations", "Parity"):
        assert section in card
    if kind == "input":
        from guard_plugins.constitution import load_constitution

        assert m["categories"] == [c.id for c in load_constitution().restricted]
        assert set(m["windowing"]) == {"input_window", "input_stride"}
    else:
        assert set(m["windowing"]) == {"output_max_len", "output_max_prompt", "output_carry"}
        assert m["parity"]["cache_vs_full_fp32"]["max_abs_token_prob_diff"] <= 1e-4


def test_input_graph_contract(tiny):
    s = ort.InferenceSession(str(tiny / "input" / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in s.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]
    ids = np.array([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    (logits,) = s.run(["logits"], {"input_ids": ids, "attention_mask": mask,
                                  "token_type_ids": np.zeros_like(ids)})
    m = json.loads((tiny / "input" / "manifest.json").read_text())
    assert logits.shape == (2, 1 + len(m["categories"]))


def test_input_folder_loads_in_optimum(tiny):
    from optimum.onnxruntime import ORTModelForSequenceClassification

    model = ORTModelForSequenceClassification.from_pretrained(str(tiny / "input"))
    assert model.config.num_labels == 1 + len(json.loads((tiny / "input" / "manifest.json").read_text())["categories"])


def test_streaming_graph_contract(tiny_fp32):
    """One graph: first pass (past 0), multi-token and single-token steps; cache == full pass."""
    m = json.loads((tiny_fp32 / "output" / "manifest.json").read_text())
    L, H, D = m["onnx"]["num_layers"], m["onnx"]["num_heads"], m["onnx"]["head_dim"]
    s = ort.InferenceSession(str(tiny_fp32 / "output" / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    assert names[:3] == ["input_ids", "position_ids", "attention_mask"]
    assert names[3:] == [f"past_key_values.{i}.{k}" for i in range(L) for k in ("key", "value")]
    assert [o.name for o in s.get_outputs()] == ["logits"] + [f"present.{i}.{k}" for i in range(L)
                                                              for k in ("key", "value")]

    def run(ids, start, past):
        feed = {"input_ids": np.array([ids], np.int64),
                "position_ids": np.arange(start, start + len(ids), dtype=np.int64)[None],
                "attention_mask": np.ones((1, start + len(ids)), np.int64), **dict(zip(names[3:], past))}
        out = s.run(None, feed)
        return out[0][0], out[1:]

    ids = list(np.random.RandomState(0).randint(1000, 20000, 40))
    empty = [np.zeros((1, H, 0, D), np.float32) for _ in range(2 * L)]
    full, present = run(ids, 0, empty)
    assert full.shape == (40,) and present[0].shape == (1, H, 40, D)
    _, past = run(ids[:10], 0, empty)
    chunk, past = run(ids[10:17], 10, past)
    steps = []
    for j in range(17, 40):
        v, past = run([ids[j]], j, past)
        steps.append(v[0])
    assert np.abs(np.concatenate([chunk, steps]) - full[10:]).max() < 1e-4


def test_int8_smaller_than_fp32(tiny, tiny_fp32):
    for kind in ("input", "output"):
        assert (tiny / kind / "model.onnx").stat().st_size < 0.5 * (tiny_fp32 / kind / "model.onnx").stat().st_size


def test_parity_fails_loudly_on_a_different_model(tiny_fp32, tmp_path):
    """The parity check compares against the torch model: a different model must fail it."""
    import torch

    from guard_plugins.export import parity
    from guard_plugins.export.devmodels import TINY_CONFIG
    from guard_plugins.train.models import InputClassifier, StreamingValueModel

    torch.manual_seed(123)
    ig = InputGuard.load(tiny_fp32 / "input", "cpu")
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps(TINY_CONFIG))
    other = InputClassifier.build(list(ig.categories), base).eval()
    data = parity.ParityData(["hello world", "another text"], None, "test")
    with pytest.raises(ExportError, match="parity failed"):
        parity.check_input(other, ig, None, data)
    og = OutputGuard.load(tiny_fp32 / "output", "cpu")
    other_out = StreamingValueModel.from_base(base).eval()
    torch.nn.init.normal_(other_out.value_head.weight, std=1.0)
    with pytest.raises(ExportError, match="parity failed"):
        parity.check_output(other_out, og, None, parity.ParityData([("p", "some reply")], None, "test"))


def test_parity_data_file_and_f1(tmp_path):
    from guard_plugins.export import parity

    p = tmp_path / "dev.jsonl"
    p.write_text('{"text": "a", "label": 1}\n\n{"text": "b", "label": 0}\n')
    d = parity.load_parity_data("input", p, {}, limit=0)
    assert d.items == ["a", "b"] and d.labels == [1, 0] and d.source == str(p)
    assert parity.f1([True, False, True], [1, 0, 0]) == pytest.approx(2 / 3)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\nnot json\n')
    from guard_plugins.errors import DataError
    with pytest.raises(DataError, match=":2:"):
        parity.load_parity_data("input", bad, {}, limit=0)


def test_cli(tiny, tmp_path, capsys):
    from guard_plugins.export.cli import main

    out = tmp_path / "exp"
    rc = main([str(tiny / "ckpt" / "input"), "--out", str(out), "--quantize", "none", "-q",
               "--skip-int8-parity"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "input" and report["parity"]["passed"]
    assert InputGuard.load(out, "cpu").check("hi").kind == "input"
    rc = main([str(tiny / "ckpt" / "input"), "--out", str(tiny / "ckpt"), "-q"])
    assert rc == 2 and "refusing" in capsys.readouterr().err  # never wipes a non-export folder
    rc = main([str(tmp_path / "missing"), "--out", str(tmp_path / "x"), "-q"])
    assert rc == 2 and "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])


def test_bad_checkpoint_metadata(tmp_path):
    from guard_plugins.export import export_checkpoint

    ck = tmp_path / "ck"
    ck.mkdir()
    with pytest.raises(ModelLoadError):
        export_checkpoint(ck, tmp_path / "out")
    (ck / "guard_checkpoint.json").write_text('{"schema_version": 1, "kind": "weird"}')
    with pytest.raises(ModelLoadError, match="kind"):
        export_checkpoint(ck, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_per_channel_int8(tiny_fp32, tmp_path):
    """The per-channel fallback quantization gives a loadable model close to fp32."""
    import shutil

    from guard_plugins.export.manifest import write_manifest
    from guard_plugins.export.quantize import quantize_int8

    dst = tmp_path / "pc"
    shutil.copytree(tiny_fp32 / "input", dst)
    quantize_int8(tiny_fp32 / "input" / "model.onnx", dst / "model.onnx", per_channel=True)
    m = json.loads((dst / "manifest.json").read_text())
    m["onnx"]["quantization"] = "int8-dynamic-per-channel"
    write_manifest(dst, m)
    ref, q = InputGuard.load(tiny_fp32 / "input", "cpu"), InputGuard.load(dst, "cpu")
    texts = ["hello world", "a longer prompt about the weather and the park", ""]
    for a, b in zip(ref.check_many(texts), q.check_many(texts)):
        assert abs(a.score - b.score) < 0.05
    assert (dst / "model.onnx").stat().st_size < (tiny_fp32 / "input" / "model.onnx").stat().st_size
