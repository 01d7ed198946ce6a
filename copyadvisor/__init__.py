"""copyadvisor: marketing copy advice (client or customer?) grounded in a local library."""

import os

# Everything runs offline: never reach a model hub or send usage analytics.
# (Set HF_HUB_OFFLINE=0 yourself to let sentence-transformers/transformers download.)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

__version__ = "0.1.0"
