"""Serving: one FastAPI app (``server.py``) with the API (``api.py``), the widget (``static/``)
and the Gradio app (``app.py``); loading in the background (``services.py``), the request
guards (``security.py``) and the admin's changes to the library (``library_admin.py``)."""
