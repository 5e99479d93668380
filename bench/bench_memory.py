"""Peak RSS of a fresh process that imports only the runtime and loads both models."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

CHILD = textwrap.dedent("""
    import json, resource, sys
    def rss_mb():
        # VmHWM (peak RSS of this program image): ru_maxrss would include the parent's peak
        # when the parent was bigger (it survives fork + exec on Linux)
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    base = rss_mb()
    from guard_plugins.runtime import Guard
    imported = rss_mb()
    g = Guard.load(sys.argv[1], providers=sys.argv[2])
    loaded = rss_mb()
    g.check_input("hello " * 300)
    s = g.stream("hi"); s.feed(" go" * 600); s.finish()
    used = rss_mb()
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers", "optimum"))
    print(json.dumps({"python_mb": base, "after_import_mb": imported, "after_load_mb": loaded,
                      "after_use_mb": used, "heavy_modules_imported": heavy,
                      "providers": g.providers}))
""")


def run(models: Path, provider: str) -> dict[str, Any]:
    """Peak RSS (MB) at each stage and model file sizes (bytes)."""
    r = subprocess.run([sys.executable, "-c", CHILD, str(models), provider],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"memory child failed: {r.stderr[-2000:]}")
    out: dict[str, Any] = {"peak_rss": {k: (round(v, 1) if isinstance(v, float) else v)
                                        for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}}
    sizes = {}
    for kind in ("input", "output"):
        m = models / kind / "manifest.json"
        if m.is_file():
            man = json.loads(m.read_text())
            sizes[kind] = {"model_onnx_bytes": man["files"]["model.onnx"]["bytes"],
                           "folder_bytes": sum(f["bytes"] for f in man["files"].values()),
                           "quantization": man["onnx"].get("quantization")}
    out["model_sizes"] = sizes
    return out
