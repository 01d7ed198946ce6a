"""Signal words that describe a business relationship, and the request patterns the
advisor treats specially; all of them are data, in ``data/cues.toml``.

``score_terms`` scores each audience word by the cues found in a text; ``OUT_OF_SCOPE``,
``INJECTION``, ``OTHER_TASK``, ``ABOUT_WORDS`` and ``AUDIENCE`` are compiled from the file's
``[patterns]`` table.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from ..knowledge import read_toml


_PATTERNS = read_toml("cues.toml")["patterns"]  # read once, at import


def pattern(name: str) -> re.Pattern:
    """One of the ``[patterns]`` of cues.toml: its alternatives joined, case-insensitive."""
    return re.compile("|".join(_PATTERNS[name]), re.IGNORECASE)


OUT_OF_SCOPE = pattern("out_of_scope")  # requests that are not about audience wording, whatever words they contain
INJECTION = pattern("injection")  # attempts to change the assistant's rules from inside a question or a draft
AUDIENCE = pattern("audience")  # a question that names one of these is about what to call people
OTHER_TASK = pattern("other_task")  # work the library cannot do (pricing, SEO, contracts, code ...), whoever it is for
PROOFREADING = pattern("proofreading")  # grammar and typos of a whole text: not the library's subject unless it names the people
ABOUT_WORDS = pattern("about_words")  # the question asks about the words themselves
LEGAL_QUESTION = pattern("legal_question")  # what the law requires: not the library's subject, even about the words
WORD_REST = re.compile(r"[A-Za-zÀ-ɏ\u0600-\u06FF]*")  # the rest of a word in a Latin or Arabic script ("client" in "clients")
AUDIENCE_WORDS = [re.compile(alternative, re.IGNORECASE) for alternative in _PATTERNS["audience"]]
NEGATION = pattern("negation")  # "nothing is personalised": the cue after it does not count
NEGATION_REACH = 3  # words before a cue in which a negation cancels it
NEGATION_AFTER = pattern("negation_after")  # "persönlichen Kontakt gibt's praktisch nicht": negated after the cue
NEGATION_AFTER_REACH = 6  # words after a cue in which such a negation cancels it
NEGATED_POINTS_TO = _PATTERNS.get("negated_points_to", {})  # not tailored: customer


CLAUSE_MARK = re.compile(r"[!?;。！？؟]|[.:,](?!\d)")  # "no 1:1 coaching" is one clause


def negated(text: str, start: int, end: Optional[int] = None) -> bool:
    """Whether a negation ("no", "sans", "bez", "ohne" ...) is among the few words before ``start``,
    or one that follows its phrase ("… gibt's nicht") among the few words after ``end``."""
    before = CLAUSE_MARK.split(text[:start])[-1]  # within the same clause
    words = before.split()[-NEGATION_REACH:]
    if any(NEGATION.search(f" {word} ") for word in words):
        return True
    after = CLAUSE_MARK.split(re.sub(r"^\w*", "", text[end:]))[0] if end is not None else ""  # from the cue's word end
    return bool(NEGATION_AFTER.search(" ".join(after.split()[:NEGATION_AFTER_REACH])))


@lru_cache(maxsize=1)
def compiled_cues() -> dict[str, list[tuple[re.Pattern, float, bool]]]:
    """Each term's cues: (pattern, weight, whether it counts once however often it matches)."""
    cues: dict[str, list[tuple[re.Pattern, float, bool]]] = {}
    for cue in read_toml("cues.toml")["cue"]:
        compiled = (re.compile(cue["pattern"], re.IGNORECASE), float(cue["weight"]), bool(cue.get("once", False)))
        cues.setdefault(cue["term"], []).append(compiled)
    return cues


def score_terms(text: str, weight: float = 1.0) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Cue scores per term for ``text`` and the matched phrases (for the rationale).

    Overlapping matches count once per term ("personalised" is not also "personal"); a cue
    a few words after a negation does not count ("no onboarding" is not onboarding), or counts
    for the word ``negated_points_to`` names ("nothing is personalised" points to customer);
    a ``once`` cue (the kind of business: "bakery", "cafés") counts once however often it is named.
    """
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for term, patterns in compiled_cues().items():
        taken: list[tuple[int, int]] = []
        for pattern, cue_weight, once in patterns:
            counted_once = False
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(start < other_end and other_start < end for other_start, other_end in taken):
                    continue
                counted = term
                if negated(text, start, end):  # "nic pod nikogo nie personalizujemy", "sans aucun suivi"
                    counted = NEGATED_POINTS_TO.get(term)
                    if counted is None:
                        continue
                taken.append((start, end))
                if once and counted_once:
                    continue
                counted_once = True
                scores[counted] = scores.get(counted, 0.0) + cue_weight * weight
                matched.setdefault(counted, []).append(match.group(0).strip())
    return scores, matched


def audience_words_in(text: str) -> list[tuple[int, int, int]]:
    """Each audience word written in ``text``: (start, end, which word of cues.toml's ``audience``), in order."""
    found = []
    for which, word in enumerate(AUDIENCE_WORDS):
        found += [(m.start(), m.end() + len(WORD_REST.match(text, m.end()).group(0)), which) for m in word.finditer(text)]
    found.sort()
    return [f for i, f in enumerate(found) if i == 0 or f[0] >= found[i - 1][1]]  # "klient" inside "klienta" once

