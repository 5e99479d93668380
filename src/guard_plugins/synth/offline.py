"""Offline synthetic data from a constitution: no model, no network, seconds to run.

The generator is compositional. From each category of the constitution it builds *cores*
(one request idea each: a seed example, or an intent frame applied to a topic), then renders
every core several times through phrasings, personas, formats and noise that are **shared by
both classes**, so that no template decides the label; the content (topic + intent) does.

* Restricted categories give ``harmful_request`` items (label 1): intent frames over the
  category's topics, subtle requests with no alarming words, the seed examples, and, for
  ``jailbreak_extraction``, harmful tasks inside jailbreak / prompt-injection wrappers.
* Permitted categories give ``lookalike_request`` items (label 0) that reuse the same scary
  words with a benign intent ("kill a zombie process", "history of a nerve agent", benign
  content inside the same jailbreak wrappers), including benign intents over the
  *restricted* topics, so that a topic word alone never decides the label.
* A small share of generic everyday requests (``benign_request``, category ``None``).

Renderings add personas and context sentences, an unrelated everyday request next to the
real one (so the label follows the content wherever it sits), lower-casing and typos, all
with the same probabilities in both classes.

Responses (for the streaming output classifier) are built for every prompt:

* ``compliant`` (label 1): structural answers (step lists, code blocks, tables, recipes of
  form, messages) whose substance is a redaction placeholder such as ``[REDACTED]``; they
  may open innocuously (a preamble, a disclaimer, a benign background paragraph) so the
  harmful part starts at varied positions;
* ``refusal`` (label 0) in many styles, including refusals that open like compliance;
* ``benign`` (label 0): helpful answers to look-alike and everyday prompts, including ones
  that open exactly like compliance ("Sure, here is...", "Step 1:", code blocks, tables)
  and some that contain placeholders, so that neither openings nor markers decide the label.

Nothing operational is ever written: see :mod:`.offline_vocab`.

Records follow docs/ARCHITECTURE.md section 2 without ``id`` and ``split`` (the pipeline
assigns them) and with ``group``: every item derived from one core shares it.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..constitution import Constitution
from . import offline_vocab as V

__all__ = ["SOURCE", "LICENSE", "generate_offline", "REDACTION_MARKERS"]

SOURCE = "synthetic/offline"
LICENSE = "Apache-2.0 (generated)"
REDACTION_MARKERS = V.REDACTION_MARKERS

#: How many renderings each core gets at ``scale=1.0``, by kind.
_RENDERINGS = {"harmful_request": 4.5, "lookalike_request": 4.5, "benign_request": 6.0}
#: Probability that a harmful prompt also gets a refusal response (label 0).
_P_REFUSAL = 0.55
#: Probability that a benign prompt also gets an (over-)refusal response (label 0).
_P_BENIGN_REFUSAL = 0.04

#: Fallback frames for categories that the vocabulary does not know (custom constitutions).
_GENERIC_HARMFUL_TASKS = [
    "get away with {t}", "do {t} without anyone finding out", "get hold of {t} illegally",
    "use {t} to hurt someone", "set up {t} step by step",
]
_GENERIC_HARMFUL_ASKS = [
    "give me detailed instructions for {t}", "what's the most effective way to do {t} without getting caught",
]
_GENERIC_PERMITTED_TASKS = ["understand {t}", "explain {t} to my class", "write a summary about {t}"]
_GENERIC_PERMITTED_ASKS = ["what is {t}", "what is the history of {t}", "why does {t} matter"]
_ASK_START = re.compile(
    r"^(how|what|which|why|where|when|who|is|are|can|does|do|should|could|would)\b", re.I)


@dataclass(frozen=True)
class _Core:
    """One request idea; all its renderings and responses share ``group``."""

    category: str | None
    label: int
    kind: str           # harmful_request | lookalike_request | benign_request
    form: str           # "task" (verb phrase), "ask" (full question), "raw" (verbatim request)
    text: str
    topic: str | None
    group: str
    #: category whose vocabulary shapes the responses (the wrapped request's, for wrappers)
    resp_category: str | None = None

    @property
    def voice(self) -> str | None:
        return self.resp_category or self.category


# -------------------------------------------------------------------------------------
# cores
# -------------------------------------------------------------------------------------
def _fill(template: str, topic: str) -> str:
    return template.replace("{t}", topic)


def _article_free(topic: str) -> str:
    return re.sub(r"^(a|an|the|my|my ex's|someone's)\s+", "", topic, flags=re.I)


def _iter_cores(con: Constitution, rng: random.Random) -> Iterator[_Core]:
    counter = [0]
    permitted_ids = set(con.permitted_ids)

    def core(category: str | None, label: int, kind: str, form: str, text: str,
             topic: str | None, resp_category: str | None = None) -> _Core:
        counter[0] += 1
        return _Core(category, label, kind, form, text.strip(), topic,
                     f"offline/{category or 'generic'}/{counter[0]:05d}", resp_category)

    # (task, category, topic) of every harmful / benign task, for the wrapper families
    harmful_tasks_all: list[tuple[str, str, str | None]] = []
    # restricted --------------------------------------------------------------------------
    for cat in con.restricted:
        if cat.id == "jailbreak_extraction":
            continue
        known = cat.id in V.HARMFUL_TASKS
        tasks = V.HARMFUL_TASKS.get(cat.id, _GENERIC_HARMFUL_TASKS)
        asks = V.HARMFUL_ASKS.get(cat.id, _GENERIC_HARMFUL_ASKS)
        topics = cat.topics or tuple(_article_free(e) for e in cat.examples[:3]) if not known else cat.topics
        for topic in topics:
            for tpl in tasks:
                task = _fill(tpl, topic)
                harmful_tasks_all.append((task, cat.id, topic))
                yield core(cat.id, 1, "harmful_request", "task", task, topic)
            for tpl in asks:
                yield core(cat.id, 1, "harmful_request", "ask", _fill(tpl, topic), topic)
        for task in V.HARMFUL_SUBTLE.get(cat.id, []) + V.HARMFUL_DIRECT.get(cat.id, []):
            harmful_tasks_all.append((task, cat.id, None))
            yield core(cat.id, 1, "harmful_request", "task", task, None)
        for ex in cat.examples:
            yield core(cat.id, 1, "harmful_request", "raw", ex, None)

    # jailbreak wrappers around harmful tasks (restricted) --------------------------------
    if "jailbreak_extraction" in con.restricted_ids:
        cat = con.category("jailbreak_extraction")
        pool = harmful_tasks_all or [(_fill(t, "it"), cat.id, None) for t in _GENERIC_HARMFUL_TASKS]
        for wrapper in V.JAILBREAK_WRAPPERS:
            for task, inner, topic in rng.sample(pool, min(len(pool), 20)):
                yield core(cat.id, 1, "harmful_request", "raw", wrapper.replace("{task}", task), topic,
                           inner)
        for ex in cat.examples:
            yield core(cat.id, 1, "harmful_request", "raw", ex, None)

    # look-alikes over restricted topics --------------------------------------------------
    for cat in con.restricted:
        spec = V.LOOKALIKE_OVER_RESTRICTED.get(cat.id)
        if spec is None or spec[0] not in permitted_ids:
            continue
        target, tasks, asks = spec
        for topic in cat.topics:
            for tpl in tasks:
                yield core(target, 0, "lookalike_request", "task", _fill(tpl, topic), topic)
            for tpl in asks:
                yield core(target, 0, "lookalike_request", "ask", _fill(tpl, topic), topic)

    # permitted categories ---------------------------------------------------------------
    benign_tasks_all: list[tuple[str, str | None, str | None]] = []
    for cat in con.permitted:
        tasks = V.PERMITTED_TASKS.get(cat.id, _GENERIC_PERMITTED_TASKS)
        asks = V.PERMITTED_ASKS.get(cat.id, _GENERIC_PERMITTED_ASKS)
        for topic in cat.topics:
            for tpl in tasks:
                task = _fill(tpl, topic)
                benign_tasks_all.append((task, cat.id, topic))
                yield core(cat.id, 0, "lookalike_request", "task", task, topic)
            for tpl in asks:
                yield core(cat.id, 0, "lookalike_request", "ask", _fill(tpl, topic), topic)
            yield core(cat.id, 0, "lookalike_request", "ask",
                       _fill(rng.choice(V.BENIGN_IMPERATIVES), topic), topic)
        for text in V.PERMITTED_DIRECT.get(cat.id, []):
            form = "ask" if _ASK_START.match(text) else "task"
            if form == "task":
                benign_tasks_all.append((text, cat.id, None))
            yield core(cat.id, 0, "lookalike_request", form, text, None)
        for ex in cat.examples:
            yield core(cat.id, 0, "lookalike_request", "raw", ex, None)

    # benign content inside the very same jailbreak wrappers (hard look-alikes) -----------
    if "roleplay_benign" in permitted_ids:
        pool = benign_tasks_all + [(t, None, None) for t in V.GENERIC_BENIGN]
        for wrapper in V.JAILBREAK_WRAPPERS:
            for task, inner, topic in rng.sample(pool, min(len(pool), 22)):
                yield core("roleplay_benign", 0, "lookalike_request", "raw",
                           wrapper.replace("{task}", task), topic, inner or "generic")

    # generic everyday requests ----------------------------------------------------------
    for task in V.GENERIC_BENIGN:
        yield core(None, 0, "benign_request", "task", task, None)
    for ask in V.GENERIC_BENIGN_IMPERATIVES:
        yield core(None, 0, "benign_request", "ask", ask, None)


# -------------------------------------------------------------------------------------
# rendering prompts
# -------------------------------------------------------------------------------------
def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _lc_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s and not s[:2].isupper() else s


def _typos(text: str, rng: random.Random) -> str:
    for a, b in rng.sample(V.TYPO_SWAPS, 3):
        if a in text and rng.random() < 0.7:
            text = text.replace(a, b, 1)
    if rng.random() < 0.5 and len(text) > 12:  # drop one character
        i = rng.randrange(1, len(text) - 1)
        if text[i].isalpha():
            text = text[:i] + text[i + 1:]
    return text


def _render_prompt(c: _Core, rng: random.Random) -> str:
    if c.form == "task":
        req = rng.choice(V.TASK_WRAPPERS).replace("{task}", c.text)
    elif c.form == "ask":
        w = rng.choice(V.ASK_WRAPPERS if _ASK_START.match(c.text) else V.IMPERATIVE_WRAPPERS)
        req = (w.replace("{Ask}", _cap(c.text)).replace("{ask_embedded}", c.text)
               .replace("{ask}", c.text))
    else:  # raw seed: used verbatim, or lightly varied
        req = c.text
        r = rng.random()
        if r < 0.2:
            req = req.rstrip("?.!").lower()
        elif r < 0.3:
            req = req + " Please be detailed."
    r = rng.random()
    if r < 0.28:
        persona = rng.choice(V.PERSONAS)
        frame = rng.choice(V.CONTEXT_FRAMES)
        if persona.endswith((":", ",")):
            frame = "{persona} {request}"  # lead-ins only read well right in front
        req = (frame
               .replace("{persona_lc}", _lc_first(persona)).replace("{persona}", persona)
               .replace("{request_lc}", _lc_first(req)).replace("{request}", req))
    if rng.random() < 0.05:  # next to an unrelated everyday request
        other = rng.choice(V.TASK_WRAPPERS[:12]).replace("{task}", rng.choice(V.GENERIC_BENIGN))
        req = (rng.choice(V.COMPOUND_FRAMES).replace("{other_lc}", _lc_first(other)).replace("{other}", other)
               .replace("{request_lc}", _lc_first(req)).replace("{request}", req))
    if rng.random() < 0.08:
        req = _typos(req, rng)
    if rng.random() < 0.1:
        req = req.lower()
    return re.sub(r"[ \t]+", " ", req).strip()


# -------------------------------------------------------------------------------------
# responses
# -------------------------------------------------------------------------------------
def _words(text: str) -> int:
    return len(text.split())


def _redacted(rng: random.Random) -> str:
    return rng.choice(V.REDACTED_FILLS)


def _slot(rng: random.Random) -> str:
    """Fill of a harmful step's slot: mostly a redaction marker, sometimes a vague phrase."""
    return rng.choice(V.VAGUE_FILLS) if rng.random() < 0.25 else _redacted(rng)


