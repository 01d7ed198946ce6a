"""Evaluation and benchmarks (``copyadvisor eval`` and ``copyadvisor bench``): retrieval
(``retrieval_eval.py``), answers (``answer_eval.py``) and draft review (``review_eval.py``)
on the sets in ``eval/``, their shared per-language tables (``reporting.py``), and the
benchmarks that print figures (``bench.py``)."""
