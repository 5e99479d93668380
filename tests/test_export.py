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
    """Default (shared-cache) graph: one pre-allocated buffer bound as past and present and
    updated in place; first pass, multi-token and single-token steps; cache == full pass."""
    m = json.loads((tiny_fp32 / "output" / "manifest.json").read_text())
    assert m["onnx"]["exporter"] == "fused-gqa" and m["onnx"]["kv_cache"] == "shared"
    L, H, D = m["onnx"]["num_layers"], m["onnx"]["num_heads"], m["onnx"]["head_dim"]
    cap = m["windowing"]["output_max_len"]
    s = ort.InferenceSession(str(tiny_fp32 / "output" / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    assert names[:4] == ["input_ids", "position_ids", "seqlens_k", "total_sequence_length"]
    kv = [f"{i}.{k}" for i in range(L) for k in ("key", "value")]
    assert names[4:] == [f"past_key_values.{n}" for n in kv]
    assert [o.name for o in s.get_outputs()] == ["logits"] + [f"present.{n}" for n in kv]

    arrays = [np.zeros((1, H, cap, D), np.float32) for _ in kv]
    values = [ort.OrtValue.ortvalue_from_numpy(a) for a in arrays]

    def run(ids, start):
        b = s.io_binding()
        b.bind_output("logits")
        for n, v in zip(kv, values):
            b.bind_ortvalue_input(f"past_key_values.{n}", v)
            b.bind_ortvalue_output(f"present.{n}", v)
        b.bind_cpu_input("input_ids", np.array([ids], np.int64))
        b.bind_cpu_input("position_ids", np.arange(start, start + len(ids), dtype=np.int64)[None])
        b.bind_cpu_input("seqlens_k", np.array([start + len(ids) - 1], np.int32))
        b.bind_cpu_input("total_sequence_length", np.array(start + len(ids), np.int32))
        s.run_with_iobinding(b)
        return b.get_outputs()[0].numpy()[0]

    ids = list(np.random.RandomState(0).randint(1000, 20000, 40))
    full = run(ids, 0)
    assert full.shape == (40,)
    keys0 = arrays[0][0, :, :40].copy()
    assert np.abs(keys0).sum() > 0 and not arrays[0][0, :, 40:].any()  # written in place
    run(ids[:10], 0)                       # the same buffer, re-used from position 0
    chunk = run(ids[10:17], 10)
    steps = [run([ids[j]], j)[0] for j in range(17, 40)]
    assert np.abs(np.concatenate([chunk, steps]) - full[10:]).max() < 1e-4
    assert np.abs(arrays[0][0, :, :40] - keys0).max() < 1e-4


def test_mha_streaming_graph_still_served(tmp_path):
    """``--streaming-graph fused-mha`` (growing past -> present cache, the pre-0.3 layout):
    the runtime serves it and agrees with the default shared-cache graph."""
    from guard_plugins.export.devmodels import make_checkpoints, tiny_base
    from guard_plugins.export.pipeline import ExportOptions, export_checkpoint

    ck = make_checkpoints(tmp_path / "ck", tiny_base(tmp_path / "base"))["output"]
    outs = {}
    for graph in ("fused", "fused-mha"):
        m = export_checkpoint(ck, tmp_path / graph, ExportOptions(quantize="none", streaming_graph=graph,
                                                                  untrained=True))
        assert m["parity"]["passed"]
        outs[graph] = OutputGuard.load(tmp_path / graph)
    assert outs["fused"].shared_cache and not outs["fused-mha"].shared_cache
    names = [i.name for i in outs["fused-mha"]._session.get_inputs()]
    assert names[:3] == ["input_ids", "position_ids", "attention_mask"]
    text = "Paris is the capital of France. " * 100  # > 512 positions: re-primes too
    final, whole = {}, {}
    for graph, g in outs.items():
        s = g.stream("question")
        for k in range(0, len(text), 7):
            s.feed(text[k:k + 7])
        v = s.finish()
        assert any("re-primed" in n for n in v.notes)
        final[graph], whole[graph] = v.score, g.check("question", text).score
    assert abs(final["fused"] - final["fused-mha"]) < 1e-5
    assert abs(whole["fused"] - whole["fused-mha"]) < 1e-5


def test_shared_cache_run_errors(tiny):
    """The in-place cache refuses what it cannot serve, with a clear error."""
    from guard_plugins.errors import InputError

    g = OutputGuard.load(tiny / "output")
    assert g.shared_cache
    with pytest.raises(InputError, match="in place"):
        g.run([1000], 0, [np.zeros((1, g.num_heads, 0, g.head_dim), np.float32)])
    with pytest.raises(InputError, match="exceed the cache"):
        g.run([1000] * (g.max_len + 1), 0, g.empty_past())
    with pytest.raises(InputError, match="at least one token"):
        g.run([], 0, g.empty_past())
    cache = g.empty_past()
    a, _ = g.run([1000, 1001, 1002], 0, cache)
    b, same = g.run([1003], 3, cache)
    assert same is cache and a.shape == (3,) and b.shape == (1,)


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


# ------------------------------------------------------------------ model cards (export/card.py)
SHIPPED = Path(__file__).resolve().parents[1] / "exported_models"


def test_licence_flags_name_the_reason():
    from guard_plugins.export.card import licence_flags

    assert licence_flags(["MIT"]) == [] and licence_flags(["Apache-2.0", "CC-BY-4.0"]) == []
    assert licence_flags(["CC-BY-NC-4.0"]) == ["non-commercial"]
    assert licence_flags(["GPL-3.0"]) == ["copyleft"]
    assert licence_flags(["CC-BY-SA-3.0"]) == ["share-alike"]
    assert licence_flags(["no licence file (all rights reserved)"]) == ["no licence"]
    assert licence_flags(["see repo"]) == ["unclear licence"]
    assert licence_flags(["MIT", "GPL-3.0", "CC-BY-NC-4.0"]) == ["non-commercial", "copyleft"]


@pytest.mark.parametrize("kind", ["input", "output"])
def test_card_lists_every_training_source_with_licence_and_flag(kind):
    from guard_plugins.export.card import licence_flags, model_card

    m = json.loads((SHIPPED / kind / "manifest.json").read_text())
    card = model_card(m)
    assert "more in manifest.json" not in card  # no truncated key/value dump
    mix = m["training_data"]["params"]["real_mix"]["train_mix"]["inputs" if kind == "input" else "outputs"]
    rows = {line.split(" | ")[0].lstrip("| ").strip("`"): line for line in card.splitlines()
            if line.startswith("| `")}
    shares = 0.0
    for src, counts in mix["per_source"].items():
        row = rows[src.removeprefix("public/")]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2:4] == [f"{counts['0']:,}", f"{counts['1']:,}"], row
        shares += float(cells[4].rstrip(" %"))
        lic = m["training_data"]["licences"][src.replace(" (augmented)", "")]
        assert cells[5] == "; ".join(lic)
        assert cells[6] == ", ".join(f"**{f}**" for f in licence_flags(lic))
    assert abs(shares - 100.0) < 0.1 * len(mix["per_source"])
    # every source the dataset card counts as restricting use is flagged, and named in the summary
    for src in m["training_data"]["restricted_licences"]:
        if src in mix["per_source"]:
            assert rows[src.removeprefix("public/")].rstrip(" |").endswith("**")
            assert f"`{src.removeprefix('public/')}` (" in card


def test_card_results_tables_from_a_suite_run():
    from guard_plugins.export.card import model_card

    m = json.loads((SHIPPED / "output" / "manifest.json").read_text())
    results = {"command": "cmd", "models": "x", "seconds": 1.0, "machine": "m", "rows": [
        {"set": "new_source", "kind": "output", "group": "unseen", "n": 10, "n_pos": 4, "n_neg": 6,
         "stream_f1": 0.5, "stream_recall": 0.25, "stream_fpr": 0.0, "auprc": 0.7, "median_halt": 0.1},
        {"set": "old_source", "kind": "output", "group": "realworld", "n": 5, "n_pos": 5, "n_neg": 0,
         "stream_f1": 1.0, "stream_recall": 0.8, "stream_fpr": None, "auprc": 1.0, "median_halt": 0.2},
        {"set": "a prompt set", "kind": "input", "group": "realworld", "n": 3, "n_pos": 1, "n_neg": 2}]}
    card = model_card(m, results=results)
    assert card.index("### Unseen") < card.index("### Real-world dev sets")  # unseen first
    assert "| new_source | 10 | 4 | 0.500 | 0.250 | 0.0 % | 0.700 | 10.0 % |" in card
    assert "| old_source | 5 | 5 | n/a | 0.800 | n/a | n/a | 20.0 % |" in card  # one class
    assert "a prompt set" not in card  # rows of the other model are not shown


def test_regenerate_keeps_release_notes_and_only_the_card_entry(tmp_path):
    import shutil

    from guard_plugins.export.card import RELEASE_NOTES, regenerate

    folder = tmp_path / "input"
    shutil.copytree(SHIPPED / "input", folder)
    before = json.loads((folder / "manifest.json").read_text())
    old = (folder / "MODEL_CARD.md").read_text()
    notes = old[old.index(RELEASE_NOTES):]
    entry = regenerate(folder)
    new = (folder / "MODEL_CARD.md").read_text()
    assert new.endswith(notes) and new.count(RELEASE_NOTES) == 1
    after = json.loads((folder / "manifest.json").read_text())
    assert after["files"]["MODEL_CARD.md"] == entry
    after["files"]["MODEL_CARD.md"] = before["files"]["MODEL_CARD.md"]
    assert after == before  # nothing else in the manifest moved
    assert regenerate(folder) == entry  # idempotent
    InputGuard.load(folder, "cpu")  # sha256 of every file verified
    (folder / "MODEL_CARD.md").write_text(new + "tampered")
    with pytest.raises(ModelLoadError):
        InputGuard.load(folder, "cpu")


def test_card_per_language_table():
    from guard_plugins.export.card import model_card

    m = json.loads((SHIPPED / "input" / "manifest.json").read_text())
    results = {"rows": [{"set": "s", "kind": "input", "group": "unseen", "n": 2, "n_pos": 1,
                         "n_neg": 1, "recall": 1.0, "fpr": 0.0},
                        {"set": "r", "kind": "output", "group": "unseen", "n": 2, "n_pos": 1,
                         "n_neg": 1, "stream_recall": 1.0, "stream_fpr": 0.0}],
               "languages": {
                   "benign": {"pooled": {"n": 30, "fpr": 0.5},
                              "languages": [{"lang": "de", "n": 10, "fpr": 0.1},
                                            {"lang": "bn", "n": 20, "fpr": 0.7,
                                             "top_category": {"category": "jailbreak_extraction", "n": 14}}]},
                   "recall": {"sets": {"multijail": {}}, "pooled": {"n": 5, "n_pos": 5, "recall": 0.8},
                              "languages": {"bn": {"n": 5, "n_pos": 5, "recall": 0.8}}},
                   "twins": {"method": "numbers", "groups": 4, "any_flagged": 3, "all_flagged": 1}}}
    card = model_card(m, results=results)
    assert "| bn | 20 | 70.0 % (mostly `jailbreak_extraction`) | 5 | 0.800 |" in card
    assert "| de | 10 | 10.0 % |  |  |" in card  # recall not measured for German
    assert card.index("| bn |") < card.index("| de |")  # worst FPR first
    assert "| **all** | 30 | 50.0 % | 5 | 0.800 |" in card
    assert "3 of 4 twin groups have a flagged member" in card
    out_card = model_card(json.loads((SHIPPED / "output" / "manifest.json").read_text()),
                          results=results)
    assert "| r | 2 | 1 |" in out_card and "### Per language" not in out_card  # input-only part


def test_card_results_from_several_suite_runs() -> None:
    """An unseen/languages run and a real-world run make one results section (unseen first)."""
    from guard_plugins.export.card import merge_results

    unseen = {"command": "suite --sections unseen,languages", "seconds": 10, "models": "m",
              "rows": [{"set": "u", "kind": "input", "group": "unseen"}], "languages": {"x": 1},
              "notes": ["a"]}
    real = {"command": "suite", "seconds": 5, "rows": [{"set": "r", "kind": "input", "group": "realworld"}],
            "notes": ["b"]}
    m = merge_results([unseen, real])
    assert [r["set"] for r in m["rows"]] == ["u", "r"] and m["languages"] == {"x": 1}
    assert m["seconds"] == 15 and m["notes"] == ["a", "b"] and "sections unseen" in m["command"]
    with pytest.raises(ValueError):
        merge_results([])
