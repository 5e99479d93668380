"""Runtime tests on tiny random models exported in-session (and the real defaults if present).

Tiny models: 2-layer x 64 BERT, exported through the real ``guard-export`` pipeline once per
session (int8 and fp32 folders). Scores of random models are meaningless; the tests check
the contracts: integrity, providers, windowing, streaming (cache, chunking, re-priming),
bad inputs, thread safety.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard_plugins.errors import GuardError, InputError, InputTooLargeError, IntegrityError, ModelLoadError
from guard_plugins.runtime import Guard, InputGuard, OutputGuard, Verdict
from guard_plugins.runtime.tokenization import GuardTokenizer, sanitize

REPO = Path(__file__).resolve().parents[1]
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    from guard_plugins.export.devmodels import tiny_models

    return tiny_models(tmp_path_factory.getbasetemp() / "tiny_int8", "int8")


@pytest.fixture(scope="session")
def tiny_fp32(tmp_path_factory) -> Path:
    from guard_plugins.export.devmodels import tiny_models

    return tiny_models(tmp_path_factory.getbasetemp() / "tiny_fp32", "none")


@pytest.fixture(scope="session")
def guard(tiny) -> Guard:
    return Guard.load(tiny, providers="cpu")


@pytest.fixture(scope="session")
def guard32(tiny_fp32) -> Guard:
    return Guard.load(tiny_fp32, providers="cpu")


# ------------------------------------------------------------------------ torch-free import
BLOCKER = textwrap.dedent("""
    import sys, importlib.abc
    BLOCK = ("torch", "transformers", "optimum", "onnx", "safetensors", "sklearn")
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCK:
                raise ImportError(f"blocked import: {name}")
            return None
    sys.meta_path.insert(0, Blocker())
""")


def test_runtime_imports_without_torch(tiny):
    code = BLOCKER + textwrap.dedent(f"""
        import guard_plugins.runtime as rt
        from guard_plugins import Guard
        g = Guard.load({str(tiny)!r}, providers="cpu")
        v = g.check_input("hello there")
        s = g.stream("hi"); s.feed("some text "); f = s.finish()
        bad = [m for m in sys.modules if m.split(".")[0] in BLOCK]
        assert not bad, bad
        print("OK", v.kind, f.kind)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, **ENV}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "OK input output" in r.stdout


def test_blocker_really_blocks():
    code = BLOCKER + "import torch\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "blocked import" in r.stderr


# ------------------------------------------------------------------- loading and integrity
def test_load_and_providers(guard, tiny):
    assert guard.providers == {"input": ["CPUExecutionProvider"], "output": ["CPUExecutionProvider"]}
    # asking for CUDA on a machine without a GPU falls back to CPU and says so
    g = Guard.load(tiny, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert g.providers["input"][-1] == "CPUExecutionProvider"
    assert set(g.providers["input"]) <= {"CUDAExecutionProvider", "CPUExecutionProvider"}
    assert guard.categories and all(isinstance(c, str) for c in guard.categories)


def test_load_default_via_env(tiny, monkeypatch):
    monkeypatch.setenv("GUARD_PLUGINS_MODELS", str(tiny))
    g = Guard.load(providers="cpu")
    assert g.input.folder == tiny / "input"


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src / "input", dst / "input")
    shutil.copytree(src / "output", dst / "output")
    return dst


@pytest.mark.parametrize("kind,file", [("input", "model.onnx"), ("output", "model.onnx"),
                                       ("input", "tokenizer.json")])
def test_tampered_file_refused(tiny, tmp_path, kind, file):
    root = _copy(tiny, tmp_path / "m")
    p = root / kind / file
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01  # flip one bit, same size
    p.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        Guard.load(root, providers="cpu")
    Guard.load(root, providers="cpu", verify=False)  # explicit opt-out still loads


def test_truncated_and_missing_files(tiny, tmp_path):
    root = _copy(tiny, tmp_path / "m")
    p = root / "output" / "model.onnx"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(IntegrityError, match="size"):
        OutputGuard.load(root / "output")
    (root / "input" / "manifest.json").unlink()
    with pytest.raises(ModelLoadError, match="manifest"):
        InputGuard.load(root / "input")
    with pytest.raises(ModelLoadError):
        Guard.load(tmp_path / "nowhere")
    with pytest.raises(ModelLoadError, match="expected a 'input' model"):
        InputGuard.load(tiny / "output")


def test_bad_manifest(tiny, tmp_path):
    root = _copy(tiny, tmp_path / "m")
    mp = root / "input" / "manifest.json"
    m = json.loads(mp.read_text())
    m["files"]["../evil"] = {"sha256": "0", "bytes": 1}
    mp.write_text(json.dumps(m))
    with pytest.raises(ModelLoadError, match="outside"):
        InputGuard.load(root / "input")
    mp.write_text("{not json")
    with pytest.raises(ModelLoadError, match="unreadable"):
        InputGuard.load(root / "input")


