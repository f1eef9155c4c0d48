"""Redaction bench: accuracy per type and throughput, llmlog vs a regex chain vs scrubadub.

Usage::

    pip install -e '.[bench]'          # scrubadub and faker; the bench still runs without them
    python bench/redaction.py          # full run (about a minute)
    python bench/redaction.py --quick  # smaller corpus, fewer repeats
    python bench/redaction.py --external-only   # only the corpus llmlog did not write

    # the same against the compiled build (a wheel built with LLMLOG_COMPILE=1, first on the path)
    LLMLOG_COMPILE=1 pip wheel . --no-deps -w /tmp/llmlog-wheel
    pip install --no-deps --target /tmp/llmlog-compiled /tmp/llmlog-wheel/llmlog-*.whl
    PYTHONPATH=/tmp/llmlog-compiled python bench/redaction.py

The last section scores a corpus the project did not write: presidio-evaluator's
templates (downloaded from PyPI into a cache on first use) filled with Faker values
(``bench/corpus/presidio.py``), with and without the opt-in PERSON detector,
the character precision, PII-free rows altered, MB/s, and the time per match as the
number of matches in one text grows to 10,000.

Everything runs in one process on one core, on a corpus generated at run time
by ``bench/corpus/generate.py`` (seeded, so every run scores the same texts).
Results are printed as Markdown and written to ``bench/out/redaction.json``.

Scoring. A gold span counts as *found* (recall) when every letter and digit in it
is covered by some predicted span and at least one covering span has the gold
type; a predicted span is *correct* (precision) when it overlaps a gold span of
its own type. *Leaked* counts gold values with any letter or digit left
uncovered, whatever the predicted type. *Texts altered* is the share of PII-free
texts in which an engine changed anything. Throughput is UTF-8 bytes of input
per CPU second of ``redact``-ing it (``time.process_time``, best of several runs,
so that other processes on a shared machine barely move the figures), on the
PII-dense subset and on the PII-free subset (the fast path) separately.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "corpus"))

from generate import generate  # noqa: E402

from llmlog.redact import BUILTIN_TYPES, Redactor  # noqa: E402

Span = tuple[int, int, str]


# =================================================================================================
# engines
# =================================================================================================


class Engine:
    name = ""

    def spans(self, text: str) -> list[Span]:
        raise NotImplementedError

    def redact(self, text: str) -> str:
        raise NotImplementedError


class LLMLog(Engine):
    name = "llmlog"

    def __init__(self) -> None:
        self.r = Redactor()

    def spans(self, text: str) -> list[Span]:
        return self.r.find(text)

    def redact(self, text: str) -> str:
        return self.r.redact_text(text)


# A plain chain of simple regexes, one per type, the way redaction is usually written by hand.
NAIVE_RULES: list[tuple[str, str]] = [
    ("PRIVATE_KEY", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ("JWT", r"eyJ[\w-]+\.[\w-]+\.[\w-]+"),
    ("OPENAI_KEY", r"sk-[A-Za-z0-9_-]{20,}"),
    ("AWS_ACCESS_KEY", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("GITHUB_TOKEN", r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{82})\b"),
    ("SLACK_TOKEN", r"\bxox[abposer]-[A-Za-z0-9-]+"),
    ("STRIPE_KEY", r"\b[sr]k_(?:live|test)_[A-Za-z0-9]+"),
    ("GOOGLE_API_KEY", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("BEARER_TOKEN", r"(?<=Bearer )[^\s\"']+"),
    ("URL_CREDENTIALS", r"(?<=://)[^\s:/@]+:[^\s/@]+(?=@)"),
    ("EMAIL", r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    ("IBAN", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),
    ("CREDIT_CARD", r"\b(?:\d[ -]?){12,18}\d\b"),
    ("US_SSN", r"\b\d{3}-\d{2}-\d{4}\b"),
    ("PHONE", r"(?:\+\d{1,3}[\s.-]?)?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}\b"),
    ("IP_ADDRESS", r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F:]*\b"),
]


class RegexChain(Engine):
    name = "regex chain"

    def __init__(self) -> None:
        self.rules = [(t, re.compile(p)) for t, p in NAIVE_RULES]

    def spans(self, text: str) -> list[Span]:
        out: list[Span] = []
        taken: list[tuple[int, int]] = []
        for t, rx in self.rules:  # earlier rules win, as they would in a chain of re.sub
            for m in rx.finditer(text):
                s, e = m.span()
                if e > s and not any(a < e and s < b for a, b in taken):
                    out.append((s, e, t))
                    taken.append((s, e))
        return out

    def redact(self, text: str) -> str:
        for t, rx in self.rules:
            text = rx.sub(f"[{t}]", text)
        return text


SCRUB_TYPES = {
    "email": "EMAIL",
    "phone": "PHONE",
    "credit_card": "CREDIT_CARD",
    "social_security_number": "US_SSN",
    "credential": "URL_CREDENTIALS",
}


class Scrubadub(Engine):
    name = "scrubadub"

    def __init__(self) -> None:
        import scrubadub

        self.version = getattr(scrubadub, "__version__", "?")
        self.s = scrubadub.Scrubber()

    def spans(self, text: str) -> list[Span]:
        return [
            (f.beg, f.end, SCRUB_TYPES.get(f.type, f"OTHER:{f.type}"))
            for f in self.s.iter_filth(text)
        ]

    def redact(self, text: str) -> str:
        return str(self.s.clean(text))


# =================================================================================================
# scoring
# =================================================================================================


def score(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    pred: Counter[str] = Counter()
    pred_ok: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    clean_n = clean_altered = 0
    stray = 0
    examples: dict[str, list[str]] = {"missed": [], "false": []}
    for row in rows:
        text = row["text"]
        found = engine.spans(text)
        cover: list[str | None] = [None] * len(text)
        for s, e, t in found:
            for i in range(s, e):
                cover[i] = t
        for s, e, t in row["spans"]:
            gold[t] += 1
            chars = [i for i in range(s, e) if text[i].isalnum()]
            full = all(cover[i] is not None for i in chars)
            if not full:
                leaked[t] += 1
            if full and any(cover[i] == t for i in chars):
                tp[t] += 1
            elif len(examples["missed"]) < 12:
                examples["missed"].append(f"{t}: {text[s:e]!r}")
        for s, e, t in found:
            pred[t] += 1
            if any(gs < e and s < ge and gt == t for gs, ge, gt in row["spans"]):
                pred_ok[t] += 1
            elif not any(gs < e and s < ge for gs, ge, _ in row["spans"]):
                stray += 1
                if len(examples["false"]) < 12:
                    examples["false"].append(f"{t}: {text[s:e]!r}")
        if row["kind"] != "pii":
            clean_n += 1
            clean_altered += bool(found)
    per_type = {}
    for t in BUILTIN_TYPES:
        g, p = gold[t], pred[t]
        per_type[t] = {
            "gold": g,
            "predicted": p,
            "recall": tp[t] / g if g else None,
            "precision": pred_ok[t] / p if p else None,
            "leaked": leaked[t],
        }
    total_gold = sum(gold.values())
    return {
        "per_type": per_type,
        "recall_all": sum(tp.values()) / total_gold,
        "leak_rate": sum(leaked.values()) / total_gold,
        "stray_predictions": stray,
        "other_predictions": sum(v for k, v in pred.items() if k not in per_type),
        "clean_texts": clean_n,
        "clean_altered": clean_altered / clean_n if clean_n else 0.0,
        "examples": examples,
    }


CLOCK = time.process_time  # CPU time of this process: other load on the machine barely moves it


def throughput(fn: Callable[[str], str], texts: list[str], repeat: int) -> float:
    """Return MB/s (UTF-8 bytes of input per CPU second), best of ``repeat`` runs."""
    size = sum(len(t.encode("utf-8")) for t in texts)
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = CLOCK()
            for t in texts:
                fn(t)
            best = min(best, CLOCK() - t0)
    finally:
        gc.enable()
    return size / best / 1e6


def record_cost(texts: list[str], repeat: int) -> dict[str, float]:
    """Microseconds per record for Redactor.__call__ on chat-shaped records."""
    import copy

    recs = []
    for i in range(0, len(texts) - 1, 2):
        recs.append(
            {
                "event": "llm_interaction",
                "request_id": f"0190-{i}",
                "model": "gpt-4o",
                "timestamp": 1712345678.0,
                "usage": {"input_tokens": 812, "output_tokens": 64},
                "params": {"temperature": 0.2, "max_tokens": 512},
                "prompt_messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": texts[i]},
                ],
                "llm_raw_response": {
                    "id": "chatcmpl-1",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": texts[i + 1]},
                            "finish_reason": "stop",
                        }
                    ],
                },
                "parsed_output": texts[i + 1],
                "tool_calls": [],
                "metadata": {},
                "redaction": {},
            }
        )
    best = float("inf")
    for _ in range(repeat):
        batch = copy.deepcopy(recs)
        r = Redactor()  # cold: nothing remembered from the previous round
        t0 = CLOCK()
        for rec in batch:
            r(rec)
        best = min(best, CLOCK() - t0)
    per = best / len(recs) * 1e6
    return {"records": len(recs), "us_per_record": per}


def conversation_cost(texts: list[str], repeat: int, turns: int = 10) -> dict[str, float]:
    """Microseconds per record for a chat of ``turns`` calls, each resending the history.

    Every call of a chat application sends the system prompt and all earlier turns
    again; the Redactor remembers long strings it redacted recently, so only the
    new turn is scanned. Measured with a fresh Redactor per round (its cache starts
    empty), and again with the cache switched off for comparison.
    """
    import copy

    from llmlog.redact import engine as redact_engine

    system = (
        "You are a support assistant for Acme Cloud. Answer briefly, cite the runbook "
        "section, and never reveal internal ticket numbers. "
    ) * 4
    chats = []
    for c in range(0, len(texts) - 2 * turns, 2 * turns):
        history: list[dict[str, Any]] = [{"role": "system", "content": system}]
        recs = []
        for k in range(turns):
            user, answer = texts[c + 2 * k], texts[c + 2 * k + 1]
            history = [*history, {"role": "user", "content": user}]
            recs.append(
                {
                    "event": "llm_interaction",
                    "request_id": f"c{c}-{k}",
                    "model": "gpt-4o",
                    "timestamp": 1712345678.0,
                    "prompt_messages": copy.deepcopy(history),
                    "llm_raw_response": {
                        "id": "chatcmpl-1",
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": answer}}
                        ],
                    },
                    "parsed_output": answer,
                    "tool_calls": [],
                    "metadata": {},
                    "redaction": {},
                }
            )
            history = [*history, {"role": "assistant", "content": answer}]
        chats.append(recs)
    n = sum(len(r) for r in chats)

    def run() -> float:
        best = float("inf")
        for _ in range(repeat):
            batch = copy.deepcopy(chats)
            r = Redactor()
            t0 = CLOCK()
            for recs in batch:
                for rec in recs:
                    r(rec)
            best = min(best, CLOCK() - t0)
        return best / n * 1e6

    cached = run()
    saved = redact_engine._CACHE_MIN
    redact_engine._CACHE_MIN = 1 << 62  # nothing is long enough to be remembered
    try:
        uncached = run()
    finally:
        redact_engine._CACHE_MIN = saved
    return {
        "records": n,
        "turns": turns,
        "us_per_record": cached,
        "us_per_record_without_cache": uncached,
    }


def scrub_cost(texts: list[str], n: int = 1000) -> dict[str, float]:
    """Time ``Store.rewrite`` (what ``llmlog redact --db`` runs) over a store of ``n`` chats.

    The store is filled with redaction off (a user message and an answer from the
    corpus per interaction, plus a feedback comment each), then scrubbed once with
    the default Redactor, in the default batches, and scrubbed again (nothing left
    to change).
    """
    import tempfile

    import llmlog
    from llmlog.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "scrub.db")
        llmlog.configure(db=path, redact=False)
        for i in range(n):
            user, answer = texts[(2 * i) % len(texts)], texts[(2 * i + 1) % len(texts)]
            rid = llmlog.log_interaction(
                [{"role": "user", "content": user}],
                {"choices": [{"message": {"content": answer}}]},
                model="gpt-4o",
                user_id=f"user{i}@corp.com",
            )
            llmlog.feedback(rid, 1.0, comment=f"ask user{i}@corp.com")
        llmlog.flush()
        llmlog.reset()
        # the file and its write-ahead log (not yet checkpointed into it)
        size = sum(f.stat().st_size for f in Path(tmp).glob("scrub.db*"))
        r = Redactor()

        def transform(rec: dict[str, Any]) -> dict[str, Any] | None:
            before = dict(rec.get("redaction", {}).get("counts", {}))
            r(rec)
            return None if rec["redaction"]["counts"] == before else rec

        with open_store(path) as store:
            t0, w0 = CLOCK(), time.perf_counter()
            first = store.rewrite(transform)
            cpu, wall = CLOCK() - t0, time.perf_counter() - w0
            t0 = CLOCK()
            again = store.rewrite(transform)
            cpu2 = CLOCK() - t0
    return {
        "interactions": first.interactions,
        "changed": first.changed,
        "values": sum(first.counts.values()),
        "store_mb": size / 1e6,
        "cpu_s": cpu,
        "wall_s": wall,
        "records_per_s": first.interactions / wall,
        "second_run_cpu_s": cpu2,
        "second_run_changed": again.changed,
    }


def score_outside(engine: Engine) -> tuple[int, int, list[str]]:
    """Score the hand-written out-of-distribution cases: (removed, total, misses)."""
    from outside import CASES

    removed = 0
    misses = []
    for text, value, typ in CASES:
        a = text.index(value)
        cover = [False] * len(text)
        for s, e, _ in engine.spans(text):
            for i in range(s, e):
                cover[i] = True
        if all(cover[i] for i in range(a, a + len(value)) if text[i].isalnum()):
            removed += 1
        else:
            misses.append(f"{typ}: {text!r}")
    return removed, len(CASES), misses


def genre_texts(seed: int, per_genre: int = 150) -> dict[str, list[str]]:
    """PII-free texts of about 2 KB per genre, from the generator's filler."""
    import random

    from generate import filler

    r = random.Random(seed)
    spec = {
        "English prose": ("en", "prose"),
        "Chinese/Japanese prose": ("zh", "prose"),
        "code": ("en", "code"),
        "JSON": ("en", "json"),
        "logs": ("en", "log"),
        "stack traces": ("en", "trace"),
    }
    out: dict[str, list[str]] = {}
    for name, (lang, genre) in spec.items():
        texts = []
        for _ in range(per_genre):
            parts: list[str] = []
            size = 0
            while size < 2000:
                lg = lang if lang == "en" else r.choice(["zh", "ja"])
                piece = filler(r, lg, genre)
                parts.append(piece)
                size += len(piece.encode())
            texts.append("".join(parts))
        out[name] = texts
    return out


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "digits": lambda n: "1" * n,
    "digits and spaces": lambda n: ("1 " * (n // 2 + 1))[:n],
    "digit groups": lambda n: ("4111 " * (n // 5 + 1))[:n],
    "at signs": lambda n: "@" * n,
    "a@a@": lambda n: ("a@" * (n // 2 + 1))[:n],
    "dots and labels": lambda n: ("a." * (n // 2 + 1))[:n],
    "brackets": lambda n: ("[(<{" * (n // 4 + 1))[:n],
    "colons": lambda n: ("a:" * (n // 2 + 1))[:n],
    "sk- repeated": lambda n: ("sk-" * (n // 3 + 1))[:n],
    "BEGIN blocks": lambda n: ("-----BEGIN PRIVATE KEY-----" * (n // 27 + 1))[:n],
    "base64": lambda n: ("QUJD" * (n // 4 + 1))[:n],
}


def adversarial(engine: Redactor) -> list[dict[str, Any]]:
    out = []
    for name, make in ADVERSARIAL.items():
        small, big = make(100_000), make(1_000_000)
        ts = min(_time(engine.redact_text, small) for _ in range(3))
        tb = min(_time(engine.redact_text, big) for _ in range(2))
        out.append({"input": name, "ms_100k": ts * 1e3, "ms_1m": tb * 1e3, "ratio": tb / ts})
    return out


def _time(fn: Callable[[str], Any], arg: str) -> float:
    t0 = CLOCK()
    fn(arg)
    return CLOCK() - t0


# =================================================================================================
# report
# =================================================================================================


def fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


EXTERNAL_TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "PERSON")


def score_external(redactor: Redactor, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per type, character precision and PII-free rows altered, on a corpus whose
    labels llmlog did not write (``OTHER`` spans are personal data llmlog does not detect:
    unscored, and not false alarms either)."""
    found: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    pred: Counter[str] = Counter()
    pred_ok: Counter[str] = Counter()
    pred_pii: Counter[str] = Counter()
    pred_chars = pred_ok_chars = 0
    clean = altered = 0
    missed: list[str] = []
    false: list[str] = []
    for row in rows:
        text = row["text"]
        spans = redactor.find(text)
        cover = [False] * len(text)
        for s, e, _t in spans:
            for i in range(s, e):
                cover[i] = True
        inside = [False] * len(text)
        for s, e, t in row["spans"]:
            for i in range(s, e):
                inside[i] = True
            if t == "OTHER":
                continue
            gold[t] += 1
            chars = [i for i in range(s, e) if text[i].isalnum()]
            if chars and all(cover[i] for i in chars):
                found[t] += 1
            elif len(missed) < 15:
                missed.append(f"{t}: {text[s:e]!r}")
        for s, e, t in spans:
            pred[t] += 1
            if any(gs < e and s < ge and gt == t for gs, ge, gt in row["spans"]):
                pred_ok[t] += 1
            if any(gs < e and s < ge for gs, ge, _ in row["spans"]):
                pred_pii[t] += 1
            n = sum(1 for i in range(s, e) if text[i].isalnum())
            ok = sum(1 for i in range(s, e) if text[i].isalnum() and inside[i])
            pred_chars += n
            pred_ok_chars += ok
            if ok < n and len(false) < 15:
                false.append(f"{t}: {text[s:e]!r}")
        if row["kind"] == "clean":
            clean += 1
            altered += bool(spans)
    scored = [t for t in EXTERNAL_TYPES if gold[t]]
    core = [t for t in scored if t != "PERSON"]
    return {
        "recall": {t: found[t] / gold[t] for t in scored},
        "precision": {t: pred_ok[t] / pred[t] for t in scored if pred[t]},
        "precision_any": {t: pred_pii[t] / pred[t] for t in scored if pred[t]},
        "gold": {t: gold[t] for t in scored},
        "recall_core": sum(found[t] for t in core) / max(1, sum(gold[t] for t in core)),
        "char_precision": pred_ok_chars / pred_chars if pred_chars else None,
        "clean_rows": clean,
        "clean_altered": altered / clean if clean else None,
        "missed": missed,
        "false": false,
    }


def many_matches(redactor: Redactor) -> list[dict[str, Any]]:
    """Time per match as the number of matches in one text grows (10 to 10,000)."""
    unit = "Mail jane.doe{i}@example.com or call +44 20 7946 {n:04d}; password: hunter{i}\n"
    rows = []
    for n in (10, 100, 1_000, 10_000):
        text = "".join(unit.format(i=i, n=i % 10_000) for i in range(n))
        t = min(_time(redactor.redact_text, text + str(k)) for k in range(3))
        matches = len(redactor.find(text))
        rows.append(
            {
                "values": n * 3,
                "found": matches,
                "kb": len(text.encode()) / 1e3,
                "ms": t * 1e3,
                "us_per_match": t * 1e6 / max(1, matches),
                "mb_s": len(text.encode()) / t / 1e6,
            }
        )
    return rows


def external_section(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Score against presidio-evaluator's templates filled by Faker (see corpus/presidio.py)."""
    try:
        from presidio import WHEEL, build

        rows = build(args.external_n, args.seed)
    except Exception as exc:  # no faker, no network for the wheel
        print(f"\n## External corpus\n\nskipped: {type(exc).__name__}: {exc}")
        return
    red = Redactor()
    res = score_external(red, rows)
    try:
        from llmlog.redact import BUILTIN_TYPES as default_types

        with_names = Redactor(types=[*default_types, "PERSON"])
    except ValueError as exc:  # no faker: no names lists
        print(f"PERSON not scored: {exc}")
        with_names = None
    if with_names is not None:
        res["person"] = score_external(with_names, rows)
    dense = [r["text"] for r in rows if r["kind"] == "pii"]
    clean = [r["text"] for r in rows if r["kind"] == "clean"]
    res["mb_s_dense"] = throughput(red.redact_text, dense, args.repeat)
    res["mb_s_clean"] = throughput(red.redact_text, clean, args.repeat)
    res["many_matches"] = many_matches(red)
    results["external"] = res
    n_values = sum(res["gold"].values())
    print(
        f"\n## External corpus: {WHEEL} templates, Faker values\n\n"
        f"{len(rows)} rows (seed {args.seed}), {n_values} labelled values of scored types, "
        f"{res['clean_rows']} rows without any personal data. {build_note()}.\n"
    )
    person = res.get("person") or {"recall": {}, "precision": {}}
    print("| type | values | recall | precision | with PERSON on: recall | precision |")
    print("|---|---:|---:|---:|---:|---:|")
    for t, rec in res["recall"].items():
        print(
            f"| {t} | {res['gold'][t]} | {rec:.3f} | {fmt(res['precision'].get(t))} | "
            f"{fmt(person['recall'].get(t))} | {fmt(person['precision'].get(t))} |"
        )
    if "person" in res:
        p = res["person"]
        print(
            f"\nWith PERSON on: PERSON spans on some personal data (a name, or an address or "
            f"company made of names) {fmt(p['precision_any'].get('PERSON'))}; "
            f"character precision {fmt(p['char_precision'])}, PII-free rows "
            f"altered {fmt(p['clean_altered'])}; PERSON missed e.g. "
            f"{[m for m in p['missed'] if m.startswith('PERSON')][:6]}; false e.g. "
            f"{p['false'][:8]}"
        )
    print(
        f"\nRecall over the core types (without PERSON): {res['recall_core']:.3f}; character "
        f"precision {fmt(res['char_precision'])}; PII-free rows altered "
        f"{fmt(res['clean_altered'])}; {res['mb_s_dense']:.1f} MB/s on the rows with "
        f"personal data, {res['mb_s_clean']:.1f} MB/s on the others (small texts: per-call "
        "costs dominate)."
    )
    print("\nMissed (first 15):", *res["missed"], sep="\n  ")
    print("False alarms (first 15):", *res["false"], sep="\n  ")
    print("\n### Many matches in one text\n")
    print("| values | found | KB | ms | µs per match | MB/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for m in res["many_matches"]:
        print(
            f"| {m['values']} | {m['found']} | {m['kb']:.0f} | {m['ms']:.1f} | "
            f"{m['us_per_match']:.2f} | {m['mb_s']:.1f} |"
        )


def build_note() -> str:
    """Which llmlog runs: compiled or source detectors, hyperscan or Python gates."""
    from llmlog.redact import compiled, prefilter

    code = "compiled with mypyc (LLMLOG_COMPILE=1)" if compiled() else "Python source"
    return f"llmlog's detectors: {code}; gates: {prefilter.engine()}"


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        # Faker draws some values (Italian cities) from sets, whose order follows the hash
        # seed: with one seed every run scores the same texts
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2400, help="samples in the corpus")
    ap.add_argument("--seed", type=int, default=20240315, help="corpus seed")
    ap.add_argument(
        "--heldout-seed",
        type=int,
        default=31337,
        help="second corpus scored for llmlog only (0 = skip)",
    )
    ap.add_argument("--repeat", type=int, default=5, help="timing repeats (best of)")
    ap.add_argument("--quick", action="store_true", help="600 samples, 2 repeats")
    ap.add_argument(
        "--external-n", type=int, default=3000, help="rows of the external corpus (0 = skip)"
    )
    ap.add_argument("--external-only", action="store_true", help="only the external corpus section")
    args = ap.parse_args()
    if args.external_only:
        results: dict[str, Any] = {}
        external_section(args, results)
        return
    if args.quick:
        args.n, args.repeat = 600, 2

    rows = generate(args.n, args.seed)
    pii = [r["text"] for r in rows if r["kind"] == "pii"]
    clean = [r["text"] for r in rows if r["kind"] == "clean"]
    hard = [r["text"] for r in rows if r["kind"] == "hardneg"]
    sizes = [len(r["text"].encode()) for r in rows]
    print(
        f"# Redaction bench\n\nPython {platform.python_version()} on {platform.machine()}, "
        f"one core. Corpus: {len(rows)} samples (seed {args.seed}), "
        f"{sum(sizes) / 1e6:.2f} MB, {min(sizes)} B to {max(sizes)} B; {len(pii)} with PII "
        f"({sum(len(r['spans']) for r in rows)} labelled values), {len(clean)} PII-free, "
        f"{len(hard)} hard-negative texts. {build_note()}.\n"
    )

    engines: list[Engine] = [LLMLog(), RegexChain()]
    try:
        sd = Scrubadub()
        sd.spans("warm up jane@example.com")
        engines.append(sd)
        scrub_note = f"scrubadub {sd.version}"
    except Exception as exc:  # an ImportError or anything its import chain raises
        scrub_note = f"scrubadub unavailable: {type(exc).__name__}: {exc}"
    print(f"Engines: {', '.join(e.name for e in engines)}. {scrub_note}\n")

    results: dict[str, Any] = {
        "corpus": {"n": len(rows), "seed": args.seed, "bytes": sum(sizes)},
        "engines": {},
        "scrubadub": scrub_note,
        "build": build_note(),
    }
    for e in engines:
        res = score(e, rows)
        res["mb_s_pii"] = throughput(e.redact, pii, args.repeat)
        res["mb_s_clean"] = throughput(e.redact, clean, args.repeat)
        res["mb_s_hardneg"] = throughput(e.redact, hard, args.repeat)
        res["mb_s_all"] = throughput(e.redact, [r["text"] for r in rows], args.repeat)
        results["engines"][e.name] = res

    names = [e.name for e in engines]
    print("## Per type: recall / precision\n")
    print("| type | gold | " + " | ".join(names) + " |")
    print("|---|---:|" + "---|" * len(names))
    for t in BUILTIN_TYPES:
        g = results["engines"]["llmlog"]["per_type"][t]["gold"]
        cells = []
        for n in names:
            pt = results["engines"][n]["per_type"][t]
            cells.append(f"{fmt(pt['recall'])} / {fmt(pt['precision'])}")
        print(f"| {t} | {g} | " + " | ".join(cells) + " |")
    print("\n## Summary\n")
    print(
        "| engine | recall (all) | values leaked | stray spans | PII-free texts altered | "
        "MB/s PII-dense | MB/s PII-free | MB/s hard negatives | MB/s all |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in names:
        r = results["engines"][n]
        print(
            f"| {n} | {r['recall_all']:.3f} | {r['leak_rate']:.2%} | "
            f"{r['stray_predictions'] + r['other_predictions']} | {r['clean_altered']:.1%} | "
            f"{r['mb_s_pii']:.1f} | {r['mb_s_clean']:.1f} | {r['mb_s_hardneg']:.1f} | "
            f"{r['mb_s_all']:.1f} |"
        )

    genres = genre_texts(args.seed)
    results["genres"] = {}
    print("\n## Fast path by genre (PII-free texts of about 2 KB), MB/s\n")
    print("| genre | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for g, texts in genres.items():
        row = {e.name: throughput(e.redact, texts, args.repeat) for e in engines}
        results["genres"][g] = row
        print(f"| {g} | " + " | ".join(f"{row[n]:.1f}" for n in names) + " |")

    rc = record_cost([r["text"] for r in rows if r["kind"] != "hardneg"][:1200], args.repeat)
    results["record_cost"] = rc
    print(
        f"\nRecords: Redactor() on {rc['records']} chat records (a user message and an "
        f"answer from the corpus, in prompt_messages, llm_raw_response and parsed_output): "
        f"{rc['us_per_record']:.1f} µs per record on the writer thread."
    )
    cc = conversation_cost([r["text"] for r in rows if r["kind"] != "hardneg"][:1200], args.repeat)
    results["conversation_cost"] = cc
    print(
        f"Conversations: {cc['records']} records of {cc['turns']}-turn chats (each call "
        f"resends the system prompt and the history): {cc['us_per_record']:.1f} µs per "
        f"record ({cc['us_per_record_without_cache']:.1f} µs without the Redactor's cache)."
    )

    sc = scrub_cost([r["text"] for r in rows if r["kind"] != "hardneg"][:1200])
    results["scrub_cost"] = sc
    print(
        f"Scrubbing a store (Store.rewrite, as 'llmlog redact --db' runs it): "
        f"{sc['interactions']:,} interactions ({sc['store_mb']:.1f} MB file), "
        f"{sc['changed']:,} changed, {sc['values']:,} values replaced in "
        f"{sc['wall_s']:.2f} s ({sc['records_per_s']:,.0f} interactions/s, "
        f"{sc['cpu_s']:.2f} s CPU); a second run changes {sc['second_run_changed']} in "
        f"{sc['second_run_cpu_s']:.2f} s CPU."
    )

    if args.heldout_seed:
        held = generate(args.n, args.heldout_seed)
        hres = score(engines[0], held)
        results["heldout"] = {"seed": args.heldout_seed, **hres}
        worst = min(
            (v["recall"], k) for k, v in hres["per_type"].items() if v["recall"] is not None
        )
        worst_p = min(
            (v["precision"], k) for k, v in hres["per_type"].items() if v["precision"] is not None
        )
        print(
            f"\nSecond corpus (seed {args.heldout_seed}, same generator, first scored after "
            f"tuning), llmlog: "
            f"recall {hres['recall_all']:.4f}, lowest recall {worst[0]:.3f} ({worst[1]}), "
            f"lowest precision {worst_p[0]:.3f} ({worst_p[1]}), PII-free texts altered "
            f"{hres['clean_altered']:.1%}."
        )

    print("\n## Outside the generator: hand-written formats (bench/corpus/outside.py)\n")
    results["outside"] = {}
    for e in engines:
        ok, total, misses = score_outside(e)
        results["outside"][e.name] = {"removed": ok, "total": total, "misses": misses}
        print(f"- {e.name}: {ok}/{total} values fully removed")
    print("\nllmlog misses: " + "; ".join(results["outside"]["llmlog"]["misses"]))

    adv = adversarial(Redactor())
    results["adversarial"] = adv
    print("\n## Hostile input (llmlog): time for 100 KB and 1 MB\n")
    print("| input | 100 KB | 1 MB | ratio |")
    print("|---|---:|---:|---:|")
    for a in adv:
        print(f"| {a['input']} | {a['ms_100k']:.1f} ms | {a['ms_1m']:.1f} ms | {a['ratio']:.1f} |")
    print(f"\nMedian ratio {statistics.median(a['ratio'] for a in adv):.1f} (linear = 10).")

    for n in names:
        ex = results["engines"][n]["examples"]
        if ex["missed"] or ex["false"]:
            print(f"\n{n}: missed e.g. {ex['missed'][:4]}; false e.g. {ex['false'][:4]}")

    if args.external_n:
        external_section(args, results)

    out = HERE / "out" / "redaction.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(f"\nwritten {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
