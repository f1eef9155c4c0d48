"""Personal names (``PERSON``): opt-in, offline, no model download.

Off by default: enable it with ``enable = ["PERSON"]`` in a rules file (or
``Redactor(types=[*BUILTIN_TYPES, "PERSON"])``). Its precision on a corpus llmlog did
not write (``bench/redaction.py``, external section) is above 95 %, but it needs Faker
and costs more than a default may; the README gives the figures and the reasons.

How a name is found, in order of confidence:

1. **A cue, then capitalised words**: ``my name is``, ``I'm``, ``this is``, ``call me``,
   titles (``Mr.``, ``Mrs.``, ``Ms.``, ``Dr.``, ``Prof.``), greetings and sign-offs
   (``Dear``, ``Hi``, ``Thanks,``, ``Regards,``), roles (``customer``, ``patient``,
   ``guardian``): the one to three capitalised words after it.
2. **A known first name followed by a known last name** (``Kerri Middleton``), from
   the names lists.
3. **A known first name alone** (``add Angela as guardian``), unless it is also a common
   word or place (``April``, ``Will``, ``Paris``, ``Jordan``: the allow list) or starts a
   sentence.

Streets, towns and companies are made of names too (``19127 Jacob Tunnel``, ``Lake
Erica``, ``Via Stefania``, ``Moore and Arnold Ltd``): a name found by 2. or 3. is left
when a house number or a place word comes right before it, or a street or company word
right after it; a country is never a name, cue or not. The place words are Faker's
address lists (street and city prefixes and suffixes) with a few more.

The names lists come from the ``faker`` package (the ``names`` extra, MIT licensed,
maintained, many locales): its person providers' first and last names are read once,
when the first ``PERSON`` redactor is built; nothing is copied into llmlog.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection

from llmlog.exceptions import NamesUnavailableError

__all__ = ["NamesUnavailableError", "find_names", "load_names"]

Finding = tuple[int, int, str]


def _words(text: str) -> list[str]:
    return text.split()


_LOCALES = _words("en_US en_GB de_DE fr_FR es_ES it_IT pt_BR nl_NL pl_PL sv_SE en_IN en_IE")

# Common words and places that are also first names: a name only with a cue.
_ALLOW = frozenset(
    _words(
        "april may june august summer autumn winter dawn eve holly ivy rose lily daisy "
        "iris violet hazel heather jasmine will bill mark rob pat sue grace hope joy "
        "faith charity honor honour harmony destiny chance chase hunter mason cash king "
        "prince sky river ocean rain storm paris london jordan madison austin dallas "
        "houston florence sydney victoria georgia carolina virginia dakota brooklyn "
        "chelsea camden lincoln washington jackson charlotte savannah phoenix aurora "
        "angel christian major rich sunny young brown green white black gray grey long "
        "short north west small little page bell hall wood woods ward love lane price "
        "bishop cook baker miller taylor jan feb mar apr jun jul aug sep sept oct nov dec "
        "january february march july september october november december mon tue wed thu "
        "fri sat sun monday tuesday wednesday thursday friday saturday sunday claude "
        "gemini nova meta llama mistral grok cohere gemma phi ollama copilot siri alexa"
    )
)
# Capitalised words that are never a name here (sentence starts, titles, pronouns); some
# are first names somewhere ("My" is Swedish), none is one after "Hi" or alone.
_NOT_NAMES = frozenset(
    _words(
        "i a an the my our your his her their its we you he she it they this that these "
        "those and or but if so no yes not all any some please thanks thank hello hi hey "
        "dear in on at to for of with by from as is are was were be can could would "
        "should will may mr mrs ms mx dr prof miss sir madam mme mlle herr frau sr sra ing"
    )
)
# The cues of a name: phrases and titles (a title may take its period). _cue_before tests
# them as suffixes (a tuple: one endswith() for all), _CUE as a regex for non-ASCII text,
# and the prefilter's cue gate is built from them too.
_CUES = (
    "my name is", "name is", "names are", "i am", "i'm", "im", "this is", "call me", "named",
    "called", "name:", "customer", "client", "patient", "guardian", "employee", "colleague",
    "manager", "contact", "dear", "hi", "hello", "hey", "thanks", "thank you", "regards",
    "sincerely", "cheers", "best",
)  # fmt: skip
_TITLES = _words("mr mrs ms mx dr prof miss sir madam mme mlle herr frau sr sra")
_TITLE_ENDS = tuple([*_TITLES, *(t + "." for t in _TITLES)])
_CUE = re.compile(
    r"(?:\b(?:" + "|".join(map(re.escape, _CUES)) + r")"
    r"|\b(?:" + "|".join(_TITLES) + r")\.?)[,:]?\s+$",
    re.IGNORECASE,
)
# a capitalised word on its own, not a piece of a token ("lDASelA4Ns", "x/Karen+9")
# (the capital first, then what is before it: a pattern that starts with a class is
# searched by the engine's fast scan for that class, one that starts with a look-behind is
# tried at every character)
_CAP = re.compile(
    r"[A-Z\u00c0-\u00de](?:(?<![\w/+].)|(?<=\\[ntr].))"  # an escaped break is a break
    r"[a-z\u00df-\u00ff]+(?:['\u2019][a-z][a-z\u00df-\u00ff]+)?"
    r"(?:-[A-Z\u00c0-\u00de][a-z\u00df-\u00ff]+)?"
    r"(?![\w/+])"
)

# Words that make the name next to them part of a place or a company, beyond Faker's lists.
_PLACE_BEFORE = frozenset(
    _words(
        "saint sainte st san santa santo mount mt fort lake port new north south east west "
        "upper lower old via viale piazza rue calle pasaje paseo ronda camino carrer "
        "rotonda canale largo vicolo strada contrada avenida rua travessa alameda plaza"
    )
)
_COUNTRY_HEADS: frozenset[str] = frozenset()  # set by load_places: "sierra" of "Sierra Leone"
_PLACE_AFTER = frozenset(
    _words(
        "street st road rd avenue ave lane ln drive dr boulevard blvd court ct square sq "
        "ltd llc plc inc corp group gmbh ag spa sa sl sarl bv nv oy ab co"
    )
)

_lock = threading.Lock()
_names: tuple[frozenset[str], frozenset[str]] | None = None
_places: tuple[frozenset[str], frozenset[str], frozenset[str]] | None = None


def load_names() -> tuple[frozenset[str], frozenset[str]]:
    """The first and last names (lower case), read once from Faker's person providers."""
    global _names
    if _names is not None:
        return _names
    with _lock:
        if _names is not None:
            return _names
        try:
            import importlib

            importlib.import_module("faker")
        except ImportError:
            raise NamesUnavailableError(
                "PERSON redaction needs the names lists: pip install 'llmlog[names]'"
            ) from None
        first: set[str] = set()
        last: set[str] = set()
        for loc in _LOCALES:
            try:
                mod = importlib.import_module(f"faker.providers.person.{loc}")
            except ImportError:
                continue
            p = mod.Provider
            for attr, into in (
                ("first_names", first),
                ("first_names_male", first),
                ("first_names_female", first),
                ("last_names", last),
            ):
                names = getattr(p, attr, ())
                into.update(str(n).lower() for n in names)
        _names = (frozenset(first - {""}), frozenset(last - {""}))
        return _names


