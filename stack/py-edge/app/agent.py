"""py-edge: a reference-contract edge agent in Python (stdlib only).

Implements the edgechaos stack contract (stack/contract/README.md) for the edge role and syncs to
the reference Go hub with its protocol (POST /v1/sync, gzip, acked cursor; GET /v1/config long-poll).

Durability: records are appended as JSON lines to records.log and fsynced before the 201; the acked
cursor and the config are written to a temp file, fsynced and renamed. A torn last line (kill -9
mid-append, never acknowledged) is dropped at start-up.
"""

import gzip
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NODE = os.environ.get("EDGE_NODE_ID", "edge")
LISTEN = os.environ.get("EDGE_LISTEN", ":8080")
CLOUD = os.environ.get("CLOUD_URL", "").rstrip("/")
MODE = os.environ.get("EDGE_MODE", "auto")
DATA = os.environ.get("EDGE_DATA_DIR", "/data")
MAX_BODY = int(os.environ.get("EDGE_MAX_BODY_BYTES", str(1 << 20)))
BATCH = int(os.environ.get("EDGE_BATCH_MAX", "500"))
ID_RE = re.compile(r"^.{1,128}$", re.S)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


class Store:
    """Append-only record log + acked cursor + config, all durable before they are reported."""

    def __init__(self, d):
        self.dir = d
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.records = []  # in seq order: dicts {seq,id,ts,payload}
        self.by_id = {}
        self.acked = 0
        self.config = {"version": 0, "data": None}
        log = os.path.join(d, "records.log")
        if os.path.exists(log):
            with open(log, "rb") as f:
                raw = f.read()
            good = 0
            for line in raw.split(b"\n"):
                if not line:
                    continue
                try:
                    r = json.loads(line)
                except ValueError:
                    break  # torn tail: never acknowledged
                self._index(r)
                good += len(line) + 1
            if good != len(raw):
                with open(log, "r+b") as f:
                    f.truncate(good)
                    os.fsync(f.fileno())
        self.log = open(log, "ab")
        fsync_dir(d)
        cur = os.path.join(d, "acked")
        if os.path.exists(cur):
            self.acked = int(open(cur).read().strip() or 0)
        cfg = os.path.join(d, "config.json")
        if os.path.exists(cfg):
            self.config = json.load(open(cfg))

    def _index(self, r):
        self.records.append(r)
        self.by_id[r["id"]] = r

    def put(self, rid, ts, payload):
        """(status, record): 201 new, 200 same retry, 409 conflicting retry."""
        with self.lock:
            old = self.by_id.get(rid)
            if old is not None:
                same = old["ts"] == ts and json.dumps(old["payload"], sort_keys=True) == json.dumps(payload, sort_keys=True)
                return (200 if same else 409), old
            r = {"seq": len(self.records) + 1, "id": rid, "ts": ts, "payload": payload}
            self.log.write(json.dumps(r, separators=(",", ":")).encode() + b"\n")
            self.log.flush()
            os.fsync(self.log.fileno())
            self._index(r)
            self.cond.notify_all()
            return 201, r

    def pending(self):
        with self.lock:
            return len(self.records) - self.acked

    def batch(self):
        with self.lock:
            return self.records[self.acked : self.acked + BATCH]

    def set_acked(self, seq):
        with self.lock:
            if seq <= self.acked:
                return
            write_atomic(os.path.join(self.dir, "acked"), str(seq).encode())
            self.acked = seq

    def set_config(self, cfg):
        with self.lock:
            if cfg["version"] <= self.config["version"]:
                return
            write_atomic(os.path.join(self.dir, "config.json"), json.dumps(cfg).encode())
            self.config = cfg

    def wait_pending(self, timeout):
        with self.cond:
            if len(self.records) == self.acked:
                self.cond.wait(timeout)


class Link:
    """Observed cloud state: online only while exchanges with the cloud succeed."""

    def __init__(self):
        self.online = False
        self.last_sync = None
        self.lock = threading.Lock()

    def ok(self, synced=False):
        with self.lock:
            self.online = True
            if synced:
                self.last_sync = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    def fail(self):
        with self.lock:
            self.online = False


store = None
link = Link()
stopping = threading.Event()


