"""Start copyadvisor on its bundled defaults: http://127.0.0.1:7860

    python app.py [--host H] [--port P] [--config F] ...   (python app.py --help)

The browser app is at /, the widget at /widget, the API at /api/v1 (docs at /docs), and
/healthz says how far loading the index and the model has got (a loading page stands in
for / and /widget until then). Settings come from flags, COPYADVISOR_* environment
variables or a config file (see README): exactly the flags of `copyadvisor serve`, parsed
by the same code; an unknown flag is an error (exit 2).
"""

import sys

from copyadvisor.cli import serve_main

if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:], prog="app.py"))
