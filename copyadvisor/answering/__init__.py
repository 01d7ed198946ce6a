"""Answering: the advisor turns a question into a cited answer (``advisor.py``), from the
signal words of ``cues.py``, and keeps only sentences that pass the checks of ``answer_checks.py``
(which the answer evaluation runs too)."""