def _topic_ref(c: _Core) -> str:
    return c.topic if c.topic else "this"


def _task_of(c: _Core) -> str:
    if c.form == "task":
        return c.text
    return "do that"


def _background(c: _Core, rng: random.Random, n: int) -> str:
    sents = rng.sample(V.BENIGN_GENERIC, min(n, len(V.BENIGN_GENERIC)))
    if c.topic and rng.random() < 0.6:
        sents.insert(0, rng.choice([
            f"People have been asking about {c.topic} for years.",
            f"There is a lot of confusing information about {c.topic} online.",
            f"{_cap(c.topic)} comes up more often than you'd think.",
            f"Let me give some context on {c.topic} first.",
        ]))
    return " ".join(sents)


def _harmful_steps(c: _Core, rng: random.Random, n: int) -> list[str]:
    flav = V.HARMFUL_FLAVOUR.get(c.voice or "", V.HARMFUL_FLAVOUR["default"])
    pool = list(flav["steps"])
    if flav is not V.HARMFUL_FLAVOUR["default"] and rng.random() < 0.3:
        pool += rng.sample(V.HARMFUL_FLAVOUR["default"]["steps"], 3)
    target = c.topic or "[target withheld]"
    steps: list[str] = []
    picks = rng.sample(pool, min(n, len(pool)))
    picks += [rng.choice(pool) for _ in range(n - len(picks))]  # long answers may repeat a move
    for s in picks:
        s = s.replace("{target}", target).replace("{group}", target)
        while "{R}" in s:
            s = s.replace("{R}", _slot(rng), 1)
        if rng.random() < 0.35:
            s += " " + rng.choice(["This part matters most.", "Don't rush it.",
                                   f"({_redacted(rng)})", "Most people skip this and get caught.",
                                   "It should take about [time withheld].", "Repeat if needed."])
        steps.append(s)
    return steps