# ------------------------------------------------------------------------------ input guard
def test_check_input_shapes(guard):
    v = guard.check_input("How do I bake bread?")
    assert isinstance(v, Verdict) and v.kind == "input"
    assert 0.0 <= v.score <= 1.0 and v.tokens > 0 and v.latency_ms > 0
    assert v.flagged == (v.score >= v.threshold)
    with pytest.raises(Exception):
        v.score = 1.0  # frozen
    assert json.dumps(v.to_dict())


def test_threshold_and_category(tiny):
    g0 = InputGuard.load(tiny / "input", "cpu", threshold=0.0)
    v = g0.check("anything")
    assert v.flagged and v.category in g0.categories and v.threshold == 0.0
    g1 = InputGuard.load(tiny / "input", "cpu", threshold=1.0)
    v = g1.check("anything")
    assert not v.flagged and v.category is None
    # per-category override: every category needs 1.0 -> nothing flags even at base 0.0
    go = InputGuard.load(tiny / "input", "cpu", threshold=0.0,
                         category_thresholds={c: 1.0 for c in g0.categories})
    assert not go.check("anything").flagged
    with pytest.raises(ModelLoadError, match="unknown categories"):
        InputGuard.load(tiny / "input", "cpu", category_thresholds={"no_such": 0.5})
    with pytest.raises(ModelLoadError, match=r"\[0, 1\]"):
        InputGuard.load(tiny / "input", "cpu", threshold=1.5)


def test_messages_and_multimodal(guard):
    msgs = [{"role": "system", "content": "Be nice."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         {"type": "image_url", "image_url": {"url": "data:..."}}]}]
    v = guard.check_input(msgs)
    assert any("image_url" in n for n in v.notes)
    rendered = guard.check_input("system: Be nice.\nuser: What is this?")
    assert abs(v.score - rendered.score) < 1e-6 and v.tokens == rendered.tokens


def test_windows_and_batch(guard32, guard):
    long = " ".join(f"word{i}" for i in range(1500))
    v = guard32.check_input(long)
    assert v.tokens > 254 and any("windows" in n for n in v.notes)
    texts = ["short", long, "", "another prompt here"]
    batch = guard32.check_inputs(texts)
    single = [guard32.check_input(t) for t in texts]
    for b, s in zip(batch, single):
        assert abs(b.score - s.score) < 1e-5 and b.tokens == s.tokens
    # int8: dynamic activation scales depend on the batch; scores stay close
    for b, s in zip(guard.check_inputs(texts), [guard.check_input(t) for t in texts]):
        assert abs(b.score - s.score) < 0.02


def test_max_over_windows(guard32):
    """The verdict of a long prompt is the max over its windows."""
    g = guard32.input
    parts = [" ".join(f"alpha{i}" for i in range(300)), " ".join(f"beta{i}" for i in range(300))]
    text = " ".join(parts)
    ids = g._tok.encode(text)
    from guard_plugins.runtime.windows import input_windows
    wins = input_windows(ids, g.window, g.stride)
    import numpy as np
    per_window = 1 / (1 + np.exp(-g._run(wins)[:, 0].astype(np.float64)))
    assert abs(g.check(text).score - per_window.max()) < 1e-6


@pytest.mark.parametrize("bad", [None, 42, 3.5, b"bytes", [1, 2], [{"role": "user"}], object()])
def test_bad_inputs(guard, bad):
    with pytest.raises(InputError):
        guard.check_input(bad)


def test_bad_batch_and_outputs(guard):
    with pytest.raises(InputError):
        guard.check_inputs("not a list")
    with pytest.raises(InputError):
        guard.check_output("p", None)
    with pytest.raises(InputError):
        guard.check_outputs([("only one",)])
    with pytest.raises(InputError):
        guard.stream("p").feed(b"bytes")
    assert issubclass(InputError, GuardError)


def test_empty_and_odd_unicode(guard):
    v = guard.check_input("")
    assert v.tokens == 0 and 0.0 <= v.score <= 1.0
    o = guard.check_output("prompt", "")
    assert not o.flagged and o.score == 0.0 and o.tokens == 0 and o.notes
    odd = "zero\u200bwidth \u202eRTL\u202c emoji 😀👍🏽 lone \ud800 surrogate \udfff end \x00\x1f"
    v = guard.check_input(odd)
    assert any("replaced" in n for n in v.notes)
    o = guard.check_output(odd, odd)
    assert o.tokens > 0
    s = guard.stream(odd)
    for ch in odd:
        s.feed(ch)
    assert abs(s.finish().score - o.score) < 0.05


