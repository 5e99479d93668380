"""Rebuild full fp32 checkpoint folders from a device run's files.

python .devwork/reconstruct.py FILES_DIR OUT_DIR  -> OUT_DIR/{input,output}/ checkpoint folders
The word embeddings were frozen at the dequantized int8 base rows (.devwork/base16/emb_int8),
so they are rebuilt from the same file; every other tensor comes back as fp16.
"""
import sys, tarfile
from pathlib import Path
from safetensors.torch import load_file, save_file

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
with tarfile.open(src / "ckpts.tar.gz") as tf:
    tf.extractall(out)
e = load_file(".devwork/base16/emb_int8.safetensors")
emb = (e["q"].float() * e["scale"]).contiguous()
for kind in ("input", "output"):
    parts = sorted(src.glob(f"{kind}_w*.safetensors"))
    if not parts:
        print(f"{kind}: no weights"); continue
    sd = {}
    for p in parts:
        sd.update({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in load_file(str(p)).items()})
    ck = out / f"ck_{kind}"
    names = [k for k in sd if "embeddings.position_embeddings" in k]
    prefix = names[0].split("embeddings.position_embeddings")[0]
    sd[prefix + "embeddings.word_embeddings.weight"] = emb
    save_file(sd, str(ck / "model.safetensors"), metadata={"format": "pt"})
    print(kind, len(sd), "tensors ->", ck)