def http(method, url, body=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return res.status, res.read()


def sync_loop():
    backoff = 0.1
    while not stopping.is_set():
        recs = store.batch()
        if not recs:
            store.wait_pending(0.5)
            continue
        body = gzip.compress(json.dumps({"node": NODE, "records": recs}, separators=(",", ":")).encode(), 6)
        try:
            st, out = http(
                "POST",
                CLOUD + "/v1/sync",
                body,
                {"Content-Type": "application/json", "Content-Encoding": "gzip", "X-Edge-Node": NODE},
            )
            if st != 200:
                raise OSError("sync HTTP %d" % st)
            store.set_acked(int(json.loads(out)["acked"]))
            link.ok(synced=True)
            backoff = 0.1
        except (OSError, ValueError, urllib.error.URLError):
            link.fail()
            stopping.wait(backoff)
            backoff = min(backoff * 2, 1.0)


def config_loop():
    backoff = 0.1
    while not stopping.is_set():
        try:
            after = store.config["version"]
            st, out = http("GET", "%s/v1/config?after=%d&wait=20s" % (CLOUD, after), timeout=30)
            if st != 200:
                raise OSError("config HTTP %d" % st)
            cfg = json.loads(out)
            link.ok()
            if cfg.get("version", 0) > after:
                store.set_config({"version": cfg["version"], "data": cfg.get("data")})
            backoff = 0.1
        except (OSError, ValueError, urllib.error.URLError):
            link.fail()
            stopping.wait(backoff)
            backoff = min(backoff * 2, 1.0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "py-edge"

    def log_message(self, *args):
        pass

    def reply(self, status, obj, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            return self.reply(200, b"ok\n", "text/plain")
        if path.startswith("/v1/records/"):
            rid = urllib.request.unquote(path[len("/v1/records/") :])
            r = store.by_id.get(rid)
            if r is None:
                return self.reply(404, {"error": "unknown record"})
            return self.reply(200, dict(r, synced=r["seq"] <= store.acked))
        if path == "/v1/status":
            online = MODE != "offline" and link.online
            return self.reply(
                200,
                {
                    "node": NODE,
                    "mode": "online" if online else "offline",
                    "pending": store.pending(),
                    "lastSyncAt": link.last_sync,
                    "configVersion": store.config["version"],
                },
            )
        if path == "/v1/config":
            return self.reply(200, store.config)
        return self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path.split("?", 1)[0] != "/v1/records":
            return self.reply(404, {"error": "not found"})
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.close_connection = True
            return self.reply(413, {"error": "body over %d bytes" % MAX_BODY})
        try:
            rec = json.loads(self.rfile.read(n))
        except ValueError:
            return self.reply(400, {"error": "bad JSON"})
        if not isinstance(rec, dict):
            return self.reply(400, {"error": "record must be an object"})
        rid, ts = rec.get("id"), rec.get("ts")
        if not isinstance(rid, str) or not ID_RE.match(rid):
            return self.reply(400, {"error": "invalid record: id must be a string of 1..128 chars"})
        if not isinstance(ts, int) or isinstance(ts, bool):
            return self.reply(400, {"error": "invalid record: ts must be an integer (unix ms)"})
        if "payload" not in rec:
            return self.reply(400, {"error": "invalid record: missing field payload"})
        try:
            status, r = store.put(rid, ts, rec["payload"])
        except OSError as e:
            return self.reply(503, {"error": "cannot store: %s" % e})
        if status == 409:
            return self.reply(409, {"error": "id exists with a different ts or payload"})
        return self.reply(status, {"id": r["id"], "seq": r["seq"]})


def main():
    global store
    os.makedirs(DATA, exist_ok=True)
    try:
        store = Store(DATA)
    except OSError as e:
        print("py-edge: cannot open data dir %s: %s" % (DATA, e), file=sys.stderr, flush=True)
        return 1
    host, _, port = LISTEN.rpartition(":")
    srv = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
    srv.daemon_threads = True

    def stop(*_):
        stopping.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if MODE != "offline" and CLOUD:
        threading.Thread(target=sync_loop, daemon=True).start()
        threading.Thread(target=config_loop, daemon=True).start()
    srv.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
