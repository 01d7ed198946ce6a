"""Language identification with lingua (its models ship inside the package: no download)."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Optional

from .knowledge import languages as known_languages

_lock = threading.Lock()

# The candidates lingua chooses among and the languages' names are data: data/languages.toml.


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = (getattr(Language, name) for name in known_languages()["detected"])
    # preloaded: lazy loading put seconds of model loading into whichever request came first
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def detect_language(text: str, min_confidence: float = 0.0) -> Optional[str]:
    """ISO 639-1 code (e.g. ``"fr"``), or None when the text is too unclear to tell."""
    text = text.strip()
    if not text:
        return None
    if "¿" in text or "¡" in text:  # written only in Spanish (and Galician/Asturian, not candidates)
        return "es"
    with _lock:
        values = _detector().compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    if best.value < min_confidence:
        return None
    return best.language.iso_code_639_1.name.lower()


def language_name(code: str) -> str:
    return known_languages()["names"].get(code, code)


def language_names() -> dict[str, str]:
    """ISO code -> English name, for every language copyadvisor knows (data/languages.toml)."""
    return dict(known_languages()["names"])
