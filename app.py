"""Start copyadvisor's browser app on its bundled defaults: http://127.0.0.1:7860

Settings come from COPYADVISOR_* environment variables or a config file (see README);
`copyadvisor serve --help` takes the same settings as flags.
"""

import logging
import os

from copyadvisor.config import load_config
from copyadvisor.web.app import serve

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(
        load_config(),
        host=os.environ.get("COPYADVISOR_HOST", "127.0.0.1"),
        port=int(os.environ.get("COPYADVISOR_PORT", "7860")),
    )
