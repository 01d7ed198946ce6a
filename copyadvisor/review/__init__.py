"""Draft review, like a prose linter: the audience words in a draft and their inflections
(``lexicon.py``), the built-in rules and the findings (``reviewer.py``), and the library's own
house rules, Vale rule files kept beside its documents (``house_rules.py``)."""
