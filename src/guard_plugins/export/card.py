"""``MODEL_CARD.md`` generated from the manifest."""

from __future__ import annotations

import json
from typing import Any

_USE = {
    "input": ("Scores prompts (plain text or OpenAI-style message lists, rendered by "
              "`guard_plugins.runtime.text.render_messages`) before they reach an LLM. Output: "
              "p(harmful) = max over windows of 254 tokens, and the restricted category of the "
              "highest window."),
    "output": ("Scores an LLM response token by token while it streams (causal classifier with "
               "a KV cache), as context `[CLS] prompt tail [SEP] response`. Output: running "
               "maximum of per-token p(harmful); once flagged a stream stays flagged, so a "
               "caller can halt generation early."),
}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        text = json.dumps(v, default=str)
        return "`" + (text if len(text) <= 200 else text[:197] + "...") + "`"
    return str(v)


def _flatten(d: dict[str, Any], prefix: str = "", depth: int = 3) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and depth > 1:
            rows += _flatten(v, key + ".", depth - 1)
        else:
            rows.append((key, v))
    return rows


def _table(d: dict[str, Any], max_rows: int = 80) -> list[str]:
    if not d:
        return ["(none recorded)"]
    rows = _flatten(d)
    lines = ["| key | value |", "|---|---|"]
    for k, v in rows[:max_rows]:
        lines.append(f"| {k} | {_fmt(v)} |")
    if len(rows) > max_rows:
        lines.append(f"| ... | {len(rows) - max_rows} more in manifest.json |")
    return lines


def model_card(manifest: dict[str, Any], *, untrained: bool = False) -> str:
    """Markdown model card: intended use, data and licences, metrics, thresholds, limits, parity."""
    kind = manifest["kind"]
    onnx = manifest["onnx"]
    const = manifest.get("constitution") or {}
    data = manifest.get("training_data") or {}
    out = [f"# {manifest['name']} ({kind} classifier)", ""]
    if untrained:
        out += ["> **Untrained development model.** Random classification head on the base "
                "encoder: scores are meaningless. For integration work only.", ""]
    out += ["## Intended use", "", _USE[kind], "",
            "Part of guard-plugins (Constitutional Classifiers as LLM middleware). Serve with "
            "`guard_plugins.runtime.Guard` (onnxruntime only). Not intended as the only "
            "safeguard of a deployment, nor for decisions about people.", "",
            "## Model", "",
            f"- Base: all-MiniLM-L6-v2 (BERT, {onnx.get('num_layers', '?')} layers, uncased), fine-tuned.",
            f"- ONNX opset {onnx.get('opset')}, quantization: {onnx.get('quantization')}.",
            f"- Graph inputs: {', '.join(onnx.get('inputs', []))[:400]}",
            f"- Graph outputs: {', '.join(onnx.get('outputs', []))[:400]}",
            f"- Windowing: `{json.dumps(manifest.get('windowing'))}`", "",
            "## Constitution", "",
            f"- {const.get('name', '?')} v{const.get('version', '?')}, hash `{const.get('hash', '?')}`",
            ]
    cats = manifest.get("categories") or []
    titles = manifest.get("category_titles") or {}
    if cats:
        out += ["- Restricted categories: " + ", ".join(f"`{c}` ({titles.get(c, c)})" for c in cats)]
    out += ["", "## Training data and licences", ""]
    out += _table({k: v for k, v in data.items() if k != "path"})
    out += ["", "## Threshold", "",
            f"Flagged when score >= **{manifest['threshold']:.4g}** (calibrated on the calibration "
            "split for the target false-positive rate recorded below). Callers may override it; "
            "per-category overrides apply to the input model.", "", "## Metrics (dev split)", ""]
    out += _table(manifest.get("metrics") or {})
    out += ["", "## Parity (export checks)", ""]
    out += _table(manifest.get("parity") or {})
    out += ["", "## Limitations", "",
            "- Small English-centric encoder: non-English text, heavy obfuscation (encodings, "
            "ciphers, leetspeak) and novel jailbreak styles are weaker spots.",
            "- Trained on a real-data-led mix (public sets written by people and real LLMs, "
            "plus synthetic data from the constitution); it reflects that constitution's "
            "categories and those sets' label policies, not a universal harm taxonomy.",
            "- Scores are probabilities calibrated only at the shipped threshold.",
            "- int8 scores differ slightly from fp32 and vary by ~1e-3 with batch composition "
            "(dynamic activation quantization); verdict agreement is checked at export.",
            "- Long content is windowed; context beyond a window is not seen jointly.", ""]
    return "\n".join(out)
