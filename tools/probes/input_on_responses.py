"""Probe (not a shipped path): AUPRC of the INPUT guard run on the response text of each unseen
response set (evaluation only), beside the output guard's numbers in the suite.

    python tools/probes/input_on_responses.py exported_models
"""
import json, sys, glob
import numpy as np
from guard_plugins.runtime import Guard
from guard_plugins import metrics as M
g = Guard.load(sys.argv[1], providers="cpu")
for f in sorted(glob.glob("../shared/data/unseen/responses/*/test.jsonl")):
    rows = [json.loads(l) for l in open(f)]
    y = np.array([r["label"] for r in rows])
    s = np.array([v.score for v in g.input.check_many([r["response"] or " " for r in rows])])
    print(f.split("/")[-2], "n", len(rows), "AUPRC input-on-response", round(M.average_precision(y, s), 3), "AUROC", round(M.roc_auc(y, s), 3))
