"""Per-token targets where the onset of harm is known, device/precision checks, time budget."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from guard_plugins.train import data as D  # noqa: E402
from guard_plugins.train.losses import streaming_loss  # noqa: E402
from guard_plugins.train.models import load_tokenizer, special_ids  # noqa: E402
from guard_plugins.train.trainer import TrainConfig, resolve_device, resolve_precision  # noqa: E402


def _rec(response: str, label: int, onset: int | None = None) -> dict:
    r = {"id": "x", "prompt": "tell me", "response": response, "label": label}
    if onset is not None:
        r["harm_onset"] = onset
    return r


def test_onset_becomes_the_first_harmful_token_and_targets_follow_it():
    tok = load_tokenizer(None)
    ids = special_ids(tok)
    pre = "Sure, here is a story about a quiet village by the sea."
    harm = "PLACEHOLDER harmful part withheld."
    resp = f"{pre} {harm}"
    ex = D.build_output_examples([_rec(resp, 1, len(pre) + 1), _rec(resp, 1), _rec(resp, 0)],
                                 tok, ids["cls_id"], ids["sep_id"])
    n_pre = len(tok.encode(pre, add_special_tokens=False).ids)
    assert ex[0].onset == n_pre and ex[1].onset == 0 and ex[2].onset == 0
    T = ex[0].n_response
    tgt = D.token_targets(ex, T)
    assert tgt[0, :n_pre].sum() == 0 and bool((tgt[0, n_pre:] == 1).all())
    assert bool((tgt[1] == 1).all()) and tgt[2].sum() == 0
    batch = D.collate_output(ex, ids["pad_id"])
    assert batch.targets is not None and torch.equal(batch.targets, tgt)
    # without any onset the batch carries no targets (plain label broadcast)
    assert D.collate_output(ex[1:], ids["pad_id"]).targets is None
    # truncation that cuts the harmful part off leaves nothing harmful to learn
    cut = D.build_output_examples([_rec(resp, 1, len(pre) + 1)], tok, ids["cls_id"], ids["sep_id"],
                                  max_response=3, full_fraction=0.0)
    assert cut[0].onset == cut[0].n_response == 3


def test_streaming_loss_with_targets():
    logits = torch.tensor([[-4.0, -4.0, 4.0, 4.0]])
    mask = torch.ones_like(logits)
    label = torch.tensor([1])
    onset = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    # a value function that stays low on the benign preamble is right under per-token targets
    # and wrong under the broadcast label
    assert streaming_loss(logits, mask, label, 0.5, targets=onset) < 0.05
    assert streaming_loss(logits, mask, label, 0.5) > 1.0
    # all-ones targets are the broadcast label
    ones = torch.ones_like(logits)
    assert torch.isclose(streaming_loss(logits, mask, label, 0.3, targets=ones),
                         streaming_loss(logits, mask, label, 0.3))


def test_device_and_precision_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    assert resolve_precision("auto", "cuda") == "bf16"
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no GPU"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device"):
        TrainConfig(kind="input", data=".", out=".", device="gpu")  # type: ignore[arg-type]


def test_time_budget_shortens_the_schedule_and_still_decays_the_lr(tmp_path):
    from test_train_e2e import train_tiny_base, train_write_dataset

    from guard_plugins.train.trainer import train
    data = train_write_dataset(tmp_path / "data", {"train": 2000, "dev": 40, "calib": 40},
                               {"train": 8, "dev": 8, "calib": 8})
    base = train_tiny_base(tmp_path / "tiny")
    cfg = TrainConfig(kind="input", data=data, out=tmp_path / "ck", base=base, epochs=20,
                      batch_size=8, quiet=True, threads=1, max_eval_items=40, save_every=0,
                      time_budget=0.05)  # 3 seconds for a 5,000-step plan
    meta = train(cfg)
    info = meta["train"]
    assert info["planned_steps"] == 5000
    assert 40 < info["steps"] < info["planned_steps"]
    # the warm-up shrank with the schedule (6 % of the steps run, not of the 5,000 planned)
    assert info["warmup_steps"] == max(1, int(cfg.warmup_frac * info["steps"])) < 300
    assert info["seconds"] < 30
    state = torch.load(tmp_path / "ck" / "state" / "trainer.pt", weights_only=False)
    assert state["step"] == info["steps"]
    assert state["scheduler"]["_last_lr"][0] == pytest.approx(0.0, abs=1e-12)
