"""Refit the input classifier's category rows on frozen features (a linear probe).

Why this exists: in the joint loss the category logits get a weak gradient (a 13-way one-hot
BCE averaged over classes, weight 0.5) through a freshly initialised head trained at the
encoder's small learning rate. In the first default run (1,058 steps, lr 5e-5) the harm logit
learned (dev AUPRC 0.96) but the category rows did not move apart (category accuracy 0.08, i.e.
chance over 13). The encoder's pooled features do separate categories, so the rows
``classifier.weight[1:]``, ``classifier.bias[1:]`` are refitted here with a multinomial
logistic regression on frozen pooled features of harmful training items with a restricted
category. Row 0 (the harm logit), the encoder and therefore every harm score and the
calibrated threshold are untouched. The runtime only takes the argmax of the category
logits, so softmax-fitted rows are what it needs.

    guard-train category-head --data data/default --ckpt checkpoints/input
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import DataError, ModelLoadError
from ..runtime.windows import INPUT_WINDOW
from . import data as D
from .models import InputClassifier, load_tokenizer, read_meta, special_ids


@torch.no_grad()
def _pooled(model: Any, tok: Any, texts: list[str], ids: dict[str, int], batch: int = 64) -> torch.Tensor:
    """Pooled features of each text's first window (padded like training batches)."""
    enc = D.encode_texts(tok, texts)
    examples = [D.InputExample([x[:INPUT_WINDOW]], 0, -1, i) for i, x in enumerate(enc)]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
    feats = torch.zeros(len(enc), model.config.hidden_size)
    for s in range(0, len(order), batch):
        b = order[s:s + batch]
        x = D.collate_input([examples[i] for i in b], ids["cls_id"], ids["sep_id"], ids["pad_id"])
        out = model.bert(input_ids=x.input_ids, attention_mask=x.attention_mask,
                         token_type_ids=torch.zeros_like(x.input_ids))
        feats[b] = out.pooler_output
    return feats


def fit_category_head(ckpt: str | Path, data_dir: str | Path, *, max_items: int = 8000,
                      steps: int = 400, weight_decay: float = 1e-3, seed: int = 0,
                      threads: int = 2) -> dict[str, Any]:
    """Refit category rows in place; returns (and records in the metadata) train/dev accuracy."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    t0 = time.time()
    ckpt = Path(ckpt)
    meta = read_meta(ckpt)
    cats: list[str] = list(meta.get("categories") or [])
    if not cats:
        raise DataError(f"{ckpt}: checkpoint has no restricted categories to fit")
    index = {c: i for i, c in enumerate(cats)}
    model = InputClassifier.load(ckpt).eval()
    if model.config.model_type != "bert":  # refits the BERT pooler's classifier
        raise ModelLoadError(f"{ckpt}: a {model.config.model_type!r} encoder; category-head "
                             "refits BERT input checkpoints only")
    tok = load_tokenizer(ckpt / "tokenizer.json")
    ids = special_ids(tok)

    def rows(split: str) -> list[dict]:
        return [r for r in D.load_split(data_dir, "input", split)
                if r["label"] == 1 and r.get("category") in index]

    train, dev = rows("train"), rows("dev")
    if not train:
        raise DataError(f"{data_dir}: no harmful training items with a restricted category")
    random.Random(seed).shuffle(train)
    train = train[:max_items]
    xtr = _pooled(model, tok, [r["text"] for r in train], ids)
    ytr = torch.tensor([index[r["category"]] for r in train])
    xdv = _pooled(model, tok, [r["text"] for r in dev], ids) if dev else None
    ydv = torch.tensor([index[r["category"]] for r in dev]) if dev else None

    head = torch.nn.Linear(xtr.shape[1], len(cats))
    opt = torch.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=weight_decay)
    for _ in range(steps):  # full-batch: a few thousand rows x 384 features
        opt.zero_grad()
        loss = F.cross_entropy(head(xtr), ytr)
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc_tr = float((head(xtr).argmax(1) == ytr).float().mean())
        acc_dv = float((head(xdv).argmax(1) == ydv).float().mean()) if xdv is not None else float("nan")
        cls = model.classifier
        cls.weight[1:] = head.weight
        cls.bias[1:] = head.bias
    info = {"method": "linear probe on frozen pooled features (softmax CE), rows 1.. of the classifier",
            "train_items": len(train), "dev_items": len(dev), "train_accuracy": round(acc_tr, 4),
            "dev_accuracy": round(acc_dv, 4), "steps": steps, "seconds": round(time.time() - t0, 1)}
    metrics = dict(meta.get("metrics") or {})
    metrics["category_accuracy_dev_all_harmful"] = info["dev_accuracy"]
    InputClassifier.save(model, ckpt, {**meta, "metrics": metrics, "category_head": info})
    return info
