"""Answering: the advisor turns a question into a cited answer (``advisor.py``); the verdict
(which word the question's own signals call for, from the cues of ``cues.py``) and the library
passage behind it come from ``verdict.py``, which the reviewer uses too; ``answer_checks.py``
holds the checks on an answer's text that the advisor's guard and the answer evaluation share."""
