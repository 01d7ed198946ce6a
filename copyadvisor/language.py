"""Language identification with lingua (its models ship inside the package: no download)."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Optional

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _detector():
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().build()


def detect_language(text: str, min_confidence: float = 0.0) -> Optional[str]:
    """ISO 639-1 code (e.g. ``"fr"``), or None when the text is too unclear to tell."""
    text = text.strip()
    if not text:
        return None
    with _lock:
        values = _detector().compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    if best.value < min_confidence:
        return None
    return best.language.iso_code_639_1.name.lower()
