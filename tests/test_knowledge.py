"""The data files under copyadvisor/data/: complete, consistent and loadable."""

import re

import pytest

from copyadvisor import knowledge
from copyadvisor.knowledge import read_toml


def supported_languages() -> set[str]:
    return set(knowledge.supported_languages())


def test_every_message_exists_in_every_supported_language():
    languages = supported_languages()
    assert {"en", "fr", "pl", "ja", "id", "ar", "de", "es"} <= languages
    missing = {key: sorted(languages - set(table)) for key, table in read_toml("messages.toml").items()}
    assert {key: langs for key, langs in missing.items() if langs} == {}


def test_every_term_has_a_word_and_forms_in_every_supported_language():
    languages = supported_languages()
    for label, term in read_toml("terms.toml")["term"].items():
        assert languages <= set(term), label
        assert term["query"] and term["meaning"], label
        assert languages <= set(term["forms"]), label


def test_cues_name_known_terms_and_compile():
    terms = set(read_toml("terms.toml")["term"])
    data = read_toml("cues.toml")
    for cue in data["cue"]:
        assert cue["term"] in terms, cue
        assert cue["weight"] > 0, cue
        re.compile(cue["pattern"])
    for name, parts in data["patterns"].items():
        assert parts and all(part for part in parts), name
        re.compile("|".join(parts))


def test_a_cue_added_as_data_changes_the_recommendation(monkeypatch):
    from copyadvisor.answering import cues

    data = read_toml("cues.toml")
    data["cue"].append({"term": "member", "weight": 3.0, "pattern": r"\bpatrons?\b"})
    monkeypatch.setattr(cues, "read_toml", lambda name: data)
    cues.compiled_cues.cache_clear()
    try:
        scores, matched = cues.score_terms("Our patrons come every season")
        assert scores.get("member") == 3.0 and matched["member"] == ["patrons"]
    finally:
        cues.compiled_cues.cache_clear()


def strings_in(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


def test_no_data_string_holds_a_control_character():
    """A pattern in a double-quoted TOML string must write \\\\b: "\\b" is a backspace there, and the
    pattern silently never matches (the French "l'article" recall and « ceux qui » had been so)."""
    from pathlib import Path

    for path in sorted((Path(knowledge.__file__).parent / "data").glob("*.toml")):
        bad = [text[:60] for text in strings_in(read_toml(path.name)) if re.search(r"[\x00-\x08\x0b-\x1f]", text)]
        assert bad == [], path.name


def test_every_loader_accepts_the_shipped_data():
    assert knowledge.terms() and knowledge.loading_messages()
    assert set(knowledge.lexicon()) >= {"en", "fr", "pl", "id", "ja", "ar"}
    assert knowledge.senses().other and knowledge.gloss_words()["distinct_words"]
    assert knowledge.echo_markers().search("As an AI language model")
    assert set(knowledge.supported_languages()) <= set(knowledge.languages()["names"])


def test_every_translation_of_a_message_has_the_same_placeholders():
    field = re.compile(r"\{(\w+)\}")
    for key, table in read_toml("messages.toml").items():
        expected = set(field.findall(table["en"]))
        for lang, text in table.items():
            assert set(field.findall(text)) == expected, (key, lang)


def test_lexicon_senses_and_glosses_name_known_terms_and_languages():
    terms = set(knowledge.terms())
    for lang, entry in read_toml("lexicon.toml").items():
        assert set(entry["nouns"]) <= terms, lang
        assert set(entry.get("extra", {})) <= terms, lang
        if entry["kind"] == "table":
            assert all(len(forms) == len(entry["slots"]) for forms in entry["nouns"].values()), lang
    senses = read_toml("senses.toml")
    assert set(senses["other"]) <= terms
    assert set(senses["words"]) == set(senses["cues"]) == {"client", "customer"} <= terms
    names = knowledge.languages()["names"]
    assert set(read_toml("glosses.toml")) <= set(names)
    assert set(read_toml("lexicon.toml")) <= set(names)


def test_a_lexicon_entry_of_the_wrong_length_is_refused(monkeypatch):
    data = read_toml("lexicon.toml")
    data["fr"]["nouns"]["user"] = ["utilisateur"]
    monkeypatch.setattr(knowledge, "read_toml", lambda name: data if name == "lexicon.toml" else read_toml(name))
    knowledge.lexicon.cache_clear()
    try:
        with pytest.raises(knowledge.KnowledgeError, match="user needs 4 forms"):
            knowledge.lexicon()
    finally:
        knowledge.lexicon.cache_clear()


# A new term added only as data: the loader is patched before the rest of the package is
# imported (as a fresh process would read edited files), so nothing else changes.
ADD_A_TERM = r'''
import json
from copyadvisor import knowledge

real = knowledge.read_toml
def read_toml(name):
    data = real(name)
    if name == "terms.toml":
        data["term"]["patron"] = {
            "meaning": "regulars who come back to a bar, a restaurant or a theatre",
            "query": "patron habitué: regulars of a bar or a theatre",
            "en": "patron", "fr": "habitué",
            "forms": {"en": r"\bpatrons?\b", "fr": r"\bhabitué(?:e|s|es)?\b"},
        }
    if name == "cues.toml":
        data["cue"].append({"term": "patron", "weight": 5.0, "pattern": r"\bregulars?\b|\bhabitués?\b"})
    if name == "lexicon.toml":
        data["en"]["nouns"]["patron"] = ["patron", "patrons"]
        data["fr"]["nouns"]["patron"] = ["habitué", "habituée", "habitués", "habituées"]
    return data
knowledge.read_toml = read_toml

from copyadvisor.answering.verdict import recommend
from copyadvisor.review.house_rules import NO_RULES
from copyadvisor.review.lexicon import find_terms
from copyadvisor.review.reviewer import ReviewContext, Reviewer, alternatives

class Found:
    hits = []

class Library:
    def search(self, *args, **kwargs):
        return Found()

reviewer = object.__new__(Reviewer)  # without __init__: no language detector to load
reviewer.library, reviewer.generator, reviewer._house_rules, reviewer._support = Library(), None, NO_RULES, {}
decided = recommend("Our regulars come back to the bar every evening. What should we call them?")
context = ReviewContext(decided.term, "stated", decided.rationale, decided.signals)
found = {}
for lang, draft in (("en", "Our customers come back every evening."), ("fr", "Nos clientes reviennent chaque soir.")):
    findings = [f for f in reviewer.apply_rules(draft, find_terms(draft, (lang,)), context) if f]
    found[lang] = [(f.rule, f.text, f.suggestion, f.message) for f in findings]
print(json.dumps({"term": decided.term, "rationale": decided.rationale, "alternative": "patron" in alternatives(), "found": found}))
'''


def test_a_term_added_as_data_is_recommended_and_suggested_in_review():
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-c", ADD_A_TERM], cwd=root, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["term"] == "patron" and result["rationale"].startswith("regulars who come back")
    assert result["alternative"]
    (rule, text, suggestion, message), = result["found"]["en"]
    assert (rule, text, suggestion) == ("copyadvisor.BetterAlternative", "customers", "patrons")
    assert "regulars who come back" in message
    (rule, text, suggestion, message), = result["found"]["fr"]
    assert (text, suggestion) == ("clientes", "habituées")