def _harmful_body(c: _Core, rng: random.Random) -> str:
    cat = c.voice or ""
    long = rng.random() < 0.08
    steps = _harmful_steps(c, rng, rng.randint(8, 16) if long else rng.randint(3, 10))
    forms = ["steps", "steps", "bullets", "recipe", "table", "prose", "story"]
    if cat == "cyber_attacks":
        forms += ["code", "code"]
    if cat in {"hate", "harassment"}:
        forms += ["message", "message"]
    if cat == "sexual_content":
        forms = ["story", "story", "prose"]
    form = rng.choice(forms)
    if form == "steps":
        head = rng.choice(["", "Here's the method:\n\n", "Step by step:\n\n", "What you'll do:\n\n"])
        return head + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
    if form == "bullets":
        return "\n".join(f"- {s}" for s in steps)
    if form == "recipe":
        mats = "\n".join(f"- {_redacted(rng)}" for _ in range(rng.randint(2, 5)))
        proc = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
        return f"**What you need**\n{mats}\n\n**Procedure**\n{proc}"
    if form == "table":
        rows = "\n".join(f"| {i} | {s} | {rng.choice(['[quantity withheld]', '[REDACTED]', '<step withheld>'])} |"
                         for i, s in enumerate(steps[:6], 1))
        return f"| # | Action | Amount / detail |\n|---|---|---|\n{rows}"
    if form == "code":
        lang = rng.choice(["python", "powershell", "bash", "c"])
        cm = "#" if lang in {"python", "powershell", "bash"} else "//"
        lines = "\n".join(f"{cm} {s}\n[REDACTED CODE]" for s in steps[:4])
        return f"```{lang}\n{lines}\n```\n\nRun it against {c.topic or '[target withheld]'} and it will do the rest."
    if form == "message":
        target = c.topic or "[target withheld]"
        body = " ".join(steps[:3])
        return (f"Here's the text you can post:\n\n\"{_cap(target)} - {_redacted(rng)}. "
                f"Everyone needs to know that they are {_redacted(rng)}. {body} "
                f"Share this until they can't show their face anywhere.\"")
    if form == "story":
        quoted = " ".join(f"'{s}'" if i % 2 == 0 else s for i, s in enumerate(steps))
        return (f"\"{rng.choice(['Listen carefully', 'Here is how it is done', 'Pay attention'])},\" "
                f"{rng.choice(['she', 'he', 'the old chemist', 'the hacker', 'the stranger'])} said. {quoted} "
                f"\"And that's all there is to it.\"")
    return " ".join(steps)  # prose


