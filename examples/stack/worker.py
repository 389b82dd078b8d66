"""Polls the api every POLL_SECONDS seconds (it starts only once the api answers)."""
import os
import time
import urllib.request

url = f"http://127.0.0.1:{os.environ['PORT']}/schema.txt"
every = float(os.environ.get("POLL_SECONDS", "2"))
while True:
    with urllib.request.urlopen(url, timeout=2) as r:
        print(f"polled {url}: {r.read().decode().strip()}")
    time.sleep(every)
