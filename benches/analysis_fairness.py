#!/usr/bin/env python3
"""One client asking for analyses in a loop, and one ordinary user beside it.

Three attacker threads ask for emerging hot spots with a `from` and `k` that
change on every request (so that no answer is kept), from one address; one
user asks for hot spots, emerging hot spots, an analysis tile and hexagon
counts every 0.3 s, from another. Prints what each got, by status.

Start the server with `--trusted-proxy 127.0.0.1` so that the two addresses
sent in X-Forwarded-For count as two clients:

    trygg serve --demo --basemap none --trusted-proxy 127.0.0.1 --listen 127.0.0.1:8111 &
    benches/analysis_fairness.py http://127.0.0.1:8111
"""
import collections
import random
import sys
import threading
import time
import urllib.error
import urllib.request

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
SECONDS = 12
PERIODS = ["6-18", "18-24", "22-6", "18-6"]


def get(path, client):
    req = urllib.request.Request(BASE + path, headers={"X-Forwarded-For": client})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def attacker(stop, got):
    while time.time() < stop:
        y, m, k = random.choice([2024, 2025]), random.randrange(1, 13), random.randint(1, 5)
        got[get(f"/api/v1/hotspots/emerging?k={k}&res=9&from={y}-{m:02d}-01", "198.51.100.7")] += 1


def user(stop, got):
    time.sleep(1)
    i = 0
    while time.time() < stop - 0.5:
        i += 1
        hours = PERIODS[i % 4]
        for what, path in [
            ("hotspots", f"/api/v1/hotspots?res=9&from=2025-0{1 + i % 9}-01"),
            ("emerging", f"/api/v1/hotspots/emerging?res=8&kind=insecurity&period={['month', 'quarter'][i % 2]}&hours={hours}"),
            ("analysis tile", f"/tiles/hexagons/12/2248/1208.mvt?analysis=true&hours={hours}&from=2025-0{1 + i % 9}-01"),
            ("hexagons", f"/api/v1/hexagons?res=9&hours={hours}"),
        ]:
            got[f"{what} {get(path, '203.0.113.9')}"] += 1
        time.sleep(0.3)


stop = time.time() + SECONDS
attacks, answers = collections.Counter(), collections.Counter()
threads = [threading.Thread(target=attacker, args=(stop, attacks)) for _ in range(3)]
threads.append(threading.Thread(target=user, args=(stop, answers)))
for t in threads:
    t.start()
for t in threads:
    t.join()
print("attacker:", dict(sorted(attacks.items())))
print("user:    ", dict(sorted(answers.items())))
