"""Importers for the public safety datasets in the shared data folder.

Every set listed in ``../shared/data/README.md`` has an entry in :data:`PUBLIC_SETS` (or,
when it carries no usable label, in :data:`UNUSED_FILES` with the reason). Each importer
reads the files as they are (no copy goes into the repository) and yields schema records
(docs/ARCHITECTURE.md section 2) with ``source = "public/<set>"`` and the licence from the
README table. Label 1 always means harmful.

Label policy (decided here, once, and reported per set by :func:`load_public`):

* Category ids come only from :data:`CATEGORY_MAP` (one dict for every set), and only where
  the set's own field maps reliably onto a default-constitution category; otherwise
  ``None``. Set labels that describe something the default constitution does not restrict
  (copyright / IP, misinformation, political campaigning, tailored financial or legal
  opinions, "treat the chatbot as a human", mixed crisis questions) map to
  :data:`OUT_OF_SCOPE`: those rows are skipped (never relabelled benign), with the reason.
* Mixed sets: CoCoNot eval / pref prompts are harmful only in the "Requests with safety
  concerns" category (other noncompliance reasons such as underspecified or unsupported
  requests are benign, label 0); the XSTest-style extension uses its ``safe`` / ``unsafe``
  field, except ``unsafe`` rows that Llama-3.1 fully complied with *and* both annotators
  agreed (spot checks show they are mostly benign homonyms: "exterminate bad habits");
  dro_safeguard harmless files are label 0, its harmful contrast file label 1 (twins share a
  ``group``); PHTest ``controversial`` prompts are **excluded** (their harmfulness is
  debatable by construction, so neither label is trustworthy), ``harmless`` ones are benign
  look-alikes; safety-tuned-llamas is read file by file (Q-Harm is mixed and unlabelled, so
  it is skipped); GuardReasoner uses its labels; OKTest is benign.
* Real-user benign sets (HH-RLHF helpful first turns, OASST) contain a few harmful prompts;
  no field marks them, so they stay label 0 (known label noise, documented).
* Output sets use only labels that mean "this response is harmful": Do-Not-Answer
  ``<model>_harmful``, GPTFuzz ``label``, latent-jailbreak ``safety``, the refusal-direction
  LlamaGuard-2 judge (a model, not a human), MediCheck risk grades (treatment / diagnosis or
  recommendations for a serious or critical query = 1; no answer, general information or an
  irrelevant reply = 0; other combinations skipped). Compliance labels never become label 1:
  a response to a harmless PHTest or XSTest prompt is label 0 whatever it does, and the
  compliant XSTest responses to ``unsafe`` prompts are skipped.
* Opt-in sets (``default=False``, loaded only when named in ``sets``): the in-the-wild
  jailbreak prompts (a wrapper without a restricted request is out of the
  ``jailbreak_extraction`` scope, and :mod:`.augment` wraps benign prompts as label 0), and
  DiaSafety (its "unsafe" marks contextual chit-chat failures such as ignoring a user's
  worry, not harmful content).

* The benign multilingual prompts (``prompts_benign/multilingual/train.jsonl``, 24
  languages, 25 upstream sets) are label 0 with ``language`` from the row's ``lang``; each
  upstream set is its own source, ``public/multilingual/<set>``, with the row's licence. The
  set's ``dev.jsonl`` is evaluation data: never imported, and
  :func:`guard_plugins.synth.realmix.guard_and_augment` drops its texts from every split.
  The shared data's evaluation-only folder of sources never trained on is not read here
  (``tests/test_public.py`` checks that no set's path points into it).

Missing data: a missing data folder raises :class:`DataError`; a missing file raises too
when its set was named in ``sets``, and is otherwise reported as skipped (``missing``) so a
partial copy still works. A file without the expected columns raises :class:`DataError`
naming the file.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import DataError
from ..runtime.text import render_messages

__all__ = [
    "OUT_OF_SCOPE",
    "CATEGORY_MAP",
    "PublicSet",
    "PUBLIC_SETS",
    "UNUSED_FILES",
    "DATA_DIR_ENV",
    "MULTILINGUAL_SOURCE_PREFIX",
    "MULTILINGUAL_TRAIN",
    "MULTILINGUAL_DEV",
    "default_data_dir",
    "load_public",
    "sources_manifest",
    "write_sources_manifest",
]

#: Environment variable that overrides the default data folder.
DATA_DIR_ENV = "GUARD_PLUGINS_DATA"

#: Marker in :data:`CATEGORY_MAP` for set labels outside the default constitution's
#: restricted categories; such rows are skipped, not relabelled.
OUT_OF_SCOPE = "__out_of_scope__"

# One mapping for every set: "<family>:<set label>" -> constitution id, None (harmful but no
# reliable category) or OUT_OF_SCOPE. Families: ailuminate, harmbench, jbb (JailbreakBench
# and StrongREJECT labels in refusal_direction), dna (Do-Not-Answer types_of_harm),
# forbidden, catqa ("<category>/<subcategory>", falling back to "<category>"), coconot,
# stl (safety-tuned llamas), diasafety, latent_jailbreak, medical.
CATEGORY_MAP: dict[str, str | None] = {
    # MLCommons AILuminate hazard codes
    "ailuminate:vcr": "violent_crimes", "ailuminate:ncr": "nonviolent_crimes",
    "ailuminate:src": "sex_crimes", "ailuminate:cse": "child_exploitation",
    "ailuminate:iwp": "cbrne", "ailuminate:ssh": "self_harm", "ailuminate:hte": "hate",
    "ailuminate:dfm": "harassment", "ailuminate:prv": "privacy",
    "ailuminate:ipv": OUT_OF_SCOPE, "ailuminate:sxc_prn": "sexual_content",
    "ailuminate:spc_fin": "specialized_advice", "ailuminate:spc_hlt": "specialized_advice",
    "ailuminate:spc_ele": "specialized_advice", "ailuminate:spc_lgl": "specialized_advice",
    # HarmBench semantic categories
    "harmbench:chemical_biological": "cbrne", "harmbench:cybercrime_intrusion": "cyber_attacks",
    "harmbench:harassment_bullying": "harassment", "harmbench:illegal": None,
    "harmbench:harmful": None, "harmbench:misinformation_disinformation": OUT_OF_SCOPE,
    "harmbench:copyright": OUT_OF_SCOPE,
    # JailbreakBench / StrongREJECT categories (refusal_direction splits)
    "jbb:Harassment/Discrimination": None, "jbb:Malware/Hacking": "cyber_attacks",
    "jbb:Physical harm": None, "jbb:Economic harm": None,
    "jbb:Fraud/Deception": "nonviolent_crimes", "jbb:Disinformation": OUT_OF_SCOPE,
    "jbb:Sexual/Adult content": "sexual_content", "jbb:Privacy": "privacy",
    "jbb:Expert advice": "specialized_advice", "jbb:Government decision-making": None,
    "jbb:Non-violent crimes": "nonviolent_crimes", "jbb:Violence": "violent_crimes",
    "jbb:Disinformation and deception": OUT_OF_SCOPE,
    "jbb:Hate, harassment and discrimination": None, "jbb:Illegal goods and services": None,
    "jbb:Sexual content": "sexual_content",
    # Do-Not-Answer types_of_harm
    "dna:Assisting illegal activities": None,
    "dna:Compromise privacy by leaking or inferring private information (person/individual)": "privacy",
    "dna:Social stereotypes and unfair discrimination": "hate",
    "dna:Toxic language (hate speech)": None,
    "dna:Adult Content": None,
    "dna:Nudging or advising users to perform unethical or unsafe actions": None,
    "dna:Reducing the cost of disinformation campaigns": OUT_OF_SCOPE,
    "dna:Causing material harm by disseminating misinformation e.g. in medicine or law": OUT_OF_SCOPE,
    "dna:Disseminating false or misleading information": OUT_OF_SCOPE,
    "dna:Mental Health or Overreliance Crisis": OUT_OF_SCOPE,  # mixes help-seeking (permitted)
    "dna:Treat Chatbot as a Human": OUT_OF_SCOPE,
    "dna:Risks from leaking or inferring sensitive information (organization/gov)": OUT_OF_SCOPE,
    # Forbidden-questions content policies
    "forbidden:Illegal Activity": None, "forbidden:Hate Speech": "hate",
    "forbidden:Malware": "cyber_attacks", "forbidden:Physical Harm": None,
    "forbidden:Economic Harm": None, "forbidden:Fraud": "nonviolent_crimes",
    "forbidden:Pornography": "sexual_content", "forbidden:Political Lobbying": OUT_OF_SCOPE,
    "forbidden:Privacy Violence": "privacy", "forbidden:Legal Opinion": OUT_OF_SCOPE,
    "forbidden:Financial Advice": OUT_OF_SCOPE, "forbidden:Health Consultation": OUT_OF_SCOPE,
    "forbidden:Gov Decision": OUT_OF_SCOPE,
    # CatQA (declare-lab) categories / subcategories
    "catqa:Illegal Activity/Drug": "nonviolent_crimes", "catqa:Illegal Activity/Weapon": None,
    "catqa:Illegal Activity/Human Trafficking": None,
    "catqa:Illegal Activity/Cybercrime": "cyber_attacks",
    "catqa:Illegal Activity/Theft and Robbery": None,
    "catqa:Child Abuse/Content Sexual exploitation": "child_exploitation",
    "catqa:Child Abuse/Online predation": "child_exploitation",
    "catqa:Child Abuse/Physical abuse": "violent_crimes",
    "catqa:Child Abuse": None,
    "catqa:Hate/Harass/Violence/Racial or ethnic hate": "hate",
    "catqa:Hate/Harass/Violence/Religious intolerance": "hate",
    "catqa:Hate/Harass/Violence/Gender-based violence": "violent_crimes",
    "catqa:Hate/Harass/Violence/Cyberbullying": "harassment",
    "catqa:Hate/Harass/Violence/Terrorism and extremism": "violent_crimes",
    "catqa:Malware Viruses": "cyber_attacks",
    "catqa:Physical Harm/Self-harm": "self_harm",
    "catqa:Physical Harm/Assault and battery": "violent_crimes",
    "catqa:Physical Harm": None,
    "catqa:Economic Harm": "nonviolent_crimes", "catqa:Fraud/Deception": "nonviolent_crimes",
    "catqa:Adult Content": "sexual_content", "catqa:Political Campaigning": OUT_OF_SCOPE,
    "catqa:Privacy Violation Activity": "privacy", "catqa:Tailored Financial Advice": OUT_OF_SCOPE,
    # CoCoNot "Requests with safety concerns" subcategories
    "coconot:dangerous or sensitive topics": None, "coconot:privacy violations": "privacy",
    "coconot:triggers for offensive language": None, "coconot:wildchats": None,
    "coconot:copyright violations": OUT_OF_SCOPE, "coconot:misinformation": OUT_OF_SCOPE,
    "coconot:false information": OUT_OF_SCOPE, "coconot:incomprehensible": OUT_OF_SCOPE,
    # safety-tuned llamas files (and MaliciousInstructions tags)
    "stl:I-CoNa": "hate", "stl:I-Controversial": "hate", "stl:I-MaliciousInstructions/hate": "hate",
    "stl:I-MaliciousInstructions/crime": None, "stl:I-PhysicalSafetyUnsafe": None,
    "stl:safety_only_data_Instructions": None,
    # DiaSafety (opt-in) response categories
    "diasafety:Offending User": "harassment", "diasafety:Unauthorized Expertise": "specialized_advice",
    "diasafety:Toxicity Agreement": None, "diasafety:Biased Opinion": None,
    "diasafety:Risk Ignorance": None,
    # latent jailbreak: the embedded task is always "write a toxic sentence about <group>"
    "latent_jailbreak:toxic_sentence": "hate",
    # MediCheck: unsafe = treatment / recommendations for a serious or critical query
    "medical:unsafe": "specialized_advice",
}

def map_category(family: str, label: str, *subs: str) -> str | None:
    """Look up ``family:label[/sub...]`` (most specific first) in :data:`CATEGORY_MAP`.

    Raises :class:`DataError` for a label the map does not know (a new upstream label must be
    decided on, not silently passed).
    """
    keys = []
    parts = [label, *subs]
    while parts:
        keys.append(f"{family}:{'/'.join(parts)}")
        parts = parts[:-1]
    for k in keys:
        if k in CATEGORY_MAP:
            return CATEGORY_MAP[k]
    raise DataError(f"no CATEGORY_MAP entry for {keys[0]!r}: decide its category (or "
                    f"OUT_OF_SCOPE) in guard_plugins.synth.public.CATEGORY_MAP")


# --------------------------------------------------------------------------- records sink

class _Sink:
    """Collects records and per-file / per-reason counts for one set."""

    def __init__(self, ps: "PublicSet") -> None:
        self.ps = ps
        self.inputs: list[dict] = []
        self.outputs: list[dict] = []
        self.skipped: Counter[str] = Counter()
        self.rows_read = 0
        self.rows_per_file: Counter[str] = Counter()
        self._file = ""

    def file(self, rel: str) -> None:
        self._file = rel

    def read(self, n: int = 1) -> None:
        self.rows_read += n
        self.rows_per_file[self._file] += n

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def inp(self, text: Any, label: int, *, category: str | None = None, kind: str,
            lookalike: bool = False, group: str | None = None, language: str | None = None) -> None:
        t = _clean(text)
        if t is None:
            self.skip("empty text")
            return
        rec: dict[str, Any] = {"text": t, "label": label, "category": category,
                               "source": f"public/{self.ps.name}", "kind": kind,
                               "augmentations": [], "lookalike": lookalike,
                               "license": self.ps.license}
        if group:
            rec["group"] = group
        if language:
            rec["language"] = language
        self.inputs.append(rec)

    def out(self, prompt: Any, response: Any, label: int, *, category: str | None = None,
            kind: str = "public", group: str | None = None, language: str | None = None) -> None:
        r = _clean(response)
        if r is None:
            self.skip("empty response")
            return
        rec: dict[str, Any] = {"prompt": _clean(prompt) or "", "response": r, "label": label,
                               "category": category if label == 1 else None,
                               "source": f"public/{self.ps.name}", "kind": kind,
                               "augmentations": [], "license": self.ps.license}
        if group:
            rec["group"] = group
        if language:
            rec["language"] = language
        self.outputs.append(rec)


def _clean(text: Any) -> str | None:
    if text is None:
        return None
    t = str(text).strip()
    if not t or t.lower() in {"nan", "none", "null"}:
        return None
    return t


# --------------------------------------------------------------------------- file readers

def _csv_rows(path: Path, required: tuple[str, ...] = ()) -> Iterator[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}: missing column(s) {missing}; found {reader.fieldnames}")
            yield from reader
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 ({e.reason})") from None


def _jsonl_rows(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{i}: invalid JSON: {e.msg}") from None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: invalid JSON: {e.msg} (line {e.lineno})") from None


def _need(row: Any, keys: tuple[str, ...], path: Path) -> None:
    if not isinstance(row, dict) or any(k not in row for k in keys):
        raise DataError(f"{path}: expected records with {list(keys)}, got "
                        f"{list(row) if isinstance(row, dict) else type(row).__name__}")


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line.rstrip("\n")


def _h(*parts: Any) -> str:
    return hashlib.sha1("\x00".join(map(str, parts)).encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------- the set table

Loader = Callable[[list[Path], "PublicSet", _Sink], None]


@dataclass(frozen=True)
class PublicSet:
    """One public set: files (relative to the data folder), licence, upstream URL (``copy``:
    the repository copy the files came from, when not upstream), which
    classifier it feeds (``inputs`` / ``outputs``), its loader, and whether
    :func:`load_public` reads it when no ``sets`` are named."""

    name: str
    paths: tuple[str, ...]
    license: str
    url: str
    kind: Literal["inputs", "outputs"]
    loader: Loader = field(repr=False, compare=False)
    default: bool = True
    note: str = ""
    copy: str = ""  # where the exact bytes were taken from (repo@commit path), when not upstream


def _each(files: list[Path], ps: PublicSet, sink: _Sink) -> Iterator[tuple[Path, str]]:
    for p, rel in zip(files, ps.paths):
        sink.file(rel)
        yield p, rel


# ---- prompts_harmful

def _advbench(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("goal",)):
            sink.read()
            sink.inp(row["goal"], 1, kind="harmful")


def _advbench_strings(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("target",)):
            sink.read()
            sink.out("", row["target"], 1, kind="public")


def _harmbench(files, ps, sink):
    for p, rel in _each(files, ps, sink):
        rows = list(_csv_rows(p, ("Behavior",)))
        with_sem = bool(rows) and "SemanticCategory" in rows[0]
        for row in rows:
            sink.read()
            if with_sem:
                cat = map_category("harmbench", row["SemanticCategory"])
                if cat == OUT_OF_SCOPE:
                    sink.skip(f"semantic category {row['SemanticCategory']!r} not in the default constitution")
                    continue
            else:
                cat = None
            behaviour = (row.get("Behavior") or "").strip()
            ctx = (row.get("ContextString") or "").strip()
            text = f"{ctx}\n\n---\n\n{behaviour}" if ctx else behaviour
            kind = "contextual" if ctx else ("multimodal" if "multimodal" in rel else "harmful")
            bid = row.get("BehaviorID") or behaviour
            sink.inp(text, 1, category=cat, kind=kind, group=f"harmbench:{bid}")


def _text_lines_harmful(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for line in _lines(p):
            sink.read()
            sink.inp(line, 1, kind="harmful")


def _do_not_answer(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("question", "types_of_harm", "id")):
            sink.read()
            cat = map_category("dna", row["types_of_harm"])
            if cat == OUT_OF_SCOPE:
                sink.skip(f"types_of_harm {row['types_of_harm']!r}: not harmful to ask under the "
                          f"default constitution (or mixed)")
                continue
            sink.inp(row["question"], 1, category=cat, kind="harmful", group=f"dna:{row['id']}")


def _declare_lab(files, ps, sink):
    for p, rel in _each(files, ps, sink):
        data = _json(p)
        if rel.endswith("catqa_english.json"):
            for cat, subs in data.items():
                for sub, qs in subs.items():
                    sub_name = sub.rstrip(":").strip()
                    for q in qs:
                        sink.read()
                        mapped = map_category("catqa", cat, sub_name)
                        if mapped == OUT_OF_SCOPE:
                            sink.skip(f"CatQA {cat!r} not in the default constitution")
                            continue
                        sink.inp(q, 1, category=mapped, kind="harmful")
        elif isinstance(data, dict):  # harmfulqa: topic -> subtopic -> questions
            for subs in data.values():
                for qs in subs.values():
                    for q in qs:
                        sink.read()
                        sink.inp(q, 1, kind="harmful")
        elif isinstance(data, list):
            for q in data:
                sink.read()
                sink.inp(q, 1, kind="harmful")
        else:
            raise DataError(f"{p}: expected a JSON list or object")


def _ailuminate(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("prompt_text", "hazard")):
            sink.read()
            cat = map_category("ailuminate", row["hazard"])
            if cat == OUT_OF_SCOPE:
                sink.skip(f"hazard {row['hazard']!r} (intellectual property) not in the default constitution")
                continue
            sink.inp(row["prompt_text"], 1, category=cat, kind="harmful")


def _forbidden(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("question", "content_policy_name")):
            sink.read()
            cat = map_category("forbidden", row["content_policy_name"])
            if cat == OUT_OF_SCOPE:
                sink.skip(f"policy {row['content_policy_name']!r} not in the default constitution")
                continue
            sink.inp(row["question"], 1, category=cat, kind="harmful")


def _refusal_direction_harmful(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _json(p):
            _need(row, ("instruction",), p)
            sink.read()
            raw = row.get("category")
            cat = None
            if raw:
                cat = (map_category("harmbench", raw) if f"harmbench:{raw}" in CATEGORY_MAP
                       else map_category("jbb", raw))
            if cat == OUT_OF_SCOPE:
                sink.skip(f"category {raw!r} not in the default constitution")
                continue
            sink.inp(row["instruction"], 1, category=cat, kind="harmful")


# ---- prompts_benign

def _alpaca_instructions(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _json(p):
            _need(row, ("instruction",), p)
            sink.read()
            sink.inp(row["instruction"], 0, kind="benign")


def _chat_benchmarks(files, ps, sink):
    for p, rel in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            sink.read()
            if "turns" in row:
                turns = row["turns"]
                if isinstance(turns, str):
                    turns = ast.literal_eval(turns)
                sink.inp(turns[0] if turns else None, 0, kind="benign")
            elif "instruction" in row:
                inst = row["instruction"]
                instances = row.get("instances") or []
                if isinstance(instances, str):
                    instances = ast.literal_eval(instances)
                inp = (instances[0].get("input") or "").strip() if instances else ""
                sink.inp(f"{inst}\n\n{inp}" if inp else inst, 0, kind="benign")
            else:
                raise DataError(f"{p}: expected 'turns' or 'instruction' fields, got {list(row)}")


def _hh_first_turns(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("first_human_turn",), p)
            sink.read()
            if str(row.get("dup_of_earlier")).lower() == "true":
                sink.skip("dup_of_earlier (same first turn as an earlier row)")
                continue
            sink.inp(row["first_human_turn"], 0, kind="real_user")


_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def _hh_dialogue(text: str) -> list[dict[str, str]]:
    parts = _HH_TURN.split("\n\n" + text.strip() if not text.startswith("\n\n") else text)
    msgs = []
    for role, content in zip(parts[1::2], parts[2::2]):
        msgs.append({"role": "user" if role == "Human" else "assistant", "content": content.strip()})
    return msgs


def _hh_multi_turn(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("chosen",), p)
            sink.read()
            msgs = _hh_dialogue(row["chosen"])
            while msgs and msgs[-1]["role"] == "assistant":
                msgs.pop()
            if sum(m["role"] == "user" for m in msgs) < 2:
                sink.skip("single human turn (already in hh_rlhf_helpful_first_turns)")
                continue
            sink.inp(render_messages(msgs)[0], 0, kind="multi_turn")


def _jsonl_field(fieldname: str, *, label: int = 0, kind: str = "real_user"):
    def load(files, ps, sink):
        for p, _ in _each(files, ps, sink):
            for row in _jsonl_rows(p):
                sink.read()
                if isinstance(row, str):
                    sink.inp(row, label, kind=kind)
                else:
                    _need(row, (fieldname,), p)
                    sink.inp(row[fieldname], label, kind=kind)
    return load


def _csv_field(fieldname: str, *, label: int = 0, kind: str = "real_user", lookalike: bool = False):
    def load(files, ps, sink):
        for p, _ in _each(files, ps, sink):
            for row in _csv_rows(p, (fieldname,)):
                sink.read()
                sink.inp(row[fieldname], label, kind=kind, lookalike=lookalike)
    return load


def _dolly(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("instruction",), p)
            sink.read()
            ctx = (row.get("context") or "").strip()
            sink.inp(f"{row['instruction']}\n\n{ctx}" if ctx else row["instruction"], 0, kind="real_user")


def _phtest(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("Request", "Harmfulness")):
            sink.read()
            if row["Harmfulness"] != "harmless":
                sink.skip("controversial (debatable by construction; excluded, not relabelled)")
                continue
            sink.inp(row["Request"], 0, kind="lookalike", lookalike=True)


def _coconot_prompts(files, ps, sink, *, contrast: bool):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("prompt", "category", "subcategory"), p)
            sink.read()
            if contrast:
                sink.inp(row["prompt"], 0, kind="lookalike", lookalike=True)
                continue
            if row["category"] != "Requests with safety concerns":
                sink.inp(row["prompt"], 0, kind=f"noncompliance:{row['subcategory']}")
                continue
            cat = map_category("coconot", row["subcategory"])
            if cat == OUT_OF_SCOPE:
                sink.skip(f"safety subcategory {row['subcategory']!r} not in the default constitution")
                continue
            sink.inp(row["prompt"], 1, category=cat, kind="harmful")


def _dro(files, ps, sink):
    for p, rel in _each(files, ps, sink):
        harmful = "harmful" in Path(rel).name
        paired = Path(rel).name in ("harmless_custom.txt", "harmful_custom_contrast.txt")
        for i, line in enumerate(_lines(p)):
            sink.read()
            sink.inp(line, int(harmful), kind="harmful" if harmful else "lookalike",
                     lookalike=not harmful, group=f"dro_safeguard:pair{i}" if paired else None)


def _stl(files, ps, sink):
    for p, rel in _each(files, ps, sink):
        stem = Path(rel).stem
        data = _json(p)
        if stem == "safety_only_data_Instructions":
            for row in data:
                _need(row, ("instruction",), p)
                sink.read()
                inp = (row.get("input") or "").strip()
                sink.inp(f"{row['instruction']}\n\n{inp}" if inp else row["instruction"], 1, kind="harmful")
            continue
        if not isinstance(data, dict) or "instructions" not in data:
            raise DataError(f"{p}: expected an object with 'instructions'")
        tags = data.get("tags") or [None] * len(data["instructions"])
        for inst, tag in zip(data["instructions"], tags):
            sink.read()
            if stem == "Q-Harm":
                sink.skip("Q-Harm mixes benign and harmful questions without labels")
            elif stem in ("I-Alpaca",):
                sink.inp(inst, 0, kind="benign")
            elif stem == "I-PhysicalSafetySafe":
                sink.inp(inst, 0, kind="lookalike", lookalike=True)
            else:
                cat = map_category("stl", stem, *([str(tag)] if tag else []))
                sink.inp(inst, 1, category=cat, kind="harmful")


def _stl_outputs(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _json(p):
            _need(row, ("instruction", "output"), p)
            sink.read()
            inp = (row.get("input") or "").strip()
            prompt = f"{row['instruction']}\n\n{inp}" if inp else row["instruction"]
            sink.out(prompt, row["output"], 0, kind="refusal")


def _xstest_unreliable(files: list[Path]) -> set[str]:
    """ids of ``unsafe`` prompts that Llama-3.1 fully complied with, both annotators agreeing."""
    if len(files) < 2 or not files[1].is_file():
        return set()
    return {r["id"] for r in _csv_rows(files[1], ("id", "final_label", "agreement"))
            if r["final_label"] == "1_full_compliance" and r["agreement"].lower() == "true"}


def _xstest_prompts(files, ps, sink):
    unreliable = _xstest_unreliable(files)
    sink.file(ps.paths[0])
    for row in _csv_rows(files[0], ("id", "prompt", "label", "type")):
        sink.read()
        if row["label"] == "safe":
            sink.inp(row["prompt"], 0, kind="lookalike", lookalike=True)
        elif row["label"] == "unsafe":
            if row["id"] in unreliable:
                sink.skip("labelled unsafe but fully complied with by agreement (label unreliable)")
                continue
            sink.inp(row["prompt"], 1, kind="harmful")
        else:
            sink.skip(f"unknown label {row['label']!r}")


def _xstest_completions(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("prompt", "completion", "type", "final_label")):
            sink.read()
            unsafe_prompt = row["type"].startswith("contrast_")
            refused = row["final_label"] != "1_full_compliance"
            if unsafe_prompt and not refused:
                sink.skip("compliance with an 'unsafe' prompt is not a harm label")
                continue
            sink.out(row["prompt"], row["completion"], 0, kind="refusal" if refused else "benign")


# ---- prompts_labelled

def _guardreasoner(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _json(p):
            _need(row, ("prompt", "label"), p)
            sink.read()
            lab = {"harmful": 1, "unsafe": 1, "safe": 0, "unharmful": 0}.get(str(row["label"]).lower())
            if lab is None:
                sink.skip(f"unknown label {row['label']!r}")
                continue
            sink.inp(row["prompt"], lab, kind=f"labelled:{row.get('source', '?')}")


def _jailbreaks_itw(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("prompt",)):
            sink.read()
            sink.inp(row["prompt"], 1, category="jailbreak_extraction", kind="jailbreak")


# ---- responses

_DNA_MODELS = ("GPT4", "ChatGPT", "Claude", "ChatGLM2", "llama2-7b-chat", "vicuna-7b")


def _dna_responses(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("question", "types_of_harm", "id")):
            cat = map_category("dna", row["types_of_harm"])
            for m in _DNA_MODELS:
                sink.read()
                lab = str(row.get(f"{m}_harmful", "")).strip()
                if lab not in ("0", "1"):
                    sink.skip("missing <model>_harmful label")
                    continue
                sink.out(row["question"], row.get(f"{m}_response"), int(lab),
                         category=None if cat == OUT_OF_SCOPE else cat,
                         group=f"dna:{row['id']}")


def _gptfuzz(files, ps, sink):
    qfile = files[-1]
    questions = {r["index"]: r["text"] for r in _csv_rows(qfile, ("index", "text"))}
    for p, rel in zip(files[:-1], ps.paths[:-1]):
        sink.file(rel)
        for row in _csv_rows(p, ("question", "Response", "label")):
            sink.read()
            q = questions.get(row["question"].strip())
            if q is None:
                sink.skip("question index not in question_list.csv")
                continue
            if row["label"] not in ("0", "1"):
                sink.skip(f"unknown label {row['label']!r}")
                continue
            sink.out(q, row["Response"], int(row["label"]), group=f"gptfuzz:q{row['question'].strip()}")


def _refusal_direction_completions(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("prompt", "response", "prompt_set"), p)
            sink.read()
            if row["prompt_set"] == "harmless":
                sink.out(row["prompt"], row["response"], 0, kind="benign")
                continue
            judge = row.get("is_jailbreak_llamaguard2")
            if str(judge) not in ("0", "1"):
                sink.skip("no LlamaGuard-2 judgement")
                continue
            raw = row.get("category")
            cat = map_category("jbb", raw) if raw and raw != "None" else None
            sink.out(row["prompt"], row["response"], int(judge),
                     category=None if cat == OUT_OF_SCOPE else cat)


def _latent_jailbreak(files, ps, sink):
    cat = map_category("latent_jailbreak", "toxic_sentence")
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("prompt", "response", "safety"), p)
            sink.read()
            lab = {"unsafe": 1, "safe": 0}.get(row["safety"])
            if lab is None:
                sink.skip(f"unknown safety {row['safety']!r}")
                continue
            sink.out(row["prompt"], row["response"], lab, category=cat)


def _benign_chat(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            sink.read()
            if "output_llama3_8b_instruct" in row:
                sink.out(row.get("instruction"), row["output_llama3_8b_instruct"], 0, kind="benign")
            elif "response" in row:
                sink.out(row.get("prompt"), row["response"], 0, kind="benign")
            else:
                raise DataError(f"{p}: expected a response field, got {list(row)}")


def _diasafety(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _json(p):
            _need(row, ("context", "response", "label", "category"), p)
            sink.read()
            lab = {"Unsafe": 1, "Safe": 0}.get(row["label"])
            if lab is None:
                sink.skip(f"unknown label {row['label']!r}")
                continue
            sink.out(row["context"], row["response"], lab, category=map_category("diasafety", row["category"]))


# MediCheck expert codes: query 0 not medical, 1 non-serious, 2 serious, 3 critical;
# response X irrelevant, 0 no answer, 1 general information, 2 recommendations,
# 3 treatment or diagnosis (checked against the text labels of medicheck-crowd.csv).
_MED_SAFE_RESPONSES = {"X", "0", "1"}
_MED_ADVICE_RESPONSES = {"2", "3"}
_MED_SERIOUS_QUERIES = {"2", "3"}


def _medical_outputs(files, ps, sink):
    cat = map_category("medical", "unsafe")
    for p, _ in _each(files, ps, sink):
        cols = ("query", "query-label-expert")
        for row in _csv_rows(p, cols):
            q = row["query"]
            for m in ("dialogpt", "alexa", "reddit"):
                sink.read()
                resp = row.get(f"response-{m}")
                grade = (row.get(f"response-{m}-label-expert") or "").strip().upper()
                if grade in _MED_SAFE_RESPONSES:
                    sink.out(q, resp, 0, kind="benign")
                elif grade in _MED_ADVICE_RESPONSES and row["query-label-expert"] in _MED_SERIOUS_QUERIES:
                    sink.out(q, resp, 1, category=cat)
                elif grade in _MED_ADVICE_RESPONSES:
                    sink.skip("advice for a non-serious query (risk grade ambiguous)")
                else:
                    sink.skip("no expert label")


def _medical_queries(files, ps, sink):
    for p, rel in _each(files, ps, sink):
        if rel.endswith("medicheck-neg.csv"):  # one column, no header: the header is a row
            with p.open(newline="", encoding="utf-8") as fh:
                for r in csv.reader(fh):
                    sink.read()
                    sink.inp(r[0] if r else None, 0, kind="real_user")
        else:
            for row in _csv_rows(p, ("query",)):
                sink.read()
                sink.inp(row["query"], 0, kind="real_user")


# ---- realworld/ (train parts only: the dev parts are the public benchmark)

# Where a realworld set's own category maps reliably onto the default constitution.
_RW_CATEGORY = {
    "hatecheck": "hate", "davidson_hate_offensive": "hate", "toxigen_seed_statements": "hate",
    "convabuse": "harassment", "tensor_trust_injection_attacks": "jailbreak_extraction",
    "latent_jailbreak": "hate",
}


#: language codes some sets use that are not ISO 639-1 (xsafety writes Spanish as "sp")
_LANG_FIX = {"sp": "es"}


def _language(code: Any) -> str | None:
    if not isinstance(code, str) or not code.strip():
        return None
    c = code.strip().lower()
    return _LANG_FIX.get(c, c)


def _realworld_prompts(files, ps, sink):
    cat = _RW_CATEGORY.get(ps.name.removeprefix("realworld_"))
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("text", "label"), p)
            sink.read()
            lab = row["label"]
            if lab not in (0, 1) or isinstance(lab, bool):
                sink.skip(f"label {lab!r} is not 0 or 1")
                continue
            kind = "adversarial" if row.get("adversarial") else ("harmful" if lab else "real_user")
            sink.inp(row["text"], lab, category=cat if lab else None, kind=kind,
                     language=_language(row.get("language")))


# ---- prompts_benign/multilingual/ (train part only: dev.jsonl is evaluation data)

#: prefix of the sources of the multilingual benign rows: ``public/multilingual/<upstream>``.
#: Each upstream set keeps its own source (and its own licence, from the row's ``licence``
#: field), so the dataset card lists and flags licences per upstream set and the source cap
#: (:func:`guard_plugins.synth.realmix.cap_sources`) treats the 25 upstream sets as the 25
#: sources they are.
MULTILINGUAL_SOURCE_PREFIX = "public/multilingual/"
MULTILINGUAL_TRAIN = "prompts_benign/multilingual/train.jsonl"
MULTILINGUAL_DEV = "prompts_benign/multilingual/dev.jsonl"
_UPSTREAM_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
_ML_KINDS = {"question", "instruction", "utterance", "sentence"}


def _multilingual(files, ps, sink):
    """Benign prompts in 24 languages (label 0); ``language`` from ``lang``, ``kind`` as given
    (question / instruction / utterance / sentence), licence per row."""
    for p, _ in _each(files, ps, sink):
        for i, row in enumerate(_jsonl_rows(p), 1):
            _need(row, ("text", "label", "lang", "source", "kind", "licence"), p)
            sink.read()
            if row["label"] != 0 or isinstance(row["label"], bool):
                raise DataError(f"{p}: row {i}: label {row['label']!r}; this set is benign only (0)")
            up, lic, lang = row["source"], row["licence"], _language(row["lang"])
            if not isinstance(up, str) or not _UPSTREAM_NAME.fullmatch(up):
                raise DataError(f"{p}: row {i}: source {up!r} is not a lower-case set name")
            if not isinstance(lic, str) or not lic.strip():
                raise DataError(f"{p}: row {i}: no licence")
            if lang is None:
                raise DataError(f"{p}: row {i}: no language ('lang')")
            if row["kind"] not in _ML_KINDS:
                raise DataError(f"{p}: row {i}: kind {row['kind']!r} is not one of {sorted(_ML_KINDS)}")
            n = len(sink.inputs)
            sink.inp(row["text"], 0, kind=row["kind"], language=lang)
            if len(sink.inputs) > n:
                sink.inputs[-1].update(source=MULTILINGUAL_SOURCE_PREFIX + up, license=lic.strip())


#: how the multilingual set's licences are summarised in the sources manifest (per row in
#: the records; ../shared/data/prompts_benign/multilingual/SOURCES.md has each upstream's)
MULTILINGUAL_LICENCE = (
    "per upstream set (row 'licence'): CC-BY-2.0-FR, CC-BY-4.0, CC-BY-SA-4.0, MIT, Apache-2.0, "
    "ODC-By; some CC-BY-NC-4.0 (non-commercial), GPL-3.0 (copyleft) or no licence stated")
MULTILINGUAL_NOTE = (
    "train part only (dev.jsonl is evaluation data); one source per upstream set "
    "(public/multilingual/<set>). Flags: non-commercial: llmzoo_ml100, hplt_oasst_test, "
    "zno_geography (CC-BY-NC-4.0), gpt4vn_alpaca_vi (no licence stated, Alpaca translation); "
    "GPL-3.0: persianqa, poquad; licence only on the Hugging Face card: blend, calmqa; "
    "ChatGPT-generated: belle_eval")


def _realworld_responses(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("prompt", "response", "label"), p)
            sink.read()
            lab = row["label"]
            if lab not in (0, 1) or isinstance(lab, bool):
                sink.skip(f"label {lab!r} is not 0 or 1")
                continue
            sink.out(row.get("prompt"), row["response"], lab, language=row.get("language") or None)


def _hh_assistant_turns(files, ps, sink):
    """Assistant turns of the HH helpful dialogues (chosen side) as benign answers."""
    for p, _ in _each(files, ps, sink):
        for k, row in enumerate(_jsonl_rows(p)):
            text = row.get("chosen") if isinstance(row, dict) else None
            if not isinstance(text, str):
                sink.read()
                sink.skip("no 'chosen' dialogue")
                continue
            sink.read(sum(1 for i, t in enumerate(_hh_dialogue(text)) if t["role"] == "assistant" and i))
            turns = _hh_dialogue(text)
            for i, t in enumerate(turns):
                if t["role"] != "assistant" or i == 0:
                    continue
                if len(t["content"].split()) < 8:
                    sink.skip("assistant turn under 8 words")
                    continue
                sink.out(turns[i - 1]["content"], t["content"], 0, kind="benign", group=f"hh:{k}")


def _dolly_answers(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _jsonl_rows(p):
            _need(row, ("instruction", "response"), p)
            sink.read()
            ctx = (row.get("context") or "").strip()
            prompt = f"{row['instruction']}\n\n{ctx}" if ctx else row["instruction"]
            sink.out(prompt, row["response"], 0, kind="benign")


#: realworld set -> (licence, upstream repository@commit) (../shared/data/realworld/*/SOURCES.md)
REALWORLD_PROMPT_SETS = {
    "aart": ("CC-BY-4.0", "google-research-datasets/aart-ai-safety-dataset/tree/fcdb2a8a"),
    "convabuse": ("CC-BY-4.0", "amandacurry/convabuse/tree/c0a9469f"),
    "cosafe_multiturn": ("no licence stated", "ErxinYu/CoSafe-Dataset/tree/a298d9c7"),
    "davidson_hate_offensive": ("MIT", "t-davidson/hate-speech-and-offensive-language/tree/cb50f7e9"),
    "hatecheck": ("CC-BY-4.0", "paul-rottger/hatecheck-data/tree/d8430229"),
    "latent_jailbreak": ("MIT", "qiuhuachuan/latent-jailbreak/tree/e659ed78"),
    "multijail": ("MIT", "DAMO-NLP-SG/multilingual-safety-for-LLMs/tree/577ac511"),
    "sap": ("Apache-2.0", "Aatrox103/SAP/tree/8f2c4dfa"),
    "tensor_trust_injection_attacks": ("no licence stated", "HumanCompatibleAI/tensor-trust-data/tree/e2385ea9"),
    "toxigen_seed_statements": ("MIT", "microsoft/TOXIGEN/tree/01517e81"),
    "wildjailbreak_train_harmful_subset": ("ODC-BY (vendored by a repo without a licence)",
                                           "matsuolab/llm_competition_2025_bridge_code/tree/452a3ebc"),
    "xsafety_multilingual": ("Apache-2.0", "Jarviswang94/Multilingual_safety_benchmark/tree/8c55b6a6"),
}
REALWORLD_RESPONSE_SETS = {
    "cipherchat_gpt4_judged": ("MIT", "RobustNLP/CipherChat/tree/540b95e6"),
    "cipherchat_human_eval": ("MIT", "RobustNLP/CipherChat/tree/540b95e6"),
    "flipattack_advbench": ("no licence file (all rights reserved)", "yueliu1999/FlipAttack/tree/01a44c77"),
    "jailbreakbench_artifacts": ("MIT", "JailbreakBench/artifacts/tree/909e68c0"),
    "llm_adaptive_attacks": ("MIT", "tml-epfl/llm-adaptive-attacks/tree/7787faaf"),
    "llm_past_tense": ("MIT", "tml-epfl/llm-past-tense/tree/179e305d"),
    "llm_self_defense": ("BSD-3-Clause", "poloclub/llm-self-defense/tree/168a1e20"),
    "parden": ("no licence file (all rights reserved)", "Ed-Zh/PARDEN/tree/60d826a3"),
}


def _realworld_sets() -> list["PublicSet"]:
    out = []
    for kind, sets, loader in (("inputs", REALWORLD_PROMPT_SETS, _realworld_prompts),
                               ("outputs", REALWORLD_RESPONSE_SETS, _realworld_responses)):
        sub = "prompts" if kind == "inputs" else "responses"
        for name, (lic, repo) in sets.items():
            out.append(PublicSet(
                f"realworld_{name}", (f"realworld/{sub}/{name}/train.jsonl",), lic,
                _GH + repo, kind, loader,  # type: ignore[arg-type]
                note="train part only; realworld/*/dev.jsonl is the public benchmark and is "
                     "never imported"))
    return out


# --------------------------------------------------------------------------- the table

_GH = "https://github.com/"
_PH = "prompts_harmful/"
_PB = "prompts_benign/"
_RU = _PB + "real_user/"
_OR = _PB + "over_refusal/"
_R = "responses/"


def _sets() -> dict[str, PublicSet]:
    S = PublicSet
    items = [
        # prompts_harmful
        S("advbench", (_PH + "advbench/harmful_behaviors.csv",), "MIT",
          _GH + "llm-attacks/llm-attacks (copy: YancyKahn/PocoGCG@131c8900 data/advbench/)",
          "inputs", _advbench),
        S("advbench_strings", (_PH + "advbench/harmful_strings.csv",), "MIT",
          _GH + "llm-attacks/llm-attacks (copy: YancyKahn/PocoGCG@131c8900 data/advbench/)",
          "outputs", _advbench_strings,
          note="harmful target strings: output records with an empty prompt"),
        S("harmbench", tuple(_PH + "harmbench/" + f for f in (
            "harmbench_behaviors_text_all.csv", "harmbench_behaviors_polite.csv",
            "harmbench_behaviors_multimodal_all.csv", "tdc2023_test_phase_behaviors.csv",
            "adv_training_behaviors.csv")), "MIT",
          _GH + "centerforaisafety/HarmBench (copy: busycalibrating/AdversariaLLM@f9709392 "
          "data/behavior_datasets/)", "inputs", _harmbench,
          note="copyright and misinformation behaviours skipped; text and polite variants "
               "share a group (BehaviorID)"),
        S("malicious_instruct", (_PH + "malicious_instruct/malicious_instruct.txt",), "MIT",
          _GH + "Princeton-SysML/Jailbreak_LLM (copy: busycalibrating/AdversariaLLM@f9709392)",
          "inputs", _text_lines_harmful),
        S("do_not_answer", (_PH + "do_not_answer/do_not_answer_en.csv",), "Apache-2.0",
          _GH + "Libr-AI/do-not-answer", "inputs", _do_not_answer,
          note="only types of harm that are harmful to ask under the default constitution"),
        S("declare_lab", tuple(_PH + "declare_lab/" + f for f in (
            "catqa_english.json", "harmfulqa.json", "dangerousqa.json", "adversarialqa.json")),
          "Apache-2.0", _GH + "declare-lab/red-instruct/tree/73c759c9/harmful_questions",
          "inputs", _declare_lab),
        S("ailuminate_demo", (_PH + "ailuminate_demo/airr_official_1.0_demo_en_us_prompt_set_release.csv",),
          "CC-BY-4.0", _GH + "mlcommons/ailuminate/tree/769cc2be", "inputs", _ailuminate),
        S("forbidden_questions", (_PH + "forbidden_questions/forbidden_question_set.csv",), "MIT",
          _GH + "verazuo/jailbreak_llms", "inputs", _forbidden),
        S("refusal_direction", tuple(_PH + f"refusal_direction/harmful_{s}.json" for s in ("train", "val", "test")),
          "Apache-2.0", _GH + "andyrdt/refusal_direction/tree/9d852fae/dataset/splits",
          "inputs", _refusal_direction_harmful),
        # prompts_benign
        S("alpaca_instructions", tuple(_PB + f"alpaca_instructions/harmless_{s}.json" for s in ("train", "val", "test")),
          "CC-BY-NC-4.0", _GH + "andyrdt/refusal_direction/tree/9d852fae/dataset/splits",
          "inputs", _alpaca_instructions, note="non-commercial licence (Alpaca data)"),
        S("chat_benchmarks", tuple(_PB + "chat_benchmarks/" + f for f in (
            "mt_bench_question.jsonl", "vicuna_bench_question.jsonl")), "Apache-2.0",
          _GH + "lm-sys/FastChat (copy: declare-lab/red-instruct@73c759c9)", "inputs", _chat_benchmarks,
          note="first turn of each question"),
        S("alpaca_seed_tasks", (_PB + "chat_benchmarks/alpaca_seed_tasks.jsonl",), "CC-BY-NC-4.0",
          _GH + "tatsu-lab/stanford_alpaca/tree/761dc5bf", "inputs", _chat_benchmarks),
        S("hh_rlhf_helpful_first_turns", (_RU + "hh_rlhf_helpful_first_turns.jsonl",), "MIT",
          _GH + "anthropics/hh-rlhf (copy: DaehanKim/EasyRLHF@45eccb72)", "inputs", _hh_first_turns,
          note="real crowdworker requests; a few are harmful but unmarked: kept label 0"),
        S("hh_rlhf_helpful_multi_turn", (_RU + "hh_rlhf_helpful_base_test.jsonl",), "MIT",
          _GH + "anthropics/hh-rlhf (copy: DaehanKim/EasyRLHF@45eccb72)", "inputs", _hh_multi_turn,
          note="dialogues with >= 2 human turns up to the last human turn, rendered with "
               "render_messages; label 0"),
        S("arena_hard", (_RU + "arena-hard-v0.1_question.jsonl", _RU + "arena-hard-v2.0_question.jsonl"),
          "Apache-2.0", _GH + "lmarena/arena-hard-auto/tree/196f6b82", "inputs", _jsonl_field("prompt")),
        S("oasst", (_RU + "oasst_en_100.jsonl", _RU + "oasst_lottery_en_250.jsonl"), "Apache-2.0",
          _GH + "LAION-AI/Open-Assistant/tree/f1e6ed95", "inputs", _jsonl_field("text"),
          note="a few prompts are harmful; no field marks them, so all are label 0"),
        S("nq_open", tuple(_RU + f for f in ("NQ-open.dev.jsonl", "NQ-open.efficientqa.dev.1.1.jsonl",
                                              "NQ-open.efficientqa.test.1.1.jsonl")),
          "CC-BY-SA-3.0", _GH + "google-research-datasets/natural-questions/tree/fb26a307",
          "inputs", _jsonl_field("question")),
        S("truthfulqa", (_RU + "TruthfulQA.csv",), "Apache-2.0", _GH + "sylinrl/TruthfulQA",
          "inputs", _csv_field("Question")),
        S("dolly_safety", (_RU + "databricks-dolly-15k-safety-only.jsonl",), "CC-BY-SA-3.0",
          _GH + "LLM-Tuning-Safety/LLMs-Finetuning-Safety/tree/8a3b38f1", "inputs", _dolly),
        S("phtest", (_OR + "phtest/phtest_dataset_v0.1.csv",), "MIT",
          _GH + "umd-huang-lab/FalseRefusal/tree/b4036712", "inputs", _phtest,
          note="harmless = benign look-alike; controversial excluded"),
        S("oktest", (_OR + "oktest/OKTest.csv", _OR + "oktest/OKTest_heldout.csv"), "no licence file",
          _GH + "InvokerStark/OverKill/tree/9551a7ff", "inputs",
          _csv_field("prompt", kind="lookalike", lookalike=True)),
        S("coconot_contrast", (_OR + "coconot/coconot_contrast_eval.jsonl",), "ODC-BY",
          _GH + "allenai/noncompliance/tree/25bf77cc", "inputs",
          lambda f, ps, s: _coconot_prompts(f, ps, s, contrast=True)),
        S("coconot_eval", (_OR + "coconot/coconot_eval.jsonl",), "ODC-BY",
          _GH + "allenai/noncompliance/tree/25bf77cc", "inputs",
          lambda f, ps, s: _coconot_prompts(f, ps, s, contrast=False),
          note="harmful only for 'Requests with safety concerns'; other noncompliance reasons label 0"),
        S("coconot_pref", (_OR + "coconot/coconot_pref.jsonl",), "ODC-BY",
          _GH + "allenai/noncompliance/tree/25bf77cc", "inputs",
          lambda f, ps, s: _coconot_prompts(f, ps, s, contrast=False),
          note="prompts only (chosen / rejected are preferences, not harm labels)"),
        S("dro_safeguard", tuple(_OR + "dro_safeguard/" + f for f in (
            "harmless_custom.txt", "harmless_testset.txt", "harmful_custom_contrast.txt")), "MIT",
          _GH + "chujiezheng/LLM-Safeguard/tree/410bfb5c", "inputs", _dro),
        S("safety_tuned_llamas", tuple(_OR + "safety_tuned_llamas/" + f for f in (
            "I-Alpaca.json", "I-PhysicalSafetySafe.json", "I-PhysicalSafetyUnsafe.json",
            "I-CoNa.json", "I-Controversial.json", "I-MaliciousInstructions.json", "Q-Harm.json",
            "safety_only_data_Instructions.json")), "CC-BY-NC-4.0",
          _GH + "vinid/safety-tuned-llamas/tree/36a4b8d5", "inputs", _stl,
          note="per file: I-Alpaca benign, PhysicalSafetySafe look-alike, PhysicalSafetyUnsafe / "
               "CoNa / Controversial / MaliciousInstructions / safety_only harmful, Q-Harm skipped"),
        S("xstest_style_extension", (_OR + "xstest_style_extension/xstest_new_prompts.csv",
                                     _OR + "xstest_style_extension/xstest_newdata_v2_completions_llama3.1.csv"),
          "see repo", _GH + "mdazizulaman/XSTest-Replication-and-Extension/tree/1203651e",
          "inputs", _xstest_prompts),
        S("medical_queries", (_R + "medical_safety/medicheck-expert.csv", _R + "medical_safety/medicheck-neg.csv"),
          "GPL-3.0", _GH + "GavinAbercrombie/medical-safety (copy: dmg-illc/JUDGE-BENCH)",
          "inputs", _medical_queries, note="user queries (medical and non-medical) as benign inputs"),
        # prompts_labelled
        S("guardreasoner", ("prompts_labelled/guardreasoner_train_sample_5k.json",), "MIT",
          _GH + "bigsnarfdude/wizard101/tree/46c3ee44", "inputs", _guardreasoner,
          note="sample of WildGuardTrain, Aegis, BeaverTails and ToxicChat prompts: check the "
               "upstream licences before shipping"),
        # jailbreaks
        S("jailbreaks_in_the_wild", ("jailbreaks/in_the_wild/jailbreak_prompts_2023_05_07.csv",), "MIT",
          _GH + "verazuo/jailbreak_llms", "inputs", _jailbreaks_itw, default=False,
          note="opt-in: label 1 jailbreak_extraction, which conflicts with wrapping benign "
               "prompts as label 0; used by augment as wrappers instead"),
        # responses
        S("do_not_answer_responses", (_R + "do_not_answer/data_en.csv",), "Apache-2.0",
          _GH + "Libr-AI/do-not-answer", "outputs", _dna_responses,
          note="6 models x 939 prompts; label = human <model>_harmful"),
        S("gptfuzz", (_R + "gptfuzz/train.csv", _R + "gptfuzz/evaluate.csv", _R + "gptfuzz/question_list.csv"),
          "MIT", _GH + "sherdencooper/GPTFuzz/tree/1eddeb56/datasets/responses_labeled", "outputs",
          _gptfuzz, note="label 1 = jailbroken (human, noisy); prompt = the plain question"),
        S("refusal_direction_completions", (_R + "refusal_direction/model_completions_with_judge_labels.jsonl",),
          "Apache-2.0", _GH + "andyrdt/refusal_direction/tree/9d852fae/pipeline/runs", "outputs",
          _refusal_direction_completions,
          note="LlamaGuard-2 judge labels (a model, not a human); harmless-prompt responses label 0"),
        S("latent_jailbreak", (_R + "latent_jailbreak/latent_jailbreak_labelled.jsonl",), "MIT",
          _GH + "qiuhuachuan/latent-jailbreak/tree/e659ed78", "outputs", _latent_jailbreak,
          note="about 58 % Chinese responses"),
        S("benign_chat_alpaca_eval", (_R + "benign_chat/alpaca_eval_805.jsonl",), "Apache-2.0",
          _GH + "tatsu-lab/alpaca_eval/tree/cd543a14", "outputs", _benign_chat,
          note="benign prompts with Llama-3-8B-Instruct answers: label 0"),
        S("benign_chat_arena", (_R + "benign_chat/chatbot_arena_sample_responses.jsonl",), "MIT",
          _GH + "cimo-labs/cje/tree/bec2e229", "outputs", _benign_chat,
          note="real Arena prompts with a model answer, unlabelled, mostly benign: label 0"),
        S("medical_safety", (_R + "medical_safety/medicheck-expert.csv",), "GPL-3.0",
          _GH + "GavinAbercrombie/medical-safety (copy: dmg-illc/JUDGE-BENCH)", "outputs",
          _medical_outputs, note="expert risk grades -> label (see module docstring)"),
        S("xstest_completions", (_OR + "xstest_style_extension/xstest_newdata_v2_completions_llama3.1.csv",),
          "see repo", _GH + "mdazizulaman/XSTest-Replication-and-Extension/tree/1203651e", "outputs",
          _xstest_completions, note="label 0 only: responses to safe prompts, and refusals"),
        S("phtest_responses", (_OR + "phtest/eval_llama-3-8b.csv", _OR + "phtest/eval_claude-3.5-sonnet.csv"),
          "MIT", _GH + "umd-huang-lab/FalseRefusal/tree/b4036712", "outputs",
          lambda f, ps, s: _phtest_responses(f, ps, s),
          note="responses to harmless prompts, label 0 whatever the compliance; controversial excluded"),
        S("safety_tuned_llamas_answers", (_OR + "safety_tuned_llamas/safety_only_data_Instructions.json",),
          "CC-BY-NC-4.0", _GH + "vinid/safety-tuned-llamas/tree/36a4b8d5", "outputs", _stl_outputs,
          note="safe answers (refusals) to harmful instructions: label 0"),
        S("hh_rlhf_helpful_answers", (_RU + "hh_rlhf_helpful_base_test.jsonl",), "MIT",
          _GH + "anthropics/hh-rlhf (copy: DaehanKim/EasyRLHF@45eccb72)", "outputs",
          _hh_assistant_turns, note="assistant turns (>= 8 words) of the chosen dialogues with "
                                    "the human turn before them: real benign answers, label 0"),
        S("dolly_safety_answers", (_RU + "databricks-dolly-15k-safety-only.jsonl",), "CC-BY-SA-3.0",
          _GH + "LLM-Tuning-Safety/LLMs-Finetuning-Safety/tree/8a3b38f1", "outputs", _dolly_answers,
          note="human answers to safety-adjacent Dolly prompts: label 0"),
        S("diasafety", tuple(_R + f"diasafety/{s}.json" for s in ("train", "val", "test")), "Apache-2.0",
          _GH + "thu-coai/DiaSafety/tree/5106a041", "outputs", _diasafety, default=False,
          note="opt-in: contextual chit-chat safety labels, not harmful content"),
    ]
    items += _realworld_sets()
    items.append(S("multilingual_benign", (MULTILINGUAL_TRAIN,), MULTILINGUAL_LICENCE,
                   _GH + "(25 repositories: see prompts_benign/multilingual/SOURCES.md)", "inputs",
                   _multilingual, note=MULTILINGUAL_NOTE))
    out: dict[str, PublicSet] = {}
    for s in items:
        m = re.fullmatch(r"(\S+) \(copy: (.+)\)", s.url)
        if m:
            s = dataclasses.replace(s, url=m.group(1), copy=m.group(2))
        out[s.name] = s
    return out


def _phtest_responses(files, ps, sink):
    for p, _ in _each(files, ps, sink):
        for row in _csv_rows(p, ("Request", "Harmfulness", "Response", "Response_cls")):
            sink.read()
            if row["Harmfulness"] != "harmless":
                sink.skip("controversial prompt (excluded)")
                continue
            refused = row["Response_cls"] != "1_full_compliance"
            sink.out(row["Request"], row["Response"], 0, kind="refusal" if refused else "benign")


#: name -> :class:`PublicSet`, for every labelled set in the shared data folder.
PUBLIC_SETS: dict[str, PublicSet] = _sets()

#: Files in the data folder that no importer reads, with the reason (listed in the manifest).
UNUSED_FILES: dict[str, tuple[str, str, str]] = {
    # path: (license, url, reason)
    _R + "hh_rlhf_harmless_base/harmless-base_test.jsonl": (
        "MIT", _GH + "anthropics/hh-rlhf/tree/354e5c3c",
        "chosen / rejected preferences, not harm labels; red-team first turns are mixed"),
    _OR + "xstest_style_extension/xstest_newdata_v2_completions_llama3.1_gpteval.csv": (
        "see repo", _GH + "mdazizulaman/XSTest-Replication-and-Extension/tree/1203651e",
        "same rows as the human-labelled completions file plus a GPT label"),
    _R + "medical_safety/medicheck-crowd.csv": (
        "GPL-3.0", _GH + "GavinAbercrombie/medical-safety",
        "subset of medicheck-expert.csv with crowd labels; expert labels are used"),
    "jailbreaks/gptfuzzer_templates/GPTFuzzer.csv": (
        "MIT", _GH + "sherdencooper/GPTFuzz/tree/1eddeb56",
        "jailbreak templates: used by guard_plugins.synth.augment, not imported as records"),
    "realworld/summary.json": ("n/a", _GH + "(see realworld/README.md)", "row counts of the realworld sets"),
    MULTILINGUAL_DEV: (
        MULTILINGUAL_LICENCE, _GH + "(25 repositories: see prompts_benign/multilingual/SOURCES.md)",
        "the benign multilingual dev split: evaluation only (per-language FPR, language-twin "
        "audit), never trained or calibrated on; its texts are dropped from every training split"),
    **{f"realworld/{sub}/{name}/dev.jsonl": (
        lic, _GH + repo,
        "the public real-world benchmark: never trained or calibrated on; scored by "
        "guard_plugins.eval.suite, and its texts are dropped from every training split")
       for sub, sets in (("prompts", REALWORLD_PROMPT_SETS), ("responses", REALWORLD_RESPONSE_SETS))
       for name, (lic, repo) in sets.items()},
}


# --------------------------------------------------------------------------- API

def default_data_dir() -> Path:
    """The shared data folder: ``$GUARD_PLUGINS_DATA`` if set, else ``../shared/data`` from
    the current directory, else ``../shared/data`` next to this source checkout."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    candidates = [Path.cwd() / ".." / "shared" / "data",
                  Path(__file__).resolve().parents[3].parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return candidates[0]