def test_huge_input(guard):
    huge = ("lorem ipsum dolor sit amet " * 40000)[:1_000_000]
    with pytest.raises(InputTooLargeError):  # the default budget (tests/test_budget.py)
        guard.check_input(huge)
    v = guard.check_input(huge, on_oversize="scan")
    assert v.tokens > 100_000 and any("windows" in n for n in v.notes)
    s = guard.stream("p")
    s.feed("x" * 1_000_000)  # one word, no boundary: bounded memory, a single [UNK]
    assert s.finish().tokens == 1


# --------------------------------------------------------------------------------- streaming
def test_stream_cache_equals_full_pass(guard32):
    text = "Sure, here is an overview. First, [REDACTED]. Then <step withheld>. Finally, done."
    s = guard32.stream("How do I do it?")
    verdicts = [s.feed(w + " ") for w in text.split(" ")]
    final = s.finish()
    full = guard32.check_output("How do I do it?", text)
    assert abs(final.score - full.score) < 1e-5 and final.tokens == full.tokens
    scores = [v.score for v in verdicts]
    assert scores == sorted(scores)  # running max never decreases
    assert s.finish() is final  # idempotent
    with pytest.raises(InputError, match="finished"):
        s.feed("more")


def test_long_stream_reprimes_and_keeps_scoring(guard32):
    words = [f"token{i % 50}" for i in range(900)]
    response = " ".join(words)
    s = guard32.stream("tell me a long story")
    for w in words:
        s.feed(w + " ")
    final = s.finish()
    full = guard32.check_output("tell me a long story", response)
    assert final.tokens == full.tokens > 512
    assert any("re-primed" in n for n in final.notes)
    assert abs(final.score - full.score) < 1e-5


def test_sticky_flag(tiny):
    og = OutputGuard.load(tiny / "output", "cpu")
    s = og.stream("p")
    first = s.feed("one two three ")
    thr = first.score  # a threshold the stream has already reached
    og2 = OutputGuard.load(tiny / "output", "cpu", threshold=thr)
    s2 = og2.stream("p")
    assert s2.feed("one two three ").flagged
    for chunk in ["four ", "five ", "six seven eight nine ten "]:
        assert s2.feed(chunk).flagged
    assert s2.finish().flagged


_TEXT = st.text(alphabet=st.sampled_from(list("abcdefgh XYZ.,!?'\n\té") +
                                         ["\u0301", "\u200b", "中", "😀", "\u00a0", "İ", "ß"]),
                min_size=0, max_size=80)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT, seed=st.integers(0, 10_000))
def test_chunk_boundary_independence(guard, text, seed):
    def run(chunks):
        s = guard.stream("prompt")
        for c in chunks:
            s.feed(c)
        return s.finish()

    one = run([text])
    chars = run(list(text))
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randint(0, 8))))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    split = run(pieces)
    for v in (chars, split):
        assert v.tokens == one.tokens
        assert abs(v.score - one.score) <= 1e-5 and v.flagged == one.flagged


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60), seed=st.integers(0, 10_000))
def test_incremental_tokenizer_matches_whole_text(text, seed):
    from guard_plugins.train.models import base_model_dir

    tok = _tokenizer(base_model_dir() / "tokenizer.json")
    rng = random.Random(seed)
    inc = tok.incremental()
    ids, i = [], 0
    while i < len(text):
        k = rng.randint(1, 5)
        ids += inc.feed(text[i:i + k])
        i += k
    ids += inc.flush()
    assert ids == tok.encode(sanitize(text)[0])


_TOK_CACHE: dict[str, GuardTokenizer] = {}


def _tokenizer(path: Path) -> GuardTokenizer:
    if str(path) not in _TOK_CACHE:
        _TOK_CACHE[str(path)] = GuardTokenizer(path)
    return _TOK_CACHE[str(path)]


# ----------------------------------------------------------------------------- concurrency
def test_thread_safety(guard):
    prompts = [f"prompt number {i} " * (i % 7 + 1) for i in range(24)]
    expected = [guard.check_input(p).score for p in prompts]
    out_expected = [guard.check_output(p, "a reply " * 5).score for p in prompts[:8]]

    def stream_one(p):
        s = guard.stream(p)
        for w in ["a ", "reply ", "a ", "reply ", "a ", "reply ", "a ", "reply ", "a ", "reply "]:
            s.feed(w)
        return s.finish().score

    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda p: guard.check_input(p).score, prompts))
        streamed = list(ex.map(stream_one, prompts[:8]))
    assert got == pytest.approx(expected, abs=1e-6)
    assert all(abs(a - b) < 0.05 for a, b in zip(streamed, out_expected))
    assert streamed == pytest.approx([stream_one(p) for p in prompts[:8]], abs=1e-6)