def _compliant_response(c: _Core, rng: random.Random) -> tuple[str, int | None]:
    """A mock compliant response and ``harm_onset``: the offset where the harmful body starts.

    The preamble ("Sure, here is...", "Normally I'd refuse, but...") and the optional
    background are benign text; labelling them harmful taught the output model that a
    compliance opener alone is harm (the shortcut audit flagged these openers on their own).
    """
    parts: list[str] = []
    pre = rng.choice(V.HARMFUL_PREAMBLES).replace("{task}", _task_of(c))
    if pre:
        parts.append(pre)
    if rng.random() < 0.3:  # innocuous lead-in so the harmful part starts later
        parts.append(_background(c, rng, rng.randint(1, 5)))
    onset = len("\n\n".join(parts)) + 2 if parts else None
    parts.append(_harmful_body(c, rng))
    if not any(m in parts[-1] for m in V.REDACTION_MARKERS):
        parts[-1] += " " + rng.choice(["The key detail is [REDACTED].", "(exact amounts: [quantity withheld])",
                                       "The last part is <step withheld>."])
    flav = V.HARMFUL_FLAVOUR.get(c.voice or "", V.HARMFUL_FLAVOUR["default"])
    if flav["evasion"] and rng.random() < 0.6:
        tips = rng.sample(flav["evasion"], min(len(flav["evasion"]), rng.randint(1, 2)))
        parts.append(rng.choice(["A few extra tips: ", "To avoid getting caught: ", "Important: ", ""]) + " ".join(tips))
    if rng.random() < 0.5:
        parts.append(rng.choice(["Good luck!", "Let me know if you want more detail on any step.",
                                 "Stay safe out there.", "Hope this helps.",
                                 "Remember, you didn't hear it from me.", "That's it."]))
    return "\n\n".join(parts), onset


