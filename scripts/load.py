"""Load test: N concurrent clients against a running copyadvisor, bounded in count and time.

    python scripts/load.py --url http://127.0.0.1:7860 --clients 20 --seconds 120

Loopback only: the URL must point at this machine. Each client loops over a mix of
requests (ask, review, search) until the time is up or --max-requests is reached.
Prints throughput, latency percentiles per endpoint, status counts (429/503 are deliberate
back-pressure, anything else is an error) and the server's memory before and after.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlparse

import httpx

QUESTIONS = [
    "We are a law firm with long-term retainers. Client or customer?",
    "Nous vendons des cafés pas chers à emporter. Client ou client ?",
    "Kami menjual kopi murah, orang membeli sekali. Klien atau pelanggan?",
    "What is the capital of France?",
]
DRAFT = "Big discounts at our grocery store! Clients pick up cheap bread. " * 20


def loopback_only(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    sys.exit(f"refusing {url}: load tests only target this machine (127.0.0.0/8, ::1, localhost)")


def server_rss_mib(url: str) -> float | None:
    try:
        import psutil

        port = urlparse(url).port
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
                return psutil.Process(conn.pid).memory_info().rss / 2**20
    except Exception:
        return None
    return None


def sample_memory(url: str, deadline: float, samples: list) -> None:
    while time.time() < deadline:
        samples.append(server_rss_mib(url))
        time.sleep(10)


def server_memory(url: str) -> str:
    try:
        import psutil

        port = urlparse(url).port
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
                return f"{psutil.Process(conn.pid).memory_info().rss / 2**20:.0f} MiB"
    except Exception as error:  # psutil missing or no permission: say so
        return f"unknown ({error})"
    return "unknown (server process not found)"


def client(url: str, deadline: float, budget: list, results: list, lock: threading.Lock, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=300) as http:
        while time.time() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            kind = rng.choice(["ask", "ask", "review", "search"])
            started = time.perf_counter()
            try:
                if kind == "ask":
                    response = http.post("/api/v1/ask", json={"question": rng.choice(QUESTIONS)})
                elif kind == "review":
                    response = http.post("/api/v1/review", json={"draft": DRAFT})
                else:
                    response = http.get("/api/v1/search", params={"q": rng.choice(QUESTIONS)})
                status = response.status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            with lock:
                results.append((kind, status, time.perf_counter() - started))
            if status in (429, 503):  # back off as told (at most a second), like a polite client
                time.sleep(min(1.0, float(response.headers.get("retry-after", "1"))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--max-requests", type=int, default=5000)
    args = parser.parse_args()
    loopback_only(args.url)
    if httpx.get(f"{args.url}/healthz", timeout=10).json().get("status") != "ready":
        return print("server is not ready (see /healthz)") or 1
    memory_before = server_memory(args.url)
    results, lock, budget = [], threading.Lock(), [args.max_requests]
    deadline = time.time() + args.seconds
    threads = [threading.Thread(target=client, args=(args.url, deadline, budget, results, lock, i)) for i in range(args.clients)]
    samples: list = []
    threading.Thread(target=sample_memory, args=(args.url, deadline, samples), daemon=True).start()
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    statuses = Counter(status for _, status, _ in results)
    errors = sum(n for s, n in statuses.items() if s not in (200, 429, 503))
    print(f"{args.clients} clients, {elapsed:.0f} s, {len(results)} requests, {len(results) / elapsed:.2f} requests/s")
    print(f"statuses: {dict(statuses)}; errors (not 200/429/503): {errors}")
    by_kind = defaultdict(list)
    for kind, status, seconds in results:
        if status == 200:
            by_kind[kind].append(seconds)
    for kind, times in sorted(by_kind.items()):
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * (len(times) - 1)))]
        print(f"{kind:<7} ok={len(times):<5} p50={statistics.median(times):.2f}s p95={p95:.2f}s max={times[-1]:.2f}s")
    print(f"server memory: before {memory_before}, after {server_memory(args.url)}")
    print("server RSS every 10 s (MiB): " + " ".join(f"{m:.0f}" if m else "?" for m in samples))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
