"""Weight-space interpolation of two input checkpoints that share an initialisation (WiSE-FT,
Wortsman et al. 2022): theta = (1 - alpha) * theta_A + alpha * theta_B, written as a base
folder for ``guard-train input --base``.

    python tools/soup/soup.py A_DIR B_DIR ALPHA OUT_DIR

A is typically the shipped release rebuilt as a checkpoint (tools/warmstart/), B a candidate
warm-started from it; both must have the same tensors and shapes (refused otherwise). Config
and tokenizer files are copied from B. The soup then needs its own threshold: calibrate it with
``guard-train input --data DATASET --base OUT_DIR --max-steps 1 --lr 0 --max-train-items 64``
(one step at learning rate 0 leaves the weights as they are; the trainer then calibrates on
the calib split and writes the dev report, as after any training).
"""
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

a_dir, b_dir, alpha, out = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
if not 0.0 <= alpha <= 1.0:
    sys.exit("ALPHA must be in [0, 1]")
a, b = load_file(str(a_dir / "model.safetensors")), load_file(str(b_dir / "model.safetensors"))
if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
    sys.exit("the checkpoints differ in tensors or shapes: not the same architecture")
out.mkdir(parents=True, exist_ok=True)
soup = {k: ((1 - alpha) * a[k].float() + alpha * b[k].float()).to(b[k].dtype)
        if b[k].is_floating_point() else b[k] for k in b}
save_file(soup, str(out / "model.safetensors"))
for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
    if (b_dir / f).is_file():
        shutil.copy(b_dir / f, out / f)
print(f"wrote {out}: {len(soup)} tensors, alpha {alpha}")