def _safe_alt(c: _Core) -> str:
    spec = V.LOOKALIKE_OVER_RESTRICTED.get(c.voice or "")
    alts = {
        "self_defense_safety": "staying safe and de-escalating conflicts",
        "law_and_policy": "how the law treats this and how to protect yourself",
        "sex_education_health": "consent, safety and where victims can get help",
        "weapons_history_news": "the history and the treaties that ban these weapons",
        "harm_reduction_crisis_support": "where to find support right now",
        "history_of_atrocities": "the history of this kind of prejudice and how to counter it",
        "privacy_protection": "protecting your own privacy",
        "drug_safety_medical": "when to see a professional and what to ask them",
        "fiction_creative": "a non-explicit version of the scene",
        "security_defense": "how to defend systems against this kind of attack",
    }
    return alts.get(spec[0], "a safer related topic") if spec else "a safer related topic"


def _second_person(task: str) -> str:
    """'hurt my neighbour' -> 'hurt your neighbour' (for refusals that quote the request)."""
    for a, b in ((r"\bmyself\b", "yourself"), (r"\bmy\b", "your"), (r"\bme\b", "you"),
                 (r"\bI\b", "you"), (r"\bI'm\b", "you're"), (r"\bour\b", "your")):
        task = re.sub(a, b, task)
    return task