def load_places() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Words before a place name, words after one, and countries (lower case), read once
    from Faker's address providers (with :data:`_PLACE_BEFORE` and :data:`_PLACE_AFTER`)."""
    global _places
    if _places is not None:
        return _places
    import importlib

    before, after = set(_PLACE_BEFORE), set(_PLACE_AFTER)
    countries: set[str] = set()
    for loc in _LOCALES:
        try:
            p = importlib.import_module(f"faker.providers.address.{loc}").Provider
        except ImportError:
            continue
        for attr, into in (
            ("city_prefixes", before),
            ("street_prefixes", before),
            ("street_suffixes", after),
            ("countries", countries),
        ):
            words = getattr(p, attr, ())
            if isinstance(words, (list, tuple)):
                for w in words:
                    w = str(w)
                    if w[:1].isupper():
                        into.add(w.lower())
                        if into is countries:  # "Estados Unidos de América" as its start
                            into.add(" ".join(w.lower().split()[:2]))
    if "it_IT" in _LOCALES:  # Italian streets put their kind first: "Via", "Piazza"
        p = importlib.import_module("faker.providers.address.it_IT").Provider
        before.update(str(w).lower() for w in getattr(p, "street_suffixes", ()))
    global _COUNTRY_HEADS
    _COUNTRY_HEADS = frozenset(c.split()[0] for c in countries if " " in c)
    _places = (frozenset(before), frozenset(after), frozenset(countries))
    return _places


_HOUSE_NUMBER = re.compile(r"[0-9][0-9/\-]{0,8}[A-Za-z]?$")
_BREAK = re.compile(r"\\[ntr]|[>\s]")  # escaped breaks and quote marks split words too
_PARTICLES = frozenset(_words("de del della di da do dos das du des la le van von"))
_LOWER_PLACE = frozenset(_words("rue chemin avenue boulevard allée impasse place quai route"))
# "Reynolds, Lane and Lewis": a company made of last names (Faker's, and many real firms)
_NAME_LIST = re.compile(r"(?:[A-Z][\w'\-]+, )+[A-Z][\w'\-]+,? (?:and|&) [A-Z][\w'\-]+")


def _word_before(text: str, s: int) -> str:
    """The word before ``s`` (separated by spaces), without escaped breaks glued to it."""
    head = text[max(0, s - 24) : s]
    if not head or head[-1] not in " \u00a0":
        return ""
    parts = _BREAK.split(head[:-1])
    return parts[-1] if parts else ""


