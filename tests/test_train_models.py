"""guard-train: the causal value model (KV cache parity, causality), checkpoints, segments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from guard_plugins.runtime.windows import output_segments  # noqa: E402
from guard_plugins.train import data as D  # noqa: E402
from guard_plugins.train.models import (InputClassifier, StreamingValueModel, base_model_dir,  # noqa: E402
                                        load_tokenizer, read_meta, special_ids)


def train_tiny_base(tmp: Path) -> Path:
    """A 2-layer x 64 random-init BERT config + the real tokenizer (no weights)."""
    from transformers import BertConfig

    cfg = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=512)
    tmp.mkdir(parents=True, exist_ok=True)
    cfg.save_pretrained(str(tmp))
    load_tokenizer().save(str(tmp / "tokenizer.json"))
    return tmp


@pytest.fixture(scope="module")
def train_real_model() -> StreamingValueModel:
    torch.manual_seed(0)
    m = StreamingValueModel.from_base().eval()
    torch.nn.init.normal_(m.value_head.weight, std=0.5)  # make values vary
    return m


def test_incremental_kv_cache_equals_full_causal_pass(train_real_model: StreamingValueModel) -> None:
    m = train_real_model
    ids = torch.randint(1000, 8000, (1, 48))
    with torch.no_grad():
        full, none = m(ids)
        assert none is None
        first, past = m(ids[:, :20], use_cache=True)
        assert isinstance(past, tuple) and len(past) == m.config.num_hidden_layers
        k0, v0 = past[0]
        assert k0.shape == (1, m.config.num_attention_heads, 20,
                            m.config.hidden_size // m.config.num_attention_heads)
        steps = [first]
        t = 20
        for n in (1, 1, 5, 1, 20):  # single tokens and chunks, like streamed deltas
            out, past = m(ids[:, t:t + n], attention_mask=torch.ones(1, t + n),
                          position_ids=torch.arange(t, t + n).unsqueeze(0),
                          past_key_values=past, use_cache=True)
            steps.append(out)
            t += n
    inc = torch.cat(steps, dim=1)
    assert inc.shape == full.shape
    assert torch.allclose(full, inc, atol=1e-4), (full - inc).abs().max()


def test_value_model_is_causal_and_padding_safe(train_real_model: StreamingValueModel) -> None:
    m = train_real_model
    a = torch.randint(1000, 8000, (1, 30))
    b = a.clone()
    b[0, 20:] = torch.randint(1000, 8000, (10,))
    with torch.no_grad():
        la, _ = m(a)
        lb, _ = m(b)
        assert torch.allclose(la[0, :20], lb[0, :20], atol=1e-5)
        assert not torch.allclose(la[0, 20:], lb[0, 20:])
        batch = torch.cat([a, torch.zeros(1, 30, dtype=torch.long)])
        batch[1, :12] = a[0, :12]
        mask = torch.ones(2, 30)
        mask[1, 12:] = 0
        lbatch, _ = m(batch, attention_mask=mask)
        assert torch.allclose(lbatch[1, :12], la[0, :12], atol=1e-5)


def test_checkpoints_round_trip(tmp_path: Path) -> None:
    base = train_tiny_base(tmp_path / "tiny")
    m = StreamingValueModel.from_base(base).eval()
    m.save(tmp_path / "out", {"categories": ["a"]}, base)
    for f in ("config.json", "model.safetensors", "value_head.safetensors", "tokenizer.json",
              "guard_checkpoint.json"):
        assert (tmp_path / "out" / f).is_file(), f
    meta = read_meta(tmp_path / "out")
    assert meta["kind"] == "output" and meta["schema_version"] == 1
    assert json.loads((tmp_path / "out" / "config.json").read_text())["is_decoder"] is True
    m2 = StreamingValueModel.load(tmp_path / "out").eval()
    ids = torch.randint(1000, 8000, (2, 17))
    with torch.no_grad():
        assert torch.equal(m(ids)[0], m2(ids)[0])
    c = InputClassifier.build(["x", "y"], base)
    assert c.config.num_labels == 3 and c.config.problem_type == "multi_label_classification"
    InputClassifier.save(c, tmp_path / "in", {"categories": ["x", "y"]}, base)
    c2 = InputClassifier.load(tmp_path / "in")
    assert read_meta(tmp_path / "in")["kind"] == "input"
    with torch.no_grad():
        assert torch.equal(c.eval()(ids).logits, c2.eval()(ids).logits)


def test_tokenizer_has_no_truncation_and_base_exists() -> None:
    assert (base_model_dir() / "model.safetensors").is_file()
    tok = load_tokenizer()
    assert len(tok.encode("word " * 1000, add_special_tokens=False).ids) == 1000
    assert special_ids(tok) == {"cls_id": 101, "sep_id": 102, "pad_id": 0}


def test_output_collate_gathers_every_response_token_across_reprimes() -> None:
    prompt = list(range(1000, 1150))      # longer than the kept prompt tail
    resp = list(range(2000, 3100))        # > 512 positions: several passes
    segs = output_segments(prompt, resp, 101, 102)
    assert len(segs) >= 3
    ex = D.OutputExample([(s.input_ids, s.score_from) for s in segs], len(resp), 1, 0)
    batch = D.collate_output([ex], pad_id=0)
    assert batch.input_ids.shape[1] <= 512
    gathered = batch.input_ids[batch.gather_row[0], batch.gather_col[0]]
    assert gathered.tolist() == resp  # every response token scored exactly once, in order


def test_stratified_sample_respects_size_and_keeps_rare_strata() -> None:
    rows = [{"label": i % 2, "category": f"c{i % 40}", "source": "s", "kind": "k",
             "augmentations": [], "lookalike": False} for i in range(4000)]
    rows += [{"label": 1, "category": "rare", "source": "s", "kind": "k", "augmentations": ["b64"],
              "lookalike": False} for _ in range(5)]
    for n in (10, 300, 1000):
        got = D.stratified_sample(rows, n, seed=3)
        assert len(got) == n
    got = D.stratified_sample(rows, 1000, seed=3)
    assert sum(r["category"] == "rare" for r in got) == 5  # a rare stratum survives whole
    assert D.stratified_sample(rows, 1000, seed=3) == got  # deterministic


def test_bf16_autocast_computes_the_same_loss_and_gradients_as_fp32(
        train_real_model: StreamingValueModel) -> None:
    """The training precision switch changes the matmul dtype only: same function, fp32 weights."""
    from guard_plugins.train.losses import max_weight, streaming_loss
    from guard_plugins.train.trainer import bf16_supported, resolve_precision

    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("auto") == ("bf16" if bf16_supported() else "fp32")
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16")
    m = train_real_model
    torch.manual_seed(1)
    ids = torch.randint(1000, 8000, (2, 40))
    mask = torch.ones(2, 30)
    labels = torch.tensor([0.0, 1.0])
    results = {}
    for bf16 in (False, True):
        m.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            values, _ = m(ids, attention_mask=torch.ones_like(ids))
            loss = streaming_loss(values[:, 10:].float(), mask, labels, max_weight(0.5))
        loss.backward()
        g = m.value_head.weight.grad
        assert g.dtype == torch.float32 and m.value_head.weight.dtype == torch.float32
        results[bf16] = (float(loss.detach()), g.clone())
    m.zero_grad(set_to_none=True)
    (l32, g32), (l16, g16) = results[False], results[True]
    assert abs(l32 - l16) < 0.02 * abs(l32)
    assert torch.nn.functional.cosine_similarity(g32.flatten(), g16.flatten(), dim=0) > 0.99
