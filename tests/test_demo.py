"""Smoke test of ``python -m guard_plugins.demo`` (what ``make demo`` runs): the real LiteLLM
proxy starts, every step prints, the proxy is stopped; a missing piece is named, exit 2."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "LITELLM_LOCAL_MODEL_COST_MAP": "True", "TOKENIZERS_PARALLELISM": "false", "NO_COLOR": "1"}


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "guard_plugins.demo", *args], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def test_missing_models_are_named(tmp_path: Path) -> None:
    p = _run("--models", str(tmp_path / "no-models"), "--skip-litellm", timeout=60)
    assert p.returncode == 2
    assert "The demo cannot run; missing:" in p.stderr and str(tmp_path / "no-models") in p.stderr


@pytest.mark.slow
def test_demo_runs_both_integrations_and_stops_the_proxy() -> None:
    trained = (REPO / "exported_models" / "input" / "manifest.json").is_file() and \
        (REPO / "exported_models" / "output" / "manifest.json").is_file()
    args: list[str] = []
    if not trained:
        if not (REPO / ".dev_models" / "output" / "manifest.json").is_file():
            pytest.skip("no exported models: neither exported_models/ nor .dev_models/")
        args = ["--models", str(REPO / ".dev_models")]
    if not (REPO / "adapters" / "litellm" / "config.yaml").is_file():
        pytest.skip("adapters/litellm/config.yaml not there yet")
    p = _run(*args, timeout=150)
    out = p.stdout
    assert p.returncode in ((0,) if trained else (0, 1)), p.stdout + p.stderr
    for part in ("LangChain:", "LiteLLM proxy:"):
        section = out[out.index(part):]
        for n in (1, 2, 3, 4):
            assert f"[{n}]" in section
    assert "ms per stream token" in out and "proxy stopped" in out
    port = int(re.search(r"proxy up at http://127\.0\.0\.1:(\d+)", out).group(1))  # type: ignore[union-attr]
    with socket.socket() as s:  # nothing listens there any more
        assert s.connect_ex(("127.0.0.1", port)) != 0
    if trained:  # the default models must show the main job working
        assert "FAIL" not in out and "every step behaved as expected" in out
