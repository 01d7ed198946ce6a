"""The browser search page (handlers directly, and the app served over HTTP)."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

from copyadvisor.web.app import build_app, search_rows


def test_search_rows_show_verdict_and_hits(library):
    status, rows = search_rows(library, "Should I say client or customer?", 3)
    assert status.startswith("covered") and len(rows) == 3
    assert rows[0][0] == 1 and rows[0][1].count("#") == 1


def test_bad_query_is_a_message_not_a_crash(library):
    status, rows = search_rows(library, "", 5)
    assert "empty" in status and rows == []


def test_html_in_a_query_comes_back_as_plain_data(library):
    status, rows = search_rows(library, "<script>alert(1)</script> client", 2)
    assert "<script>" not in status
    assert all("<script>" not in str(cell) for row in rows for cell in row)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_app_serves_on_loopback(library):
    port = free_port()
    app = build_app(library)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, share=False)
    try:
        deadline = time.time() + 30
        while True:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        assert "copyadvisor" in body
    finally:
        app.close()
