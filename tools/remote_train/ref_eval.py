"""On the device: torch scores of the streaming output model and of the bidirectional
reference classifier (same data, same budget) on the realworld response dev sets.

python3 .devwork/ref_eval.py CK_OUTPUT CK_REF RW_DIR OUT_JSON
Streaming model: max over response tokens (the halt rule); reference: max over windows of
p(harmful) of the response text. Each at its own calibrated threshold; AUPRC is threshold-free.
"""
import json, sys
from pathlib import Path
import numpy as np
import torch
from guard_plugins import metrics as M
from guard_plugins.train import data as D
from guard_plugins.train.models import InputClassifier, StreamingValueModel, load_tokenizer, special_ids, read_meta
from guard_plugins.train.trainer import score_input_examples, score_output_examples

ck_out, ck_ref, rw, out = map(Path, sys.argv[1:5])
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
tok = load_tokenizer(ck_out)
ids = special_ids(tok)
so = StreamingValueModel.load(ck_out).to(dev).eval()
t_out = read_meta(ck_out)["threshold"]
ref = InputClassifier.load(ck_ref).to(dev).eval() if (ck_ref / "config.json").is_file() else None
t_ref = read_meta(ck_ref)["threshold"] if ref is not None else None
rows_all = {}
for f in sorted(rw.glob("*.jsonl")):
    rows = [json.loads(l) for l in f.open() if l.strip()]
    rows_all[f.stem] = rows
res = {}
pooled = {"y": [], "s_out": [], "s_ref": []}
for name, rows in rows_all.items():
    y = np.array([r["label"] for r in rows])
    ex = D.build_output_examples([{"prompt": r.get("prompt") or "", "response": r["response"], "label": r["label"]} for r in rows],
                                 tok, ids["cls_id"], ids["sep_id"], max_response=None)
    s_out = np.array([v.max() for v in score_output_examples(so, ex, ids["pad_id"])])
    entry = {"n": len(rows), "n_pos": int(y.sum()), "streaming": M.json_safe(M.binary_report(y, s_out, t_out))}
    if ref is not None:
        iex = D.build_input_examples([{"text": r["response"], "label": r["label"]} for r in rows], tok, [])
        s_ref, _ = score_input_examples(ref, iex, ids)
        entry["reference"] = M.json_safe(M.binary_report(y, s_ref, t_ref))
    res[name] = entry
    english = [r.get("language") in (None, "en") for r in rows]
    pooled["y"] += list(y[english]); pooled["s_out"] += list(s_out[english])
    if ref is not None:
        pooled["s_ref"] += list(s_ref[english])
    print(name, entry["streaming"]["f1"], entry.get("reference", {}).get("f1"), flush=True)
y = np.array(pooled["y"])
res["pooled_english"] = {"n": len(y), "streaming": M.json_safe(M.binary_report(y, np.array(pooled["s_out"]), t_out))}
if ref is not None:
    res["pooled_english"]["reference"] = M.json_safe(M.binary_report(y, np.array(pooled["s_ref"]), t_ref))
res["thresholds"] = {"streaming": t_out, "reference": t_ref}
out.write_text(json.dumps(res, indent=1))
print("pooled", res["pooled_english"]["streaming"]["f1"], res["pooled_english"].get("reference", {}).get("f1"))
