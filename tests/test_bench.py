"""Smoke test of the benchmark runner on tiny models (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    from guard_plugins.export.devmodels import tiny_models

    return tiny_models(tmp_path_factory.getbasetemp() / "tiny_int8", "int8")


def run_bench(script: str, *args: str, out: Path) -> dict:
    """Run ``bench/<script>`` offline with ``args`` and ``--out out``; its JSON result."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    r = subprocess.run([sys.executable, str(REPO / "bench" / script), *args, "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(out.read_text())


def test_run_all_quick(tiny, tmp_path):
    res = run_bench("run_all.py", "--quick", "--models", str(tiny), "--checkpoints", str(tiny / "ckpt"),
                    "--threads", "1", out=tmp_path / "results.json")
    assert res["providers"] == {"input": ["CPUExecutionProvider"], "output": ["CPUExecutionProvider"]}
    assert res["machine"]["logical_cores"] >= 1 and res["machine"]["cpu_model"]
    assert res["versions"]["onnxruntime"]
    for n in ("16", "64"):
        row = res["input"]["lengths"][n]
        assert row["onnx"]["p50_ms"] > 0 and row["torch_eager"]["p50_ms"] > 0
        assert row["speedup_vs_torch_p50"] > 0
    assert res["input"]["batch"]["prompts_per_s"] > 0
    for ctx, row in res["streaming"]["contexts"].items():
        assert row["runtime_feed"]["n"] > 0 and row["torch_eager_incremental"]["p50_ms"] > 0
        assert row["overhead_pct_of_50tps_stream"] > 0
    mem = res["memory"]
    assert mem["peak_rss"]["after_load_mb"] > mem["peak_rss"]["python_mb"] > 0
    assert mem["peak_rss"]["heavy_modules_imported"] == []
    assert mem["model_sizes"]["input"]["model_onnx_bytes"] > 0


def test_stream_rows_bench_quick(tiny, tmp_path):
    """bench_stream_rows.py runs and its exactness check holds (feed_many == feed, bit for bit)."""
    res = run_bench("bench_stream_rows.py", "--models", str(tiny), "--rounds", "1", out=tmp_path / "rows.json")
    assert res["exact"] is True and res["response_tokens"] > 0
    assert set(res["catch_up_feed_many"]) == {"1", "2", "4", "8", "16", "32"}
    assert res["lone_stream"]["even_vs_odd_wall"] > 0


def test_stream_batch_bench_quick(tiny, tmp_path):
    """bench_stream_batch.py runs both modes on the tiny models and reports them."""
    res = run_bench("bench_stream_batch.py", "--models", str(tiny), "--streams", "1,3", "--rounds", "1",
                    "--delay-ms", "0", "--providers", "cpu", out=tmp_path / "batch.json")
    assert [lv["streams"] for lv in res["levels"]] == [1, 3]
    for lv in res["levels"]:
        for mode in ("shared_calls", "own_calls"):
            assert lv[mode]["rounds"][0]["errors"] == 0 and lv[mode]["rounds"][0]["tokens"] > 0
        assert lv["shared_calls"]["rounds"][0]["batcher"]["calls_per_token"] > 0


def test_history_bench_quick(tiny, tmp_path):
    """bench_history.py runs every scenario on the tiny models; cached and uncached agree."""
    res = run_bench("bench_history.py", "--models", str(tiny), "--rounds", "1", "--questions", "2",
                    "--turns", "3", "--conversations", "3", out=tmp_path / "history.json")
    assert res["agent"]["rounds"][0]["cache"]["n"] == 2
    assert res["chat"]["3"]["rounds"][0]["cache_s"] > 0
    assert res["memory"]["within_bound"] and res["memory"]["hits"] > 0
    assert res["exact_rows"]["windows"] >= 2