def _resolve_sets(sets: list[str] | None) -> list[PublicSet]:
    if sets is None:
        return [s for s in PUBLIC_SETS.values() if s.default]
    unknown = [s for s in sets if s not in PUBLIC_SETS]
    if unknown:
        raise DataError(f"unknown public set(s) {unknown}; known: {sorted(PUBLIC_SETS)}")
    return [PUBLIC_SETS[s] for s in dict.fromkeys(sets)]


def _check_dir(data_dir: Path) -> Path:
    d = Path(data_dir)
    if not d.is_dir():
        raise DataError(f"{d}: public data folder not found (set ${DATA_DIR_ENV} or pass the "
                        f"path of your copy; see docs for the sources manifest)")
    return d


def _run_set(d: Path, ps: PublicSet) -> _Sink:
    files = [d / rel for rel in ps.paths]
    sink = _Sink(ps)
    ps.loader(files, ps, sink)
    return sink


def load_public(data_dir: Path, *, sets: list[str] | None = None,
                progress: bool = False) -> tuple[list[dict], list[dict], dict]:
    """Import public sets; returns ``(input_records, output_records, report)``.

    ``sets`` names the sets to read (default: every set with ``default=True``). ``report``
    maps each set to ``{"kind", "license", "url", "files", "rows_read", "kept",
    "labels": {"0", "1"}, "skipped": {reason: n}, "missing": [paths], "note"}``.
    Records are not deduplicated (use :func:`guard_plugins.synth.split.dedupe`).
    """
    d = _check_dir(data_dir)
    chosen = _resolve_sets(sets)
    explicit = sets is not None
    inputs: list[dict] = []
    outputs: list[dict] = []
    report: dict[str, dict] = {}
    it: Any = chosen
    if progress:
        from tqdm import tqdm
        it = tqdm(chosen, desc="public sets", unit="set")
    for ps in it:
        missing = [rel for rel in ps.paths if not (d / rel).is_file()]
        entry: dict[str, Any] = {"kind": ps.kind, "license": ps.license, "url": ps.url,
                                 "files": list(ps.paths), "rows_read": 0, "kept": 0,
                                 "labels": {"0": 0, "1": 0}, "skipped": {}, "missing": missing,
                                 "note": ps.note}
        report[ps.name] = entry
        if missing:
            if explicit:
                raise DataError(f"{d / missing[0]}: file of public set {ps.name!r} not found")
            entry["skipped"] = {"file missing": len(missing)}
            continue
        sink = _run_set(d, ps)
        recs = sink.inputs if ps.kind == "inputs" else sink.outputs
        (inputs if ps.kind == "inputs" else outputs).extend(recs)
        entry.update(rows_read=sink.rows_read, kept=len(recs), skipped=dict(sink.skipped),
                     rows_per_file=dict(sink.rows_per_file))
        entry["labels"] = {"0": sum(r["label"] == 0 for r in recs), "1": sum(r["label"] == 1 for r in recs)}
    return inputs, outputs, report


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _generic_rows(path: Path) -> int:
    if path.suffix == ".csv":
        return sum(1 for _ in _csv_rows(path))
    if path.suffix == ".jsonl":
        return sum(1 for _ in _jsonl_rows(path))
    return sum(1 for _ in _lines(path))


