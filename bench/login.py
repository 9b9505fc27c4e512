#!/usr/bin/env python3
# usage: bench/login.py PORT N CONCURRENCY  (admin@localhost / bench-admin-password-1)
# Correct-password logins over keep-alive connections: logins a second, p50, p99.
import json, sys, time, http.client, threading, statistics
port = int(sys.argv[1]); n = int(sys.argv[2]); conc = int(sys.argv[3])
body = json.dumps({"email": "admin@localhost", "password": "bench-admin-password-1"})
lat = []; lock = threading.Lock()
def worker(k):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(k):
        t = time.perf_counter()
        c.request("POST", "/v1/auth/login", body, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
        d = (time.perf_counter() - t) * 1000
        with lock: lat.append(d)
ts = [threading.Thread(target=worker, args=(n // conc,)) for _ in range(conc)]
t0 = time.perf_counter()
[t.start() for t in ts]; [t.join() for t in ts]
el = time.perf_counter() - t0
lat.sort()
print(f"c={conc} n={len(lat)} {len(lat)/el:.1f}/s p50={lat[len(lat)//2]:.1f} ms p99={lat[int(len(lat)*0.99)-1]:.1f} ms")
