"""Retrieval: the library's documents read (``corpus.py``), cut into passages (``splitting.py``),
tagged with the sense of their audience word and linked to their translations (``terms.py``),
glossed (``glosses.py``), embedded into an index (``index.py``) and searched (``search.py``);
``library.py`` assembles them from a config."""
