"""The data files under copyadvisor/data/: complete, consistent and loadable."""

import re

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
    from copyadvisor import cues

    data = read_toml("cues.toml")
    data["cue"].append({"term": "member", "weight": 3.0, "pattern": r"\bpatrons?\b"})
    monkeypatch.setattr(cues, "read_toml", lambda name: data)
    cues.compiled_cues.cache_clear()
    try:
        scores, matched = cues.score_terms("Our patrons come every season")
        assert scores.get("member") == 3.0 and matched["member"] == ["patrons"]
    finally:
        cues.compiled_cues.cache_clear()
