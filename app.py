"""Start copyadvisor on its bundled defaults: http://127.0.0.1:7860

The browser app is at /, the widget at /widget, the API at /api/v1 (docs at /docs), and
/healthz says when the index and the model are loaded. Settings come from COPYADVISOR_*
environment variables or a config file (see README); `copyadvisor serve --help` takes the
same settings as flags.
"""

import logging

from copyadvisor.config import load_config
from copyadvisor.web.server import serve

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(load_config())