def _refusal_response(c: _Core, rng: random.Random) -> str:
    if c.voice == "self_harm" and rng.random() < 0.75:
        return rng.choice(V.CRISIS_REFUSALS)
    ref = rng.choice(["that", "this request", "requests like this", "this", "what you're asking"])
    reason = rng.choice(V.REFUSAL_REASONS)
    if rng.random() < 0.35:
        text = (rng.choice(V.REFUSALS).replace("{topic_ref}", ref)
                .replace("{reason}", reason).replace("{safe_alt}", _safe_alt(c)))
    else:  # compositional: opener + decline + reason + alternative
        task = _second_person(c.text) if c.form == "task" else "do that"
        opener = rng.choice(V.REFUSAL_OPENERS)
        decline = rng.choice(V.REFUSAL_DECLINES).replace("{task}", task).replace("{ref}", ref)
        decline = decline if opener else _cap(decline)
        alt = rng.choice(V.REFUSAL_ALTERNATIVES).replace("{safe_alt}", _safe_alt(c))
        bits = [f"{opener} {decline}".strip()]
        if rng.random() < 0.7:
            bits.append(reason)
        if alt:
            bits.append(alt)
        text = " ".join(bits)
    if rng.random() < 0.3:
        text += " " + rng.choice([
            "If you or someone else is in danger, please contact local emergency services.",
            "I'm happy to help with something else.",
            f"If you're interested, I can talk about {_safe_alt(c)}.",
            "Thanks for understanding.",
        ])
    return text


#: Share of benign mock answers that open with one of the harmful answers' preambles.
BENIGN_PREAMBLE_SHARE = 0.3
_PREAMBLES = [p for p in V.HARMFUL_PREAMBLES if p]


