"""Device run: train the input and output models with guard-train on the GPU, in parallel.

Usage (from the repo root on the device): python3 .devwork/run_device.py OUT_DIR [--smoke]
Writes to OUT_DIR: {input,output}_w{0,1}.safetensors (fp16, no word embeddings),
ckpts.tar.gz (metadata, reports, tokenizer), log files.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

OUT = Path(sys.argv[1])
SMOKE = "--smoke" in sys.argv
ROOT = Path(__file__).resolve().parents[1]
WORK = Path("/tmp/gw")
WORK.mkdir(parents=True, exist_ok=True)
t0 = time.time()


def log(msg: str) -> None:
    line = f"[{time.time() - t0:7.1f}s] {msg}"
    print(line, flush=True)
    with (OUT / "driver.log").open("a") as fh:
        fh.write(line + "\n")


def base_folder() -> Path:
    import torch
    from safetensors.torch import load_file, save_file
    b = WORK / "base"
    b.mkdir(exist_ok=True)
    src = ROOT / ".devwork" / "base16"
    for f in src.iterdir():
        if f.name != "model16.safetensors":
            (b / f.name).write_bytes(f.read_bytes())
    sd = load_file(str(src / "model16.safetensors"))
    sd = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in sd.items()}
    e = load_file(str(src / "emb_int8.safetensors"))
    sd["embeddings.word_embeddings.weight"] = (e["q"].float() * e["scale"]).contiguous()
    save_file(sd, str(b / "model.safetensors"))
    return b


def data_folder() -> Path:
    d = WORK / "data"
    if not d.is_dir():
        with tarfile.open(ROOT / ".devwork" / "data.tar.xz") as tf:
            tf.extractall(WORK)
    return d


def ref_folder(data: Path) -> Path:
    """The output pairs as input-classifier records (text = response): the bidirectional
    reference classifier trains on exactly the output model's data."""
    ref = WORK / "data_ref"
    ref.mkdir(exist_ok=True)
    for split in ("train", "dev", "calib"):
        with (data / f"outputs.{split}.jsonl").open() as src, (ref / f"inputs.{split}.jsonl").open("w") as dst:
            for line in src:
                r = json.loads(line)
                rec = {"id": r["id"], "text": r["response"], "label": r["label"],
                       "category": r.get("category"), "source": r["source"], "kind": r["kind"],
                       "augmentations": r.get("augmentations", []), "lookalike": False,
                       "license": r["license"], "split": split}
                dst.write(json.dumps(rec) + "\n")
    (ref / "dataset_card.json").write_text((data / "dataset_card.json").read_text())
    return ref


def pack(kind: str, ck: Path) -> None:
    from safetensors.torch import load_file, save_file
    sd = load_file(str(ck / "model.safetensors"))
    keep = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()
            if not k.endswith("word_embeddings.weight")}
    names = sorted(keep)
    parts: list[dict] = [{}]
    size = 0
    for n in names:
        nb = keep[n].numel() * keep[n].element_size()
        if size + nb > 15 * 2 ** 20 and parts[-1]:
            parts.append({})
            size = 0
        parts[-1][n] = keep[n]
        size += nb
    for i, p in enumerate(parts):
        save_file(p, str(OUT / f"{kind}_w{i}.safetensors"))
    log(f"{kind}: packed {len(names)} tensors into {len(parts)} files; dropped word embeddings")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ROOT / ".devwork" / "rwdev.tar.xz") as tf:
        tf.extractall(WORK)
    import torch
    log(f"torch {torch.__version__} cuda {torch.cuda.is_available()} "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else ''}")
    base = base_folder()
    data = data_folder()
    log(f"base and data ready: {sorted(p.name for p in data.iterdir())}")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + ":" + os.environ.get("PYTHONPATH", ""),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONUNBUFFERED": "1"}
    common = ["--data", str(data), "--base", str(base), "--device", os.environ.get("GW_DEVICE", "cuda"), "--freeze-embeddings",
              "--threads", "4", "--save-every", "0"]
    extra = json.loads(os.environ.get("GW_EXTRA", "{}"))
    ref = ref_folder(data)
    jobs = {}
    for kind in os.environ.get("GW_KINDS", "input,output,ref").split(","):
        args = [sys.executable, "-m", "guard_plugins.train.cli", "input" if kind == "ref" else kind,
                "--out", str(WORK / f"ck_{kind}"), *common, *extra.get(kind, [])]
        if kind == "ref":
            args[args.index("--data") + 1] = str(ref)
        if SMOKE:
            args += ["--max-steps", "5", "--max-eval-items", "50"]
        log("run: " + " ".join(args))
        fh = ((WORK if kind == "ref" else OUT) / f"train_{kind}.log").open("w")
        jobs[kind] = (subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT), fh)
    rc = 0
    for kind, (p, fh) in jobs.items():
        r = p.wait()
        fh.close()
        log(f"{kind} exited {r}")
        rc = rc or r
        if r == 0 and kind != "ref":
            pack(kind, WORK / f"ck_{kind}")
    if (WORK / "ck_output" / "guard_checkpoint.json").is_file():
        r = subprocess.run([sys.executable, str(ROOT / ".devwork" / "ref_eval.py"), str(WORK / "ck_output"),
                            str(WORK / "ck_ref"), str(WORK / "rwdev"),
                            str(WORK / "ck_output" / "ref_eval.json")], env=env,
                           capture_output=True, text=True)
        (OUT / "driver.log").open("a").write(r.stdout[-3000:] + r.stderr[-3000:])
        log(f"ref_eval exited {r.returncode}")
    with tarfile.open(OUT / "ckpts.tar.gz", "w:gz") as tf:
        for kind in ("input", "output", "ref"):
            ck = WORK / f"ck_{kind}"
            if ck.is_dir():
                for f in ck.iterdir():
                    if f.is_file() and f.name != "model.safetensors" and (kind != "ref" or f.suffix == ".json"):
                        tf.add(f, arcname=f"ck_{kind}/{f.name}")
    # keep only the last lines of the train logs (tqdm writes a lot)
    for kind in ("input", "output", "ref"):
        p = (WORK if kind == "ref" else OUT) / f"train_{kind}.log"
        if p.is_file():
            txt = p.read_text(errors="replace").replace("\r", "\n").splitlines()
            p.write_text("\n".join([l for l in txt if "it/s]" not in l and "s/it]" not in l][-200:]
                                   + txt[-5:]) + "\n")
    ref_log = WORK / "train_ref.log"
    if ref_log.is_file():
        (OUT / "driver.log").open("a").write("---- ref ----\n" + ref_log.read_text()[-4000:])
    log(f"done rc={rc}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