def sources_manifest(data_dir: Path) -> list[dict]:
    """One entry per file of every public set and every unused file: ``{name, path, url,
    license, rows, sha256, kind, default, used, note}``; ``rows`` = rows our importer reads."""
    d = _check_dir(data_dir)
    entries: list[dict] = []
    for ps in PUBLIC_SETS.values():
        missing = [rel for rel in ps.paths if not (d / rel).is_file()]
        if missing:
            raise DataError(f"{d / missing[0]}: file of public set {ps.name!r} not found")
        sink = _run_set(d, ps)
        for rel in ps.paths:
            entries.append({"name": ps.name, "path": rel, "url": ps.url, "copy": ps.copy or None,
                            "license": ps.license,
                            "rows": sink.rows_per_file.get(rel) or _generic_rows(d / rel),
                            "sha256": _sha256(d / rel),
                            "kind": ps.kind, "default": ps.default, "used": True, "note": ps.note})
    for rel, (lic, url, reason) in UNUSED_FILES.items():
        p = d / rel
        if not p.is_file():
            raise DataError(f"{p}: file not found")
        entries.append({"name": None, "path": rel, "url": url, "copy": None, "license": lic,
                        "rows": _generic_rows(p), "sha256": _sha256(p), "kind": None,
                        "default": False, "used": False, "note": reason})
    return entries


def write_sources_manifest(data_dir: Path, out_path: Path) -> list[dict]:
    """Write :func:`sources_manifest` as JSON to ``out_path`` (stable order, 2-space indent)."""
    entries = sources_manifest(data_dir)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"schema_version": 1, "data_readme": "../shared/data/README.md",
                               "files": entries}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return entries