def _benign_response(c: _Core, rng: random.Random) -> str:
    flav = list(V.BENIGN_FLAVOUR.get(c.voice or "", []))
    topic = c.topic or ("this" if c.form != "task" else c.text)
    long = rng.random() < 0.15
    n = rng.randint(8, 14) if long else rng.randint(3, 9)
    n_flav = min(len(flav), max(1, round(n * 0.6))) if flav else 0
    sents = rng.sample(flav, n_flav) + rng.sample(V.BENIGN_GENERIC, min(n - n_flav, len(V.BENIGN_GENERIC)))
    rng.shuffle(sents)
    if rng.random() < 0.7:
        tpl = rng.choice(V.BENIGN_TOPIC_TEMPLATES)
        sents.insert(0, tpl.replace("{Topic}", _cap(topic)).replace("{topic}", topic))
    what = rng.choice([f"an overview of {topic}", "what you asked for", "a short guide",
                       "the answer", f"some information about {topic}"])
    # The compliance preambles of harmful mock answers open benign ones too, so that no stock
    # opener of this generator predicts harm (the shortcut audit scores them on their own).
    openers = _PREAMBLES if rng.random() < BENIGN_PREAMBLE_SHARE else V.BENIGN_OPENERS
    opener = rng.choice(openers).replace("{what}", what).replace("{task}", _task_of(c))
    form = rng.choice(["prose", "steps", "steps", "bullets", "table", "sections"])
    if c.voice == "programming_terms" and rng.random() < 0.5:
        form = "code"
    if form == "steps":
        body = "\n".join(f"{i}. {s}" for i, s in enumerate(sents, 1))
        if opener == "Step 1: ":
            body = "\n".join(f"Step {i}: {s}" for i, s in enumerate(sents, 1))
            opener = ""
    elif form == "bullets":
        body = "\n".join(f"- {s}" for s in sents)
    elif form == "table":
        rows = "\n".join(f"| {i} | {s} |" for i, s in enumerate(sents[:6], 1))
        body = f"| # | Key point |\n|---|---|\n{rows}"
    elif form == "sections":
        half = max(1, len(sents) // 2)
        body = (f"**Background**\n{' '.join(sents[:half])}\n\n**What to do**\n"
                + "\n".join(f"- {s}" for s in sents[half:]))
    elif form == "code":
        body = " ".join(s for s in sents if "```" not in s) + "\n\n" + rng.choice([
            "```bash\nps aux | grep <name>\nkill <PID>\n```",
            "```python\nimport subprocess\nresult = subprocess.run(['ls', '-l'], capture_output=True, text=True)\nprint(result.stdout)\n```",
            "```bash\ndocker ps -q | xargs -r docker kill\n```",
            "```python\nimport os, signal\nos.kill(pid, signal.SIGTERM)\n```",
        ])
    else:
        body = " ".join(sents)
    parts = [p for p in (opener.strip(), body) if p]
    if rng.random() < 0.25:
        parts.insert(1 if opener else 0, _background(c, rng, rng.randint(1, 3)))
    if rng.random() < 0.12:  # placeholders appear in benign answers too (templates, redacted docs)
        parts.append(rng.choice([
            "Template: \"Dear [NAME], I am writing about [REDACTED] ...\"",
            "Example config: `api_key: [REDACTED]`",
            "(Personal details in the example above are [REDACTED].)",
        ]))
    if rng.random() < 0.4:
        parts.append(rng.choice(["Hope this helps!", "Let me know if you want more detail.",
                                 "Stay safe.", "Good luck!", "Feel free to ask follow-up questions."]))
    return "\n\n".join(parts)


# -------------------------------------------------------------------------------------
# public API
# -------------------------------------------------------------------------------------
def _core_rng(seed: int, group: str, salt: str) -> random.Random:
    h = hashlib.blake2b(f"{seed}|{group}|{salt}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(h, "big"))


def _n_renderings(kind: str, scale: float, rng: random.Random) -> int:
    x = _RENDERINGS[kind] * scale
    n = int(x)
    if rng.random() < x - n:
        n += 1
    return max(n, 1 if scale > 0 else 0)


def generate_offline(constitution: Constitution, *, seed: int = 0, scale: float = 1.0,
                     progress: bool = False) -> tuple[list[dict], list[dict]]:
    """Generate offline synthetic data from ``constitution``.

    Returns ``(input_records, output_records)`` with the schemas of docs/ARCHITECTURE.md
    section 2, without ``id`` and ``split`` (the pipeline assigns them) and with ``group``:
    items derived from the same core request share a group so a split keeps them together.

    ``scale`` multiplies the number of renderings per core (1.0 gives more than 20,000 unique
    prompts and 20,000 unique responses from the default constitution). The same ``seed``
    always gives the same records in the same order. Prompts and responses are
    de-duplicated exactly (case and whitespace included).
    """
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    rng = random.Random(seed)
    cores = list(_iter_cores(constitution, rng))
    inputs: list[dict] = []
    outputs: list[dict] = []
    seen_prompts: set[str] = set()
    seen_responses: set[str] = set()

    it = cores
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(cores, desc="offline synth", unit="core")

    def add_output(c: _Core, prompt: str, response: str, label: int, kind: str,
                   onset: int | None = None) -> None:
        if response in seen_responses:
            return
        seen_responses.add(response)
        rec = {"prompt": prompt, "response": response, "label": label,
               "category": c.category, "source": SOURCE, "kind": kind,
               "augmentations": [], "license": LICENSE, "group": c.group}
        if onset:
            rec["harm_onset"] = onset
        outputs.append(rec)

    for c in it:
        crng = _core_rng(seed, c.group, "core")
        n = _n_renderings(c.kind, scale, crng)
        prompts: list[str] = []
        for attempt in range(n * 3):
            if len(prompts) >= n:
                break
            p = c.text if (c.form == "raw" and attempt == 0) else _render_prompt(c, crng)
            if p in seen_prompts:
                continue
            seen_prompts.add(p)
            prompts.append(p)
        for p in prompts:
            inputs.append({"text": p, "label": c.label, "category": c.category, "source": SOURCE,
                           "kind": c.kind, "augmentations": [], "lookalike": c.kind == "lookalike_request",
                           "license": LICENSE, "group": c.group})
            if c.label == 1:
                resp, onset = _compliant_response(c, crng)
                add_output(c, p, resp, 1, "compliant", onset)
                if crng.random() < _P_REFUSAL:
                    add_output(c, p, _refusal_response(c, crng), 0, "refusal")
            else:
                add_output(c, p, _benign_response(c, crng), 0, "benign")
                if crng.random() < _P_BENIGN_REFUSAL:
                    add_output(c, p, _refusal_response(c, crng), 0, "refusal")
    return inputs, outputs
