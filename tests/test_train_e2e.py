"""guard-train end to end on a tiny synthetic dataset with a tiny random-init BERT.

Proves the code path CI can afford: training learns (dev F1 well above chance), thresholds are
calibrated, checkpoints and reports are written and reload, resume works, windowing catches a
harmful sentence after 3,000 benign tokens, and the CLI reports bad input cleanly.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guard_plugins.synth.schema import write_jsonl  # noqa: E402
from guard_plugins.train import data as D  # noqa: E402
from guard_plugins.train.cli import main as train_cli  # noqa: E402
from guard_plugins.train.models import (InputClassifier, StreamingValueModel, load_tokenizer,  # noqa: E402
                                        read_meta, special_ids)
from guard_plugins.train.trainer import (TrainConfig, score_input_examples,  # noqa: E402
                                         score_output_examples, train)

# Harmful markers are abstract placeholders: the fixture never contains real harmful detail.
TRAIN_HARM = {"violent_crimes": ["ambush", "assault", "kidnap"],
              "cyber_attacks": ["ransomware", "botnet", "keylogger"]}
TRAIN_BENIGN = ["bread", "garden", "piano", "river", "poem", "budget", "travel", "chess", "soup",
                "bicycle", "painting", "weather", "history", "physics", "knitting", "coffee"]
TRAIN_FILLER = ("the", "a", "please", "explain", "how", "to", "plan", "my", "for", "with",
                "about", "some", "good", "simple", "today", "guide")


def train_words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(TRAIN_FILLER) for _ in range(n)]


def train_input_record(rng: random.Random, i: int, harmful: bool, long: bool = False) -> dict:
    words = train_words(rng, rng.randint(4, 12))
    cat = None
    if harmful:
        cat = rng.choice(list(TRAIN_HARM))
        words.insert(rng.randrange(len(words) + 1), rng.choice(TRAIN_HARM[cat]) + " [REDACTED]")
    else:
        words.insert(rng.randrange(len(words) + 1), rng.choice(TRAIN_BENIGN))
    if long:  # the marker hidden deep inside benign text: only windowing sees it
        pad = train_words(rng, rng.randint(260, 400)) + [rng.choice(TRAIN_BENIGN)]
        words = pad + words
    return {"id": f"in{i}", "text": " ".join(words), "label": int(harmful), "category": cat,
            "source": rng.choice(["synthetic/offline", "public/fixture"]),
            "kind": "long" if long else "plain",
            "augmentations": ["long_context"] if long else [], "lookalike": False,
            "license": "Apache-2.0"}


def train_output_record(rng: random.Random, i: int, harmful: bool) -> dict:
    opening = "sure , here is"  # the same compliant opening for both labels
    body = train_words(rng, rng.randint(4, 16))
    if harmful:
        cat = rng.choice(list(TRAIN_HARM))
        body.insert(rng.randrange(1, len(body)), f"step 1 {rng.choice(TRAIN_HARM[cat])} <step withheld>")
    else:
        cat = None
        body.insert(rng.randrange(1, len(body)), rng.choice(TRAIN_BENIGN))
    return {"id": f"out{i}", "prompt": " ".join(train_words(rng, 8)),
            "response": opening + " " + " ".join(body), "label": int(harmful), "category": cat,
            "source": "synthetic/offline", "kind": "compliant" if harmful else "benign",
            "augmentations": [], "license": "Apache-2.0"}


def train_write_dataset(root: Path, n_in: dict[str, int], n_out: dict[str, int]) -> Path:
    rng = random.Random(1234)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in n_in.items():
        rows = [train_input_record(rng, k, k % 2 == 0, long=(k % 10 == 3))
                for k in range(n)]
        write_jsonl(root / f"inputs.{split}.jsonl", rows, kind="input")
    for split, n in n_out.items():
        rows = [train_output_record(rng, k, k % 2 == 0) for k in range(n)]
        write_jsonl(root / f"outputs.{split}.jsonl", rows, kind="output")
    (root / "dataset_card.json").write_text(json.dumps({"name": "train-fixture", "seed": 1234}))
    return root


def train_tiny_base(tmp: Path) -> Path:
    from transformers import BertConfig

    cfg = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=512)
    tmp.mkdir(parents=True, exist_ok=True)
    cfg.save_pretrained(str(tmp))
    load_tokenizer().save(str(tmp / "tokenizer.json"))
    return tmp


@pytest.fixture(scope="module")
def train_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("train")
    data = train_write_dataset(root / "data", {"train": 320, "dev": 100, "calib": 100},
                               {"train": 240, "dev": 80, "calib": 80})
    return {"root": root, "data": data, "base": train_tiny_base(root / "tiny")}


@pytest.fixture(scope="module")
def train_input_ckpt(train_env: dict[str, Path]) -> Path:
    torch.manual_seed(0)
    out = train_env["root"] / "ckpt_in"
    cfg = TrainConfig(kind="input", data=train_env["data"], out=out, base=train_env["base"],
                      epochs=4, batch_size=16, lr=2e-3, quiet=True, save_every=20, warmup_frac=0.1, threads=1,
                      max_eval_items=None, target_fpr=0.05)
    train(cfg)
    return out


@pytest.fixture(scope="module")
def train_output_ckpt(train_env: dict[str, Path]) -> Path:
    out = train_env["root"] / "ckpt_out"
    cfg = TrainConfig(kind="output", data=train_env["data"], out=out, base=train_env["base"],
                      epochs=10, batch_size=16, lr=2e-3, quiet=True, warmup_frac=0.1, threads=1,
                      max_eval_items=None, target_fpr=0.05)
    train(cfg)
    return out


def test_input_training_learns_and_writes_checkpoint(train_input_ckpt: Path) -> None:
    meta = read_meta(train_input_ckpt)
    rep = json.loads((train_input_ckpt / "dev_report.json").read_text())
    assert meta["kind"] == "input" and meta["categories"][:1] and "violent_crimes" in meta["categories"]
    assert rep["overall"]["f1"] >= 0.8, rep["overall"]        # chance is ~0.5
    assert meta["achieved"]["fpr"] <= 0.05
    assert 0.0 < meta["threshold"] <= 1.0
    assert meta["windowing"] == {"input_window": 254, "input_stride": 192}
    assert meta["constitution"]["hash"].startswith("sha256:")
    assert {"category", "source", "augmentation", "kind"} <= set(rep["breakdowns"])
    assert "long_context" in rep["breakdowns"]["augmentation"]
    assert 0.0 <= rep["category_accuracy"] <= 1.0
    assert (train_input_ckpt / "DEV_REPORT.md").read_text().startswith("# Dev report")
    assert (train_input_ckpt / "state" / "trainer.pt").is_file()
    # the checkpoint reloads to the very scores the report was computed with
    m = InputClassifier.load(train_input_ckpt)
    assert m.config.num_labels == 1 + len(meta["categories"])


def test_windowing_catches_harmful_sentence_after_3000_benign_tokens(
        train_input_ckpt: Path) -> None:
    tok = load_tokenizer(train_input_ckpt)
    ids = special_ids(tok)
    meta = read_meta(train_input_ckpt)
    model = InputClassifier.load(train_input_ckpt)
    rng = random.Random(7)
    benign = " ".join(train_words(rng, 3000))
    harmful = "please explain the ransomware [REDACTED] plan"
    recs = [{"text": benign + " " + harmful, "label": 1, "category": "cyber_attacks"},
            {"text": benign + " bread", "label": 0, "category": None},
            {"text": harmful, "label": 1, "category": "cyber_attacks"}]
    ex = D.build_input_examples(recs, tok, meta["categories"])
    assert sum(len(w) for w in ex[0].windows[:1]) < len(tok.encode(recs[0]["text"]).ids)
    assert len(ex[0].windows) > 10
    p, cats = score_input_examples(model, ex, ids)
    thr = meta["threshold"]
    assert p[2] >= thr                  # the short harmful prompt is flagged
    assert p[0] >= thr, p               # ...and still flagged after 3,000 benign tokens
    assert p[1] < thr, p                # the benign long text is not
    # only the first window (what a truncating guard would score) misses it
    first_only = D.InputExample(ex[0].windows[:1], 1, -1, 0)
    p_first, _ = score_input_examples(model, [first_only], ids)
    assert p_first[0] < thr
    assert 0 <= cats[0] < len(meta["categories"])


def test_output_training_learns_streaming_rule(train_output_ckpt: Path,
                                               train_env: dict[str, Path]) -> None:
    meta = read_meta(train_output_ckpt)
    rep = json.loads((train_output_ckpt / "dev_report.json").read_text())
    assert meta["kind"] == "output"
    assert (train_output_ckpt / "value_head.safetensors").is_file()
    assert rep["streaming"]["f1"] >= 0.75, rep["streaming"]   # chance ~0.5
    assert meta["achieved"]["fpr"] <= 0.05
    assert rep["halt"]["flagged"]["n"] > 0 and 0 < rep["halt"]["flagged"]["median"] <= 1
    assert "f1" in rep["whole_response"]
    assert meta["windowing"] == {"output_max_len": 512, "output_max_prompt": 96, "output_carry": 192}
    # reloaded model + calibrated threshold: benign responses sharing the harmful ones'
    # compliant opening are not flagged by their first tokens
    model = StreamingValueModel.load(train_output_ckpt)
    tok = load_tokenizer(train_output_ckpt)
    ids = special_ids(tok)
    rows = D.load_split(train_env["data"], "output", "dev")
    ex = D.build_output_examples(rows, tok, ids["cls_id"], ids["sep_id"])
    vals = score_output_examples(model, ex, ids["pad_id"])
    opening = len(tok.encode("sure , here is", add_special_tokens=False).ids)
    early = np.mean([bool((v[:opening] >= meta["threshold"]).any())
                     for v, r in zip(vals, rows) if r["label"] == 0])
    assert early <= 0.1
    s = np.array([v.max() for v in vals])
    y = np.array([r["label"] for r in rows])
    assert (s[y == 1] >= meta["threshold"]).mean() >= 0.7


def test_resume_continues_from_saved_state(train_env: dict[str, Path]) -> None:
    out = train_env["root"] / "ckpt_resume"
    common = dict(kind="input", data=train_env["data"], out=out, base=train_env["base"],
                  batch_size=32, lr=1e-3, quiet=True, save_every=3, max_eval_items=40, threads=1,
                  max_train_items=96, epochs=3)
    train(TrainConfig(**common, max_steps=3))
    st = json.loads((out / "state" / "progress.json").read_text())
    assert st == {"step": 3, "total": 3}
    meta = train(TrainConfig(**common, max_steps=6, resume=True))
    assert meta["train"]["resumed_from"] == 3 and meta["train"]["steps"] == 6


def test_cli_help_and_bad_data_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        train_cli(["--help"])
    assert e.value.code == 0
    assert "--target-fpr" in capsys.readouterr().out
    rc = train_cli(["input", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"),
                    "--quiet"])
    assert rc == 2
    assert "data folder not found" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "inputs.train.jsonl").write_text('{"id": "x", "text": "hi", "label": 3}\n')
    rc = train_cli(["input", "--data", str(bad), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "inputs.train.jsonl:1" in err


def train_tiny_mpnet_base(tmp: Path) -> Path:
    """A 2-layer x 64 random-init MPNet config + an MPNet-style tokenizer (<s> </s> <pad>)."""
    from transformers import MPNetConfig

    tmp.mkdir(parents=True, exist_ok=True)
    spec = load_tokenizer().to_str()
    for bert, mp in (("[CLS]", "<s>"), ("[SEP]", "</s>"), ("[PAD]", "<pad>")):
        spec = spec.replace(f'"{bert}"', f'"{mp}"')
    (tmp / "tokenizer.json").write_text(spec)
    MPNetConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=128, max_position_embeddings=514, pad_token_id=0).save_pretrained(str(tmp))
    return tmp


def test_input_training_takes_another_encoder_as_base(train_env: dict[str, Path]) -> None:
    """--base may be a non-BERT encoder (the backbone measurement trains all-mpnet-base-v2):
    MPNet has no token_type_ids and names its special tokens <s> </s> <pad>."""
    base = train_tiny_mpnet_base(train_env["root"] / "tiny_mpnet")
    tok = load_tokenizer(base)
    assert special_ids(tok) == {"cls_id": 101, "sep_id": 102, "pad_id": 0}
    assert tok.token_to_id("[CLS]") is None
    torch.manual_seed(0)
    out = train_env["root"] / "ckpt_in_mpnet"
    cfg = TrainConfig(kind="input", data=train_env["data"], out=out, base=base, epochs=4,
                      batch_size=16, lr=2e-3, quiet=True, warmup_frac=0.1, threads=1,
                      max_eval_items=None, target_fpr=0.05)
    train(cfg)
    rep = json.loads((out / "dev_report.json").read_text())
    assert rep["overall"]["f1"] >= 0.8, rep["overall"]        # chance is ~0.5
    m = InputClassifier.load(out)
    assert m.config.model_type == "mpnet"
    assert read_meta(out)["base"] == str(base)
    # category-head and export (the runtime) take BERT only: a clear error, nothing written
    from guard_plugins.errors import ExportError, ModelLoadError
    from guard_plugins.train.category_head import fit_category_head

    with pytest.raises(ModelLoadError, match="'mpnet' encoder; category-head"):
        fit_category_head(out, train_env["data"])
    pytest.importorskip("onnx")
    from guard_plugins.export.pipeline import export_checkpoint

    with pytest.raises(ExportError, match="'mpnet' encoder.*BERT checkpoints only"):
        export_checkpoint(out, train_env["root"] / "mpnet_export")
    assert not (train_env["root"] / "mpnet_export").exists()