def _in_place(text: str, s: int, e: int) -> bool:
    """Return whether the name at ``text[s:e]`` is part of an address or a company name."""
    before, after, _ = load_places()
    prev = _word_before(text, s)
    if prev.lower() in _PARTICLES:  # "Paseo de Fabiola Anaya"
        prev = _word_before(text, s - len(prev) - 1)
    if prev and (
        _HOUSE_NUMBER.match(prev)
        or (prev[0].isupper() and prev.rstrip(".").lower() in before)
        or prev in _LOWER_PLACE
    ):
        return True
    if e < len(text) and text[e] == " ":
        nxt = [w for w in _BREAK.split(text[e + 1 : e + 24]) if w]
        if nxt:
            word = nxt[0].rstrip(".,;:!?")
            if word[:1].isupper() and word.lower() in after:
                return True
            if word == "and" and len(nxt) > 1 and nxt[1].startswith("Sons"):
                return True
    return _in_name_list(text, s, e)


def _in_name_list(text: str, s: int, e: int) -> bool:
    """Return whether ``text[s:e]`` is one of "A, B and C" where another is only a last name."""
    if "," not in text[max(0, s - 60) : e + 60] or " and " not in text[max(0, s - 60) : e + 60]:
        return False
    first, last = load_names()
    lo = max(0, s - 60)
    for m in _NAME_LIST.finditer(text, lo, min(len(text), e + 60)):
        if m.start() <= s and e <= m.end():
            members = re.findall(r"[A-Z][\w'\-]+", m.group())
            return any(
                w.lower() in last and w.lower() not in first for w in members if w != text[s:e]
            )
    return False


def _sentence_start(text: str, i: int) -> bool:
    j = i - 1
    while j >= 0 and text[j] in " \t\"'(":
        j -= 1
    return j < 0 or text[j] in ".!?\n:;"


def _cue_before(text: str, s: int) -> bool:
    """Return whether a cue ends right before the word at ``s`` (what :data:`_CUE` says):
    a cue phrase or a title (with its period), an optional ``,`` or ``:``, white space."""
    if s == 0 or not text[s - 1].isspace():
        return False
    lo = max(0, s - 24)
    head = text[lo:s]
    if not head.isascii():
        return _CUE.search(text, lo, s) is not None
    h = head.rstrip().lower()
    ends = (h, h[:-1]) if h.endswith((",", ":")) else (h,)
    for c in ends:
        for suffixes in (_CUES, _TITLE_ENDS):
            if c.endswith(suffixes):
                for phrase in suffixes:
                    if c.endswith(phrase):
                        at = lo + len(c) - len(phrase)  # where the phrase starts in text
                        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
                            return True
    return False


def find_names(
    text: str, out: list[Finding], on: Collection[str], tags: Collection[str] | None = None
) -> None:
    """Find personal names (see the module docstring); appends ``PERSON`` findings.

    Args:
        text: the text to scan.
        out: findings are appended here.
        on: the enabled types.
        tags: the prefilter's tags for this text (None: no prefilter). Without its
            ``"cue"`` tag only a known first name can start a name, so a text whose
            capitalised words hold none is done after one ``findall``.
    """
    if "PERSON" not in on:
        return
    first, last = load_names()
    countries = load_places()[2]
    if (
        tags is not None
        and "cue" not in tags
        and first.isdisjoint([w.lower() for w in _CAP.findall(text)])
    ):
        return
    words = list(_CAP.finditer(text))
    i = 0
    while i < len(words):
        w = words[i]
        # most capitalised words are no known first name and follow no cue: two set
        # lookups and a suffix test, before any run is built
        lw = w.group().lower()
        if lw in _NOT_NAMES or (
            lw not in first and lw not in _COUNTRY_HEADS and not _cue_before(text, w.start())
        ):
            i += 1
            continue
        # a run of capitalised words separated by single spaces (at most three)
        run = [w]
        while len(run) < 3 and i + len(run) < len(words):
            nxt = words[i + len(run)]
            if text[run[-1].end() : nxt.start()] not in (" ", "\u00a0"):
                break
            run.append(nxt)
        low = [m.group().lower() for m in run]
        if low[0] in _NOT_NAMES:
            i += 1
            continue
        cue = _cue_before(text, w.start())
        if len(low) > 1 and f"{low[0]} {low[1]}" in countries:
            i += 2  # a country of two words ("Sierra Leone")
            continue
        if low[0] in countries:
            i += 1  # a country ("I am Nigeria")
            continue
        if cue:
            # after a cue: the run, up to the first word that is no name part
            n = 1
            while (
                n < len(run)
                and low[n] not in _NOT_NAMES
                and (low[n] in last or low[n] in first or n == 1)
            ):
                n += 1
            out.append((run[0].start(), run[n - 1].end(), "PERSON"))
            i += n
            continue
        if (
            len(run) >= 2
            and low[0] in first
            and low[1] in last
            and not (low[0] in _ALLOW and low[1] in _ALLOW)
        ):
            if not _in_place(text, run[0].start(), run[1].end()):
                out.append((run[0].start(), run[1].end(), "PERSON"))
            i += 2
            continue
        if (
            low[0] in first
            and low[0] not in _ALLOW
            and not _sentence_start(text, w.start())
            and not _in_place(text, w.start(), w.end())
        ):
            out.append((w.start(), w.end(), "PERSON"))
        i += 1