# ------------------------------------------------------------------- real default models
DEFAULT = REPO / "exported_models"


@pytest.mark.skipif(not (DEFAULT / "input" / "manifest.json").is_file(), reason="no exported_models/")
def test_default_models():
    g = Guard.load(providers="cpu")
    assert set(g.providers) == {"input", "output"}
    assert not g.check_input("What is the capital of France?").flagged
    assert not g.check_output("What is 2 + 2?", "2 + 2 = 4.").flagged
    for kind in ("input", "output"):
        assert (DEFAULT / kind / "model.onnx").stat().st_size <= 25_000_000


def test_stream_cache_grows_without_changing_values(guard, monkeypatch):
    """A stream's KV cache starts small and doubles up to max_len (memory at many concurrent
    streams); the values must not depend on the capacity, re-primes included."""
    check_cache_growth(guard, monkeypatch)


def check_cache_growth(guard, monkeypatch):  # also run on the shipped model (test_budget.py)
    from guard_plugins.runtime import output_guard as og

    text = " ".join(f"step {i}: [REDACTED] then <step withheld> and check the result." for i in range(70))
    chunks = [text[i:i + 9] for i in range(0, len(text), 9)]

    def run(cap):
        monkeypatch.setattr(og, "INITIAL_CAPACITY", cap)
        s = guard.stream("How do I do it?")
        scores = [s.feed(c).score for c in chunks]
        capacity = s._past.capacity
        final = s.finish()
        assert s._past is None  # finish frees the cache at once
        return scores, final, capacity

    small, fs, cap_small = run(8)
    full, ff, cap_full = run(10_000)  # capped at max_len: the old fixed buffer
    assert ff.tokens > guard.output.max_len and any("re-primed" in n for n in ff.notes)
    # grew all the way (one position more where calls are padded to pairs of rows)
    assert cap_small == cap_full == guard.output.max_len + guard.output.pair_rows
    assert small == full and fs.score == ff.score and fs.tokens == ff.tokens
    monkeypatch.setattr(og, "INITIAL_CAPACITY", 128)
    short = guard.stream("hi")
    short.feed("A short and harmless answer about bread. It rises.")
    assert short._past.capacity == 128  # a short stream never grows
    short.finish()


@pytest.mark.parametrize("chunks", [
    ["a" * 101, "\u200b", "bomb"],        # an over-long word goes on across deleted characters
    ["a" * 101, "\u0301", "bomb"],
    ["a" * 101, "\u200b\u200b", " bomb"],  # ... and ends at whitespace
])
def test_incremental_tokenizer_overlong_word_across_deleted_characters(chunks):
    from guard_plugins.train.models import base_model_dir

    tok = _tokenizer(base_model_dir() / "tokenizer.json")
    inc = tok.incremental()
    ids = [i for c in chunks for i in inc.feed(c)] + inc.flush()
    assert ids == tok.encode("".join(chunks))


def test_incremental_tokenizer_never_loses_tokens_on_misplaced_offsets():
    """The tokenizers library misplaces offsets after the normaliser reorders surviving
    combining marks (U+1D165, U+3099 ...); the stream then falls back to cutting at whitespace
    and may emit an extra [UNK], never fewer real tokens."""
    from collections import Counter

    from guard_plugins.train.models import base_model_dir

    tok = _tokenizer(base_model_dir() / "tokenizer.json")
    rng = random.Random(5)
    alphabet = ["\u0301", "\u3099", "\U0001d165", "\U0001d16d", "\u0c3c", "kill", "bomb", "a", " ", "-",
                "\u200b", "\u0308", "b" * 101]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        inc = tok.incremental()
        ids, i = [], 0
        while i < len(text):
            k = rng.choice([1, 2, 3, 5])
            ids += inc.feed(text[i:i + k])
            i += k
        ids += inc.flush()
        whole = tok.encode(sanitize(text)[0])
        real = lambda xs: Counter(x for x in xs if x != tok.unk_id)  # noqa: E731
        assert not real(whole) - real(ids), (text, ids, whole)


def test_output_session_threads(tiny):
    """The output session runs on 1 intra-op thread unless asked (no pool spinning between a
    stream's tokens); an explicit count applies."""
    from guard_plugins.runtime.output_guard import DEFAULT_INTRA_OP_THREADS

    assert DEFAULT_INTRA_OP_THREADS == 1
    og = OutputGuard.load(tiny / "output", "cpu")
    assert og._session.get_session_options().intra_op_num_threads == 1
    og2 = OutputGuard.load(tiny / "output", "cpu", intra_op_threads=2)
    assert og2._session.get_session_options().intra_op_num_threads == 2
