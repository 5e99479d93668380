"""The built wheel ships the default models: installed outside the checkout, ``Guard.load()``
finds them as package data (``guard_plugins/exported_models/{input,output}/``).

The wheel is built from a copy of the checkout's source tree (the files git tracks plus untracked,
non-ignored ones, i.e. what a clone with local edits holds), so the build neither writes ``build/``
or ``*.egg-info`` into the shared checkout nor picks up stale files from an old ``build/lib``.
It is installed with ``--no-deps --no-index`` into a fresh venv whose dependencies come from the
running interpreter's site-packages through a plain path line in a ``.pth`` file: such a line only
extends ``sys.path`` and does not run the ``.pth`` files in that folder, so the checkout's
editable ``guard_plugins`` is not importable there (checked before the wheel goes in).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]
KINDS = ("input", "output")
pytestmark = pytest.mark.slow


def _manifest_files(kind: str) -> set[str]:
    """Files a default model folder must hold: the manifest and every file it lists."""
    manifest = json.loads((REPO / "exported_models" / kind / "manifest.json").read_text("utf-8"))
    return set(manifest["files"]) | {"manifest.json"}


def _clean_env() -> dict[str, str]:
    """The environment for the subprocesses: no model override, no PYTHONPATH, no user site."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GUARD_PLUGINS_MODELS", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
                        "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               HF_HUB_OFFLINE="1", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
        f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}")
    return proc


def _source_tree(dest: Path) -> Path:
    """Copy the checkout's source tree (what git tracks plus untracked, non-ignored files)."""
    if not all((REPO / "exported_models" / k / "manifest.json").is_file() for k in KINDS):
        pytest.skip("exported_models/{input,output} are not in this checkout")
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout (to copy the source tree without build leftovers)")
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=REPO, capture_output=True,
                             check=True).stdout
    for rel in filter(None, listing.decode("utf-8").split("\0")):
        src = REPO / rel
        if src.is_file():  # deleted but still tracked files are skipped
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _check_model_members(names: list[str], prefix: str) -> None:
    """``names`` (archive members) hold exactly the manifest's files under ``prefix/{kind}/``."""
    for kind in KINDS:
        folder = f"{prefix}/{kind}/"
        got = {n[len(folder):] for n in names if n.startswith(folder) and not n.endswith("/")}
        want = _manifest_files(kind)
        assert got == want, (f"{folder}: missing {sorted(want - got)}, "
                             f"unexpected {sorted(got - want)}")


def _dep_paths() -> list[str]:
    """site-packages folders of the running interpreter (the dev venv), where the deps live."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys(str(Path(paths[k]).resolve()) for k in ("purelib", "platlib")))


SCRIPT = textwrap.dedent("""
    import os, sys, sysconfig
    from pathlib import Path

    assert "GUARD_PLUGINS_MODELS" not in os.environ
    import guard_plugins
    from guard_plugins.runtime.guard import Guard
    from guard_plugins.runtime.manifest import default_models_dir

    pkg = Path(guard_plugins.__file__).resolve().parent
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert pkg == site / "guard_plugins", f"guard_plugins imported from {pkg}, not {site}"
    assert Path(sys.prefix).resolve() == Path(sys.argv[1]).resolve(), sys.prefix
    models = default_models_dir().resolve()
    assert models == pkg / "exported_models", f"default models found at {models}"

    guard = Guard.load()  # the embedded defaults, every file checked against its sha256
    v = guard.check_input("How do I bake sourdough bread?")
    print("input", v.flagged, round(v.score, 4), v.threshold)
    assert not v.flagged, v
    o = guard.check_output("How do I bake sourdough bread?",
                           "Mix flour, water, salt and an active starter, let the dough rise "
                           "overnight, shape it, then bake it in a hot Dutch oven.")
    print("output", o.flagged, round(o.score, 4), o.threshold)
    assert not o.flagged, o
    print("providers", guard.providers)
    print("models", models)
""")


def test_wheel_ships_default_models(tmp_path: Path) -> None:
    tree = _source_tree(tmp_path / "tree")

    # 1. Build the wheel (no network: the build backend comes from the running interpreter).
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps", "--no-build-isolation",
          "--no-index", "-w", str(dist)], cwd=tmp_path)
    wheels = list(dist.glob("guard_plugins-*.whl"))
    assert len(wheels) == 1, wheels
    wheel = wheels[0]

    # 2. The wheel holds every file each manifest lists, all the package's modules and data, and
    #    nothing else (no caches, no stray or stale files, nothing outside the package).
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    _check_model_members(names, "guard_plugins/exported_models")
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    assert {PurePosixPath(n).parts[0] for n in names} == {"guard_plugins", dist_info}
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    pkg_src = tree / "src" / "guard_plugins"
    in_src = {"guard_plugins/" + p.relative_to(pkg_src).as_posix() for p in pkg_src.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    needed = {n for n in in_src if n.endswith(".py")} | {
        n for n in in_src if PurePosixPath(n).parent.name in ("constitutions", "data")}
    assert not needed - set(names), f"missing from the wheel: {sorted(needed - set(names))}"
    code = {n for n in names if n.startswith("guard_plugins/")
            and not n.startswith("guard_plugins/exported_models/")}
    assert not code - in_src, f"in the wheel but not in src/guard_plugins: {sorted(code - in_src)}"

    # 3. A fresh venv; the deps come from the dev venv through a plain path line in deps.pth.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    vpy = venv / "bin" / "python"
    if not vpy.exists():  # Windows layout
        vpy = venv / "Scripts" / "python.exe"
    vsite = Path(_run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                      cwd=tmp_path).stdout.strip())
    (vsite / "deps.pth").write_text("\n".join(_dep_paths()) + "\n", encoding="utf-8")
    probe = ("import importlib.util as u, numpy, onnxruntime, tokenizers, yaml, pydantic; "
             "print(u.find_spec('guard_plugins'))")
    assert _run([str(vpy), "-c", probe], cwd=tmp_path).stdout.strip() == "None", \
        "the checkout's guard_plugins is importable in the fresh venv before the wheel is installed"

    # 4. Install the wheel alone and use it from outside the checkout.
    _run([str(vpy), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=tmp_path)
    out = _run([str(vpy), "-c", SCRIPT, str(venv)], cwd=tmp_path).stdout
    print(f"{wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB\n{out}")
    assert "providers" in out


def test_sdist_ships_default_models(tmp_path: Path) -> None:
    """The sdist holds the model folders too (so a wheel built from it, e.g. by pip, has them)."""
    tree = _source_tree(tmp_path / "tree")
    dist = tmp_path / "dist"
    code = ("import sys; from setuptools import build_meta as b; "
            "print(b.build_sdist(sys.argv[1]))")
    name = _run([sys.executable, "-c", code, str(dist)], cwd=tree).stdout.strip().splitlines()[-1]
    with tarfile.open(dist / name) as tf:
        names = tf.getnames()
    root = names[0].split("/")[0]
    _check_model_members(names, f"{root}/exported_models")
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
