#!/usr/bin/env python3
"""Database outages, done to the real binary (issue 16.2). CI runs it after the
test suites; it needs nothing beyond Python's standard library.

    python3 tests/outage.py BINARY postgres   # stops the local PostgreSQL for 10 s
    python3 tests/outage.py BINARY sqlite     # another process locks the file for ~8 s
    python3 tests/outage.py BINARY sqlite-full  # the file's disk fills up for ~8 s (root: a tmpfs)

Two clients keep creating threads (with Idempotency-Keys) while the database is
away. Every answer must be a 201 or a 503 `application/problem+json` of type
`unavailable` (never a 500, never a driver message), within the configured
timeout plus a margin; /readyz must say 503 within 3 s; the server must come
back by itself, without a restart; and every thread answered 201 must be in
the database exactly once.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

BINARY, BACKEND = sys.argv[1], sys.argv[2]
PASSWORD = "outage-test-admin-password"
TIMEOUT_MS = 3000
MARGIN_S = 1.5
PG_ADMIN = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def psql(url, sql):
    return subprocess.run(["psql", "-qtA", url, "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def pg_cluster(action):
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, *(["-m", "fast"] if action == "stop" else [])], check=True)


def request(method, url, body=None, token=None, key=None, timeout=30):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    if key:
        req.add_header("idempotency-key", key)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("content-type", ""), r.read(), time.monotonic() - started
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read(), time.monotonic() - started


workdir = tempfile.mkdtemp(prefix="madoguchi-outage-")
if BACKEND == "postgres":
    name = "madoguchi_outage_" + uuid.uuid4().hex
    psql(PG_ADMIN, f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
elif BACKEND == "sqlite-full":
    # A disk of its own that the test can fill: a small tmpfs (needs root, as CI is).
    disk = os.path.join(workdir, "disk")
    os.mkdir(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", disk], check=True)
    url = f"sqlite://{disk}/outage.db?mode=rwc"
else:
    url = f"sqlite://{workdir}/outage.db?mode=rwc"
SQLITE_FILE = url.split("sqlite://")[1].split("?")[0] if url.startswith("sqlite") else None
log = open(os.path.join(workdir, "server.log"), "w+")
env = {"PATH": os.environ["PATH"], "DATABASE_URL": url, "MADOGUCHI_LISTEN": "127.0.0.1:0",
       "MADOGUCHI_ADMIN_PASSWORD": PASSWORD, "MADOGUCHI_USER_RATE_PER_MINUTE": "0",
       "MADOGUCHI_DB_TIMEOUT_MS": str(TIMEOUT_MS), "MADOGUCHI_LOG": "warn,madoguchi=info"}
server = subprocess.Popen([BINARY], env=env, stdout=log, stderr=subprocess.STDOUT)
failures = []
try:
    base = None
    for _ in range(200):
        log.seek(0)
        for line in log.read().splitlines():
            if "madoguchi is serving" in line:
                base = "http://" + line.split("listen=")[1].split()[0]
        if base:
            break
        time.sleep(0.1)
    assert base, "the server did not start"
    _, _, body, _ = request("POST", base + "/v1/auth/login", {"email": "admin@localhost", "password": PASSWORD})
    token = json.loads(body)["access_token"]
    _, _, body, _ = request("POST", base + "/v1/organizations", {"name": "停電テスト医院"}, token)
    org = json.loads(body)["id"]

    answers = []  # (status, content type, body, seconds, key)
    stop = threading.Event()

    def client(c):
        i = 0
        while not stop.is_set():
            key = f"outage-{c}-{i}"
            try:
                status, ctype, body, secs = request("POST", base + "/v1/threads",
                                                    {"title": key, "body": "停電中の問い合わせ", "organization_id": org},
                                                    token, key)
            except Exception as e:  # a refused or dropped connection
                status, ctype, body, secs = 0, "", str(e).encode(), 0.0
            answers.append((status, ctype, body, secs, key))
            i += 1
            time.sleep(0.05)

    clients = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(2)]
    for t in clients:
        t.start()
    time.sleep(1.5)

    lock = None
    filler = None
    if BACKEND == "postgres":
        pg_cluster("stop")
    elif BACKEND == "sqlite-full":
        # Fill every free byte of the database's disk, in ever smaller writes.
        filler = os.path.join(disk, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        size = 1 << 20
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError:
                size //= 2
        os.close(fd)
    else:
        lock = sqlite3.connect(SQLITE_FILE, timeout=10)
        lock.execute("BEGIN EXCLUSIVE")
    down_at = time.monotonic()
    time.sleep(2)
    status, ctype, body, secs = request("GET", base + "/readyz")
    if BACKEND == "postgres":
        if status != 503 or secs > 3:
            failures.append(f"/readyz during the outage: {status} after {secs:.1f} s")
    time.sleep(8 if BACKEND == "postgres" else 6)
    during = list(answers)
    if BACKEND == "postgres":
        pg_cluster("start")
    elif filler:
        os.remove(filler)
    else:
        lock.rollback()
        lock.close()
    up_at = time.monotonic()

    # Back by itself: a 201 and a ready /readyz within 20 s, same process.
    recovered = None
    while time.monotonic() - up_at < 20:
        if any(a[0] == 201 for a in answers[-4:]) and request("GET", base + "/readyz")[0] == 200:
            recovered = time.monotonic() - up_at
            break
        time.sleep(0.2)
    time.sleep(1)
    stop.set()
    for t in clients:
        t.join()
    if recovered is None:
        failures.append("no recovery within 20 s of the database's return")
    if server.poll() is not None:
        failures.append("the server exited")

    counts = {}
    for status, ctype, body, secs, key in answers:
        counts[status] = counts.get(status, 0) + 1
        if status == 201:
            continue
        if status == 503:
            problem = json.loads(body)
            if ctype != "application/problem+json" or problem.get("code") != "unavailable":
                failures.append(f"{key}: a 503 that is not an unavailable problem: {ctype} {body[:200]!r}")
            # A request may wait for a connection, then on the database itself.
            if secs > 2 * TIMEOUT_MS / 1000 + MARGIN_S:
                failures.append(f"{key}: answered after {secs:.1f} s")
            for leak in (b"sqlx", b"SQLSTATE", b"pool", b"connection refused", b"database is locked", b"disk is full"):
                if leak in body:
                    failures.append(f"{key}: the body names the driver: {body[:200]!r}")
        elif status == 409 and b"idempotency" in body:
            continue
        else:
            failures.append(f"{key}: {status} {body[:200]!r}")
    slowest = max(a[3] for a in answers)
    if not any(a[0] == 503 for a in during):
        failures.append("the outage was never felt: no 503 while the database was away")

    # Every 201 is in the database once.
    created = [a[4] for a in answers if a[0] == 201]
    if BACKEND == "postgres":
        titles = psql(url, "SELECT title FROM threads").splitlines()
    else:
        db = sqlite3.connect(SQLITE_FILE)
        titles = [r[0] for r in db.execute("SELECT title FROM threads")]
        db.close()
    for key in created:
        if titles.count(key) != 1:
            failures.append(f"{key} answered 201 but is in the database {titles.count(key)} times")
    # What was written before and after still forms one chain.
    status, _, body, _ = request("GET", base + "/v1/audit-events/verify", token=token)
    if status != 200 or not json.loads(body).get("ok"):
        failures.append(f"the audit chain does not verify after the outage: {status} {body[:300]!r}")
    print(f"{BACKEND}: answers {dict(sorted(counts.items()))}, slowest {slowest:.2f} s, "
          f"database away {up_at - down_at:.1f} s, serving again {recovered if recovered is None else round(recovered, 2)} s after its return")
finally:
    server.terminate()
    server.wait(timeout=20)
    if BACKEND == "postgres":
        try:
            pg_cluster("start")
        except subprocess.CalledProcessError:
            pass  # already running
        time.sleep(1)
        psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if BACKEND == "sqlite-full":
        subprocess.run(["umount", disk], check=False)

if failures:
    print("\n".join(failures[:20]))
    sys.exit(1)
print("outage: ok")
