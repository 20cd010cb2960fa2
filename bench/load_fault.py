#!/usr/bin/env python3
"""Fault and load test of the real release binaries, on 127.0.0.1 only.

It checks, and prints what it measured on the way:

  load     concurrent uploads and downloads; every upload answered 201 is
           listed with its size and downloads with the same SHA-256, and no
           download ever returns other bytes
  race     many uploads of one name at once: exactly one 201, the rest 409,
           and the stored clip is the winner's
  cut      a client process SIGKILLed mid-body: nothing is stored, no
           temporary file stays, and the real upload afterwards is 201
  crash    camhub-server killed with SIGKILL during uploads, then restarted:
           every clip answered 201 before the kill is whole, no clip is ever
           partial, unfinished uploads are gone, the real uploads go in, and a
           409 for a clip stored unanswered says its hash (X-Clip-SHA256)
  slow     trickling uploads, viewers that never read, silent and refused
           connections held open: /health and uploads from others are still
           answered (latency with and without them)
  storm    many more idle connections than --max-connections: threads and
           file descriptors stay bounded, the server answers again after
  update   camhub-update SIGKILLed at random points: after each kill the
           installed binary runs and is a whole version, a rollback target
           exists, and the next run exits 0 leaving no work files

Over every server phase: peak RSS, VmHWM, threads and open files of the
server process (from /proc/<pid>/status), checked against bounds.

Build first:  cargo build --release --locked -p server -p update -p config_tool
Run:          bench/load_fault.py            (about a minute on 2 cores)
Bigger:       bench/load_fault.py --uploads 2000 --max-clip-kib 4096 \\
                  --race-uploaders 120 --storm 4000 --update-kills 300

Exit codes: 0 every check passed, 1 a check failed (each FAIL line says
which and why), 2 unusable input (a binary missing). Only python3's standard
library; every socket is 127.0.0.1; everything lives in a temporary folder.
"""

import argparse
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

PHASES = ["load", "race", "cut", "crash", "slow", "storm", "update"]
CAMERAS = ["load", "race", "cut", "crash", "slow"]
TEMP_PREFIX = ".camhub-"
# Longest any answer the server owes may take; longer is a hang.
PATIENCE = 10.0
HOST = "127.0.0.1"


# ---------------------------------------------------------------- reporting

class Report:
    def __init__(self, as_json):
        self.as_json = as_json
        self.checks = []
        self.figures = {}

    def check(self, phase, what, ok, detail=""):
        self.checks.append({"phase": phase, "check": what, "ok": bool(ok),
                            "detail": detail})
        if not self.as_json:
            line = f"{'ok  ' if ok else 'FAIL'} {phase}: {what}"
            print(line + (f" ({detail})" if detail else ""), flush=True)
        return ok

    def figure(self, phase, name, value, unit=""):
        self.figures.setdefault(phase, {})[name] = value
        if not self.as_json:
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"     {phase}: {name} = {shown}{(' ' + unit) if unit else ''}",
                  flush=True)

    def failed(self):
        return [c for c in self.checks if not c["ok"]]


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def latencies(report, phase, name, seconds):
    report.figure(phase, f"{name} p50", percentile(seconds, 0.50) * 1000, "ms")
    report.figure(phase, f"{name} p99", percentile(seconds, 0.99) * 1000, "ms")


# ---------------------------------------------------------------- HTTP

class Reply:
    def __init__(self, status, headers, sha256, length, body, error=None):
        self.status, self.headers, self.sha256 = status, headers, sha256
        self.length, self.body, self.error = length, body, error

    def __repr__(self):
        return f"<{self.status} {self.length}B {self.error or ''}>"


def read_reply(sock):
    """Reads one response to EOF, hashing its body; status 0 if none came."""
    buf = bytearray()
    try:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            if len(buf) > 65536:
                return Reply(0, {}, None, 0, b"", "head too large")
        if b"\r\n\r\n" not in buf:
            return Reply(0, {}, None, 0, bytes(buf), "no response")
        head, rest = bytes(buf).split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        digest = hashlib.sha256(rest)
        length = len(rest)
        small = bytearray(rest[:4096])
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            length += len(chunk)
            if len(small) < 4096:
                small += chunk[:4096 - len(small)]
        declared = headers.get("content-length")
        error = None
        if declared is not None and int(declared) != length:
            error = f"body {length} bytes, Content-Length {declared}"
        return Reply(status, headers, digest.hexdigest(), length, bytes(small), error)
    except socket.timeout:
        return Reply(0, {}, None, 0, bytes(buf), f"no answer in {PATIENCE}s")
    except ConnectionError as e:
        return Reply(0, {}, None, 0, bytes(buf), f"connection: {e}")


def head_of(method, path, token, length=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    return (head + "\r\n").encode()


def connect(addr, timeout=PATIENCE):
    sock = socket.create_connection(addr, timeout=timeout)
    sock.settimeout(timeout)
    return sock


def request(addr, method, path, token=None, body=None):
    """One request on its own connection; (reply, seconds)."""
    start = time.perf_counter()
    try:
        sock = connect(addr)
    except OSError as e:
        return Reply(0, {}, None, 0, b"", f"connect: {e}"), 0.0
    try:
        try:
            sock.sendall(head_of(method, path, token,
                                 len(body) if body is not None else None))
            if body:
                sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the body was read; the reply says why
        reply = read_reply(sock)
    finally:
        sock.close()
    return reply, time.perf_counter() - start


def upload(addr, token, camera, name, body):
    return request(addr, "POST", f"/clips/{camera}/{name}", token, body)


def download(addr, token, camera, name):
    return request(addr, "GET", f"/clips/{camera}/{name}", token)


# ---------------------------------------------------------------- clips

class Clips:
    """Distinct clip contents without holding them all: a random base buffer,
    each clip a name-derived header plus a name-derived slice of it."""

    def __init__(self, rng, largest):
        self.base = rng.randbytes(largest + 4096)

    def make(self, name, size):
        header = hashlib.sha256(name.encode()).digest()
        offset = int.from_bytes(header[:2], "big") % 4096
        return (header + self.base[offset:offset + max(0, size - 32)])[:size]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def temp_files(data_dir):
    found = []
    for camera in os.listdir(data_dir) if os.path.isdir(data_dir) else []:
        folder = os.path.join(data_dir, camera)
        if os.path.isdir(folder):
            found += [os.path.join(camera, n) for n in os.listdir(folder)
                      if n.startswith(TEMP_PREFIX)]
    return found


def eventually(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


# ---------------------------------------------------------------- server

class Monitor(threading.Thread):
    """Samples the server's /proc status: peaks per phase and overall."""

    def __init__(self):
        super().__init__(daemon=True)
        self.pid = None
        self.lock = threading.Lock()
        self.phase = {"rss": 0, "threads": 0, "fds": 0}
        self.total = {"rss": 0, "hwm": 0, "threads": 0, "fds": 0}
        self.stopped = False

    def sample(self):
        pid = self.pid
        if pid is None:
            return
        try:
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, ValueError):
            return
        rss = int(status["VmRSS"].split()[0])
        hwm = int(status["VmHWM"].split()[0])
        threads = int(status["Threads"])
        with self.lock:
            for peaks in (self.phase, self.total):
                peaks["rss"] = max(peaks["rss"], rss)
                peaks["threads"] = max(peaks["threads"], threads)
                peaks["fds"] = max(peaks["fds"], fds)
            self.total["hwm"] = max(self.total["hwm"], hwm)

    def run(self):
        while not self.stopped:
            self.sample()
            time.sleep(0.02)

    def take_phase(self):
        self.sample()
        with self.lock:
            peaks = dict(self.phase)
            self.phase = {"rss": 0, "threads": 0, "fds": 0}
        return peaks


class Server:
    def __init__(self, binary, root, args, monitor):
        self.binary, self.root, self.args, self.monitor = binary, root, args, monitor
        self.proc = None
        self.addr = None
        self.starts = 0
        self.data_dir = os.path.join(root, "data")
        self.tokens = {c: f"{c}-upload-{secrets.token_hex(16)}" for c in CAMERAS}
        self.viewer = f"viewer-{secrets.token_hex(16)}"
        config = {
            "listen": f"{HOST}:0",
            "data_dir": "data",
            "max_upload_bytes": 64 << 20,
            "cameras": self.tokens,
            "clients": {"viewer": {"token": self.viewer, "cameras": CAMERAS}},
        }
        self.config = os.path.join(root, "server.json")
        fd = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)

    def start(self):
        self.starts += 1
        log = os.path.join(self.root, f"server-{self.starts}.log")
        # The log goes to a file: a pipe nobody drains would stall the server.
        with open(log, "wb") as out, open(log + ".err", "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "--config", self.config, *self.args],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            with open(log) as f:
                first = f.readline()
            if first.endswith("\n"):
                url = first.strip().removeprefix("listening on http://")
                host, port = url.rsplit(":", 1)
                if host != HOST:
                    raise SystemExit(f"the server listens on {host}, not {HOST}")
                self.addr = (HOST, int(port))
                self.monitor.pid = self.proc.pid
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        with open(log + ".err") as f:
            raise SystemExit(f"camhub-server did not start: {f.read().strip()}")

    def kill(self):
        self.monitor.sample()
        self.monitor.pid = None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.kill()

    def files(self, camera):
        folder = os.path.join(self.data_dir, camera)
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

    def alive(self):
        return self.proc.poll() is None


# ---------------------------------------------------------------- phases

def phase_load(server, report, opts, rng, clips, acked):
    """Uploads from --workers threads while --readers threads download."""
    camera, token = "load", server.tokens["load"]
    names = [f"clip-{i:05d}" for i in range(opts.uploads)]
    sizes = {n: rng.randint(1024, opts.max_clip_kib * 1024) for n in names}
    queue = list(names)
    lock = threading.Lock()
    stored = []
    up_lat, down_lat, problems = [], [], []
    downloaded = [0]
    uploading = [True]

    def uploader():
        while True:
            with lock:
                if not queue:
                    return
                name = queue.pop()
            body = clips.make(name, sizes[name])
            reply, seconds = upload(server.addr, token, camera, name, body)
            with lock:
                up_lat.append(seconds)
                if reply.status == 201:
                    acked[(camera, name)] = sha(body)
                    stored.append(name)
                else:
                    problems.append(f"upload {name}: {reply.status} {reply.error or reply.body[:80]!r}")

    def reader(seed):
        local = random.Random(seed)
        while True:
            with lock:
                done = not uploading[0]
                name = local.choice(stored) if stored else None
            if done:
                return
            if name is None:
                time.sleep(0.005)
                continue
            reply, seconds = download(server.addr, server.viewer, camera, name)
            with lock:
                down_lat.append(seconds)
                downloaded[0] += reply.length
                if reply.status != 200 or reply.sha256 != acked[(camera, name)] or reply.error:
                    problems.append(f"download {name}: {reply.status} {reply.error or ''} sha {reply.sha256}")

    start = time.perf_counter()
    ups = [threading.Thread(target=uploader) for _ in range(opts.workers)]
    downs = [threading.Thread(target=reader, args=(rng.random(),)) for _ in range(opts.readers)]
    for t in ups + downs:
        t.start()
    for t in ups:
        t.join()
    upload_seconds = time.perf_counter() - start
    with lock:
        uploading[0] = False
    for t in downs:
        t.join()
    seconds = time.perf_counter() - start
    uploaded = sum(sizes[n] for n in stored)
    report.figure("load", "uploads (201)", len(stored))
    report.figure("load", "upload throughput", uploaded / upload_seconds / 2**20, "MiB/s")
    latencies(report, "load", "upload latency", up_lat)
    report.figure("load", "downloads during uploads", len(down_lat))
    report.figure("load", "download throughput", downloaded[0] / seconds / 2**20, "MiB/s")
    latencies(report, "load", "download latency", down_lat)
    report.check("load", f"all {opts.uploads} uploads answered 201, every download whole",
                 not problems, "; ".join(problems[:5]))

    # Afterwards: the listing is exactly what was acknowledged, each clip whole.
    status, listing = fetch_body(server.addr, f"/clips/{camera}", server.viewer)
    listed = {c["name"]: c["size"] for c in json.loads(listing)} if status == 200 else {}
    expected = {n: sizes[n] for n in stored}
    report.check("load", "the listing is exactly the acknowledged clips with their sizes",
                 listed == expected, f"{len(listed)} listed, {len(expected)} acknowledged")
    wrong = [n for n in stored
             if download(server.addr, server.viewer, camera, n)[0].sha256 != acked[(camera, n)]]
    report.check("load", "every acknowledged clip downloads with its SHA-256 afterwards",
                 not wrong, f"differ: {wrong[:5]}")
    report.check("load", "no temporary upload file is left", not temp_files(server.data_dir),
                 str(temp_files(server.data_dir)[:5]))


def fetch_body(addr, path, token):
    """(status, body) of a small response."""
    sock = connect(addr)
    try:
        sock.sendall(head_of("GET", path, token))
        data = bytearray()
        while chunk := sock.recv(1 << 20):
            data += chunk
    finally:
        sock.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0, body


def phase_race(server, report, opts, rng, clips, acked):
    """--race-uploaders clients send all but the last byte of one name's
    upload, wait for each other, then send it together."""
    camera, token = "race", server.tokens["race"]
    wrong = []
    tally = {}
    for round_ in range(opts.race_rounds):
        name = f"same-{round_}"
        barrier = threading.Barrier(opts.race_uploaders)
        results = [None] * opts.race_uploaders
        bodies = [clips.make(f"{name}-{i}", 64 * 1024) for i in range(opts.race_uploaders)]

        def racer(i):
            sock = connect(server.addr)
            try:
                sock.sendall(head_of("POST", f"/clips/{camera}/{name}", token, len(bodies[i])))
                sock.sendall(bodies[i][:-1])
                barrier.wait(PATIENCE)
                sock.sendall(bodies[i][-1:])
                results[i] = read_reply(sock)
            except (OSError, threading.BrokenBarrierError) as e:
                results[i] = Reply(0, {}, None, 0, b"", str(e))
            finally:
                sock.close()

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(opts.race_uploaders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [r.status for r in results]
        for s in statuses:
            tally[s] = tally.get(s, 0) + 1
        winners = [i for i, s in enumerate(statuses) if s == 201]
        if len(winners) != 1 or statuses.count(409) != opts.race_uploaders - 1:
            counts = {s: statuses.count(s) for s in sorted(set(statuses))}
            wrong.append(f"{name}: statuses {counts}")
            continue
        acked[(camera, name)] = sha(bodies[winners[0]])
        got = download(server.addr, server.viewer, camera, name)[0]
        if got.sha256 != acked[(camera, name)]:
            wrong.append(f"{name}: stored bytes are not the winner's")
    report.figure("race", "statuses", {str(k): v for k, v in sorted(tally.items())})
    report.check("race", f"{opts.race_rounds} rounds of {opts.race_uploaders} same-name uploads: "
                 "exactly one 201, the rest 409, the winner's bytes stored",
                 not wrong, "; ".join(wrong[:3]))


# A client that sends a head and part of a body, says so, and waits to be killed.
CUT_CLIENT = r"""
import socket, sys, time
host, port, head, part = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sock = socket.create_connection((host, port))
sock.sendall(head.encode() + b"x" * part)
print("sent", flush=True)
time.sleep(120)
"""


def phase_cut(server, report, opts, rng, clips, acked):
    """Client processes killed with SIGKILL partway through their body."""
    camera, token = "cut", server.tokens["cut"]
    wrong = []
    seen_temp = 0
    cleanup = []
    for i in range(opts.client_kills):
        name = f"cut-{i}"
        size = rng.randint(64 * 1024, 4 << 20)
        part = rng.randint(1, size - 1)
        head = head_of("POST", f"/clips/{camera}/{name}", token, size).decode()
        child = subprocess.Popen(
            [sys.executable, "-c", CUT_CLIENT, HOST, str(server.addr[1]), head, str(part)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            child.stdout.readline()
            # The server has started storing it: a temporary file exists.
            if eventually(lambda: any(n.startswith(TEMP_PREFIX) for n in server.files(camera)), 2):
                seen_temp += 1
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        start = time.perf_counter()
        if not eventually(lambda: not any(n.startswith(TEMP_PREFIX) for n in server.files(camera))):
            wrong.append(f"{name}: a temporary file stayed: {server.files(camera)}")
        cleanup.append(time.perf_counter() - start)
        if name in server.files(camera):
            wrong.append(f"{name}: stored after {part} of {size} bytes")
        if (got := download(server.addr, server.viewer, camera, name)[0]).status != 404:
            wrong.append(f"{name}: GET gave {got.status}, not 404")
        body = clips.make(name, size)
        reply, _ = upload(server.addr, token, camera, name, body)
        if reply.status != 201:
            wrong.append(f"{name}: the real upload got {reply.status}")
            continue
        acked[(camera, name)] = sha(body)
        if download(server.addr, server.viewer, camera, name)[0].sha256 != sha(body):
            wrong.append(f"{name}: the real upload downloads differently")
    report.figure("cut", "clients killed mid-body", opts.client_kills)
    report.figure("cut", "of them with a temporary file at the kill", seen_temp)
    report.figure("cut", "slowest cleanup after the kill", max(cleanup or [0]) * 1000, "ms")
    report.check("cut", "a killed client's upload is never stored, its temporary file goes, "
                 "the real upload is 201 and whole", not wrong, "; ".join(wrong[:3]))


def phase_crash(server, report, opts, rng, clips, acked):
    """SIGKILL of the server while uploads stream and others hang mid-body."""
    camera, token = "crash", server.tokens["crash"]
    wrong = []
    temps_at_kill = []
    unanswered_stored = 0
    missing_header = []
    restart = []
    for round_ in range(opts.server_kills):
        # Uploads stopped halfway: certain to be mid-upload at the kill.
        held = []
        for i in range(4):
            sock = connect(server.addr)
            sock.sendall(head_of("POST", f"/clips/{camera}/held-{round_}-{i}", token, 1 << 20))
            sock.sendall(b"h" * (512 * 1024))
            held.append(sock)
        # Uploads at full speed, some of them answered before the kill.
        sent = {}
        answered = {}
        lock = threading.Lock()
        stop = threading.Event()

        def streamer(w):
            n = 0
            while not stop.is_set():
                name = f"run-{round_}-{w}-{n}"
                n += 1
                size = rng.randint(256 * 1024, 4 << 20)
                body = clips.make(name, size)
                with lock:
                    sent[name] = (sha(body), size)
                reply, _ = upload(server.addr, token, camera, name, body)
                with lock:
                    answered[name] = reply.status

        workers = [threading.Thread(target=streamer, args=(w,)) for w in range(6)]
        for t in workers:
            t.start()
        eventually(lambda: sum(n.startswith(TEMP_PREFIX) for n in server.files(camera)) >= 4, 3)
        time.sleep(rng.uniform(0.05, 0.4))
        server.kill()
        stop.set()
        temps_at_kill.append(len(temp_files(server.data_dir)))
        for t in workers:
            t.join()
        for sock in held:
            sock.close()
        start = time.perf_counter()
        server.start()
        restart.append(time.perf_counter() - start)

        if temp_files(server.data_dir):
            wrong.append(f"round {round_}: left after restart: {temp_files(server.data_dir)[:3]}")
        for name, status in answered.items():
            if status == 201:
                acked[(camera, name)] = sent[name][0]
        # Nothing ever stored is partial: every clip on disk is one we sent, whole.
        for name in server.files(camera):
            if name.startswith(f"held-{round_}-"):
                wrong.append(f"{name}: stored though cut at the kill")
                continue
            with open(os.path.join(server.data_dir, camera, name), "rb") as f:
                if sha(f.read()) != sent.get(name, (acked.get((camera, name)),))[0]:
                    wrong.append(f"{name}: stored bytes differ from what was sent")
        # Every clip answered 201 by any phase is still whole on disk.
        for (cam, name), digest in acked.items():
            path = os.path.join(server.data_dir, cam, name)
            try:
                with open(path, "rb") as f:
                    ok = sha(f.read()) == digest
            except OSError:
                ok = False
            if not ok:
                wrong.append(f"{cam}/{name}: answered 201 but lost or changed")
        # The hub sends what got no 201 again.
        # The hub sends again what got no 201: 201 if it was not stored,
        # 409 if it was (then only its hash tells the hub it is its own).
        for name, (digest, size) in sent.items():
            if answered.get(name) == 201:
                continue
            stored = name in server.files(camera)
            reply, _ = upload(server.addr, token, camera, name, clips.make(name, size))
            if stored:
                unanswered_stored += 1
                if reply.status != 409:
                    wrong.append(f"{name}: stored unanswered, sent again: {reply.status}")
                elif reply.headers.get("x-clip-sha256", "").lower() != digest:
                    missing_header.append(name)
                else:
                    # The hub now counts it as sent, so later rounds (where
                    # `sent` no longer has it) check it like any acknowledged clip.
                    acked[(camera, name)] = digest
            elif reply.status != 201:
                wrong.append(f"{name}: not stored at the kill, sent again: {reply.status}")
            else:
                acked[(camera, name)] = digest
        for i in range(4):
            name = f"held-{round_}-{i}"
            body = clips.make(name, 1 << 20)
            reply, _ = upload(server.addr, token, camera, name, body)
            if reply.status != 201:
                wrong.append(f"{name}: the real upload after the restart got {reply.status}")
            else:
                acked[(camera, name)] = sha(body)
    report.figure("crash", "server kills mid-upload", opts.server_kills)
    report.figure("crash", "temporary files on disk at each kill", temps_at_kill)
    report.figure("crash", "clips stored but unanswered at a kill", unanswered_stored)
    report.figure("crash", "slowest restart", max(restart or [0]) * 1000, "ms")
    report.check("crash", "after kill -9 and restart: no temporary file, no partial clip, "
                 "every 201 whole, the cut uploads go in", not wrong, "; ".join(wrong[:3]))
    # The hub counts a 409 as sent only when X-Clip-SHA256 says the stored
    # clip is its own; check it on a clip stored twice on purpose too.
    body = clips.make("twice", 4096)
    upload(server.addr, token, camera, "twice", body)
    acked[(camera, "twice")] = sha(body)
    again, _ = upload(server.addr, token, camera, "twice", body)
    said = again.headers.get("x-clip-sha256")
    report.check("crash", "a 409 for a stored clip says its SHA-256 (X-Clip-SHA256), "
                 "which the hub needs to count a clip stored before a crash as sent",
                 again.status == 409 and said == sha(body) and not missing_header,
                 f"409 said {said!r}; unanswered clips without it: {len(missing_header)}")


def phase_slow(server, report, opts, rng, clips, acked):
    """Others' latency with and without --slow clients of each stalling kind."""
    camera, token = "slow", server.tokens["slow"]
    big = clips.make("big", 32 << 20)
    reply, _ = upload(server.addr, token, camera, "big", big)
    if not report.check("slow", "a 32 MiB clip for the stalled viewers is stored", reply.status == 201,
                        str(reply.status)):
        return
    acked[(camera, "big")] = sha(big)

    def measure(tag):
        health, ups, wrong = [], [], []
        for _ in range(opts.slow_probes):
            reply, seconds = request(server.addr, "GET", "/health")
            health.append(seconds)
            if reply.status != 200:
                wrong.append(f"/health: {reply.status} {reply.error or ''}")
        for i in range(opts.slow_probes // 4):
            name = f"{tag}-{i}"
            body = clips.make(name, 256 * 1024)
            reply, seconds = upload(server.addr, token, camera, name, body)
            ups.append(seconds)
            if reply.status != 201:
                wrong.append(f"upload {name}: {reply.status} {reply.error or ''}")
            else:
                acked[(camera, name)] = sha(body)
        return health, ups, wrong

    health0, ups0, wrong0 = measure("quiet")
    held = []
    stop = threading.Event()
    trickles = []
    try:
        for i in range(opts.slow):
            # An upload whose body comes a byte at a time.
            sock = connect(server.addr)
            sock.sendall(head_of("POST", f"/clips/{camera}/trickle-{i}", token, 1 << 20))
            trickles.append(sock)
            # A viewer that asks for 32 MiB and never reads.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(PATIENCE)
            sock.connect(server.addr)
            sock.sendall(head_of("GET", f"/clips/{camera}/big", server.viewer))
            held.append(sock)
            # A connection that sends nothing.
            held.append(connect(server.addr))
            # An unauthenticated upload announcing 1 GB and sending none.
            sock = connect(server.addr)
            sock.sendall(head_of("POST", f"/clips/{camera}/x", None, 10**9))
            held.append(sock)

        def trickle():
            while not stop.wait(0.2):
                for sock in trickles:
                    try:
                        sock.send(b"t")
                    except OSError:
                        pass

        driver = threading.Thread(target=trickle)
        driver.start()
        time.sleep(0.5)
        health1, ups1, wrong1 = measure("held")
        still_open = sum(1 for s in trickles if still_connected(s))
    finally:
        stop.set()
        for sock in trickles + held:
            sock.close()
    driver.join()
    held_count = 4 * opts.slow
    report.figure("slow", "connections held", held_count)
    latencies(report, "slow", "/health latency, none held", health0)
    latencies(report, "slow", f"/health latency, {held_count} held", health1)
    latencies(report, "slow", "256 KiB upload latency, none held", ups0)
    latencies(report, "slow", f"256 KiB upload latency, {held_count} held", ups1)
    report.check("slow", "with none held every probe is answered", not wrong0, "; ".join(wrong0[:3]))
    report.check("slow", f"with {held_count} stalling connections every /health and upload is answered",
                 not wrong1, "; ".join(wrong1[:3]))
    report.check("slow", "the trickling uploads were still being received meanwhile",
                 still_open == opts.slow, f"{still_open} of {opts.slow} open")
    worst = max(health1 + ups1, default=0)
    report.check("slow", "no answer took a timeout's length while they were held",
                 worst < opts.slow_bound, f"slowest {worst * 1000:.0f} ms, bound {opts.slow_bound}s")
    report.check("slow", "the cut trickling uploads left nothing",
                 eventually(lambda: not any(n.startswith(("trickle", TEMP_PREFIX))
                                            for n in server.files(camera))),
                 str(server.files(camera)[:5]))


def still_connected(sock):
    """Open, and the server has not answered (nor closed) it."""
    try:
        sock.setblocking(False)
        try:
            sock.recv(1, socket.MSG_PEEK)
            return False
        except BlockingIOError:
            return True
        finally:
            sock.setblocking(True)
            sock.settimeout(PATIENCE)
    except OSError:
        return False


def phase_storm(server, report, opts, rng, clips, acked, max_connections):
    """--storm idle connections at once, far over the connection limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = opts.storm + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))
    server.monitor.take_phase()
    before = server.monitor.take_phase()["threads"]
    socks, refused_connect = [], 0
    start = time.perf_counter()
    for _ in range(opts.storm):
        try:
            socks.append(connect(server.addr, timeout=2))
        except OSError:
            refused_connect += 1
    opened = time.perf_counter() - start
    time.sleep(0.5)
    # The connections past the limit were told 503 at once.
    busy = 0
    for sock in socks[-min(50, len(socks)):]:
        busy += read_reply(sock).status == 503
    peaks = server.monitor.take_phase()
    alive = server.alive()
    for sock in socks:
        sock.close()
    report.figure("storm", "connections opened", len(socks))
    report.figure("storm", "connect time", opened * 1000, "ms")
    report.figure("storm", "server threads before", before)
    report.figure("storm", "server threads at peak", peaks["threads"])
    report.figure("storm", "server open files at peak", peaks["fds"])
    report.check("storm", "the server lives through it", alive)
    report.check("storm", "the last 50 connections, over the limit, were answered 503",
                 busy == min(50, len(socks)), f"{busy} answered 503")
    report.check("storm", "threads do not grow with connections",
                 peaks["threads"] <= before + 8,
                 f"{before} before, {peaks['threads']} with {len(socks)} connections")
    report.check("storm", "open files stay under the connection limit",
                 peaks["fds"] <= max_connections + 32,
                 f"{peaks['fds']} open, limit {max_connections}")
    report.check("storm", "it answers /health again once they close",
                 eventually(lambda: request(server.addr, "GET", "/health")[0].status == 200))


# ---------------------------------------------------------------- update

TRIPLE = "aarch64-unknown-linux-gnu"


def write_release(folder, content):
    os.makedirs(os.path.join(folder, TRIPLE))
    with open(os.path.join(folder, TRIPLE, "camhub-reset"), "wb") as f:
        f.write(content)
    digest = sha(content)
    manifest = {"build": {"target": "raspberry", "profile": "all", "run_id": "1",
                          "timestamp": "2026-01-01T00:00:00Z"},
                "artifacts": [{"package": "reset", "target": TRIPLE, "bin": "camhub-reset",
                               "bin_path": f"{TRIPLE}/camhub-reset", "sha256": digest,
                               "crate": "reset", "version": "0.1.0",
                               "crate_lock_sha256": "0" * 64, "rust_digest": "sha256:" + "1" * 64}]}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    with open(os.path.join(folder, "SHA256SUMS"), "w") as f:
        f.write(f"{digest}  {TRIPLE}/camhub-reset\n")


def version_binary(version, size):
    """A shell script that says its version, padded to `size` bytes after its exit."""
    script = f"#!/bin/sh\necho camhub-reset {version}\nexit 0\n".encode()
    pad = hashlib.sha256(version.encode()).digest() * ((size - len(script)) // 32 + 1)
    return script + b"#" + pad[:size - len(script) - 1]


def phase_update(binary, root, report, opts, rng):
    """SIGKILL camhub-update at random points of updates and rollbacks."""
    folder = os.path.join(root, "update")
    bindir = os.path.join(folder, "bin")
    os.makedirs(bindir)
    size = opts.update_bin_mib << 20
    versions = {v: version_binary(v, size) for v in ("v0", "v1", "v2")}
    by_hash = {sha(b): v for v, b in versions.items()}
    for v in ("v1", "v2"):
        write_release(os.path.join(folder, v), versions[v])
    installed = os.path.join(bindir, "camhub-reset")
    old = installed + ".old"
    for path, v in ((installed, "v1"), (old, "v0")):
        with open(path, "wb") as f:
            f.write(versions[v])
        os.chmod(path, 0o755)

    def run(args, kill_after=None):
        proc = subprocess.Popen([binary, "--triple", TRIPLE, "--install", "bin/camhub-reset", *args],
                                cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kill_after is not None:
            try:
                proc.wait(kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def version_at(path):
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                return None, "not a regular file"
            with open(path, "rb") as f:
                v = by_hash.get(sha(f.read()))
            return v, None if v else "not a whole version"
        except OSError as e:
            return None, str(e)

    def next_args():
        current, _ = version_at(installed)
        if rng.random() < 0.25:
            return ["--rollback"]
        return ["--release", "v1" if current == "v2" else "v2"]

    # How long a whole run takes, so kills land anywhere in one.
    timings = []
    for release in ("v2", "v1"):
        start = time.perf_counter()
        code, out, err = run(["--release", release])
        timings.append(time.perf_counter() - start)
        if not report.check("update", f"an uninterrupted update to {release} exits 0", code == 0, err.strip()):
            return
    span = min(timings)
    wrong = []
    leftovers = {"staged copy": 0, "displaced binary": 0}
    killed, finished_before_kill, pending_old = 0, 0, 0
    for i in range(opts.update_kills):
        args = next_args()
        code, _, _ = run(args, kill_after=rng.uniform(0, span))
        if code == -signal.SIGKILL:
            killed += 1
        else:
            finished_before_kill += 1
        work = [n for n in os.listdir(bindir) if n.startswith(".camhub-update-")]
        leftovers["staged copy"] += any(n.startswith(".camhub-update-new.") for n in work)
        leftovers["displaced binary"] += any(n.startswith(".camhub-update-prev.") for n in work)
        v, why = version_at(installed)
        if v is None:
            wrong.append(f"kill {i} ({' '.join(args)}): installed binary {why}")
        else:
            ran = subprocess.run([installed], capture_output=True, text=True)
            if ran.returncode != 0 or ran.stdout.strip() != f"camhub-reset {v}":
                wrong.append(f"kill {i}: the installed binary does not run: {ran.returncode} {ran.stderr!r}")
        # Killed between a swap's two renames, the replaced binary still
        # waits under its work name; every next run first files it as .old.
        v_old, why = version_at(old)
        if v_old is None:
            v_old, why = version_at(os.path.join(bindir, ".camhub-update-prev.camhub-reset"))
            pending_old += v_old is not None
        if v_old is None:
            wrong.append(f"kill {i} ({' '.join(args)}): rollback target {why}")
        # The next run, uninterrupted, cleans up and succeeds.
        follow = ["--release", "v2"] if args[0] == "--rollback" else args
        code, out, err = run(follow)
        rest = [n for n in os.listdir(bindir) if n.startswith(".camhub-update-")]
        v_now, _ = version_at(installed)
        if code != 0 or rest or v_now != follow[1] or version_at(old)[0] is None:
            wrong.append(f"after kill {i}: exit {code}, left {rest}, installed {v_now}: {err.strip()[:200]}")
        if wrong and len(wrong) > 5:
            break
    report.figure("update", "binary size", opts.update_bin_mib, "MiB")
    report.figure("update", "whole run", span * 1000, "ms")
    report.figure("update", "runs killed", killed)
    report.figure("update", "runs that finished before their kill", finished_before_kill)
    report.figure("update", "kills that left work files", leftovers)
    report.figure("update", "kills with the rollback target still under its work name", pending_old)
    report.check("update", f"after each of {opts.update_kills} kills the installed binary is a whole version "
                 "that runs, a rollback target exists (as .old, or as the work file the next run "
                 "files as .old), and the next run exits 0 leaving no work files",
                 not wrong, "; ".join(wrong[:3]))


# ---------------------------------------------------------------- main

def bin_dir_default():
    return os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--bin-dir", default=bin_dir_default(),
                        help="where the release binaries are ($CARGO_TARGET_DIR/release or target/release)")
    parser.add_argument("--server", help="the camhub-server binary (default: <bin-dir>/server)")
    parser.add_argument("--update", help="the camhub-update binary (default: <bin-dir>/update)")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="an argument for camhub-server, e.g. --server-arg=--max-connections=64")
    parser.add_argument("--only", help=f"comma-separated phases of {','.join(PHASES)}")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--max-clip-kib", type=int, default=1024)
    parser.add_argument("--race-uploaders", type=int, default=64)
    parser.add_argument("--race-rounds", type=int, default=10)
    parser.add_argument("--client-kills", type=int, default=10)
    parser.add_argument("--server-kills", type=int, default=5)
    parser.add_argument("--slow", type=int, default=20, help="stalling connections of each of four kinds")
    parser.add_argument("--slow-probes", type=int, default=200)
    parser.add_argument("--slow-bound", type=float, default=2.0,
                        help="seconds no probe may take while slow clients are held")
    parser.add_argument("--storm", type=int, default=2000)
    parser.add_argument("--update-kills", type=int, default=60)
    parser.add_argument("--update-bin-mib", type=int, default=8)
    parser.add_argument("--max-rss-mib", type=int, default=200,
                        help="the server's peak resident memory may not exceed this")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    opts = parser.parse_args()

    phases = PHASES if not opts.only else opts.only.split(",")
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phase {unknown}; phases are {','.join(PHASES)}")
    server_bin = opts.server or os.path.join(opts.bin_dir, "server")
    update_bin = opts.update or os.path.join(opts.bin_dir, "update")
    needed = ([server_bin] if any(p != "update" for p in phases) else []) + \
        ([update_bin] if "update" in phases else [])
    for path in needed:
        if not os.access(path, os.X_OK):
            print(f"load_fault: {path}: no such binary; build with "
                  "`cargo build --release --locked -p server -p update -p config_tool` "
                  "or pass --bin-dir", file=sys.stderr)
            return 2
    # The server's own limits, for the bounds checked.
    server_opts = argparse.ArgumentParser(add_help=False)
    server_opts.add_argument("--threads", type=int, default=4)
    server_opts.add_argument("--max-connections", type=int, default=128)
    server_opts.add_argument("--blocking-threads", type=int, default=16)
    limits, _ = server_opts.parse_known_args(opts.server_arg)
    opts.threads = limits.threads

    seed = opts.seed if opts.seed is not None else secrets.randbelow(2**32)
    rng = random.Random(seed)
    report = Report(opts.json)
    root = tempfile.mkdtemp(prefix="camhub-load-")
    report.figure("run", "seed", seed)
    report.figure("run", "cores", os.cpu_count())
    monitor = Monitor()
    monitor.start()
    server = None
    started = time.perf_counter()
    try:
        server_phases = [p for p in phases if p != "update"]
        if server_phases:
            clips = Clips(rng, max(opts.max_clip_kib * 1024, 32 << 20))
            acked = {}
            server = Server(server_bin, root, opts.server_arg, monitor)
            server.start()
            for phase in server_phases:
                t = time.perf_counter()
                if phase == "storm":
                    phase_storm(server, report, opts, rng, clips, acked, limits.max_connections)
                else:
                    globals()[f"phase_{phase}"](server, report, opts, rng, clips, acked)
                peaks = monitor.take_phase()
                report.figure(phase, "seconds", time.perf_counter() - t)
                report.figure(phase, "server peak RSS", round(peaks["rss"] / 1024, 1), "MiB")
                report.figure(phase, "server peak threads", peaks["threads"])
            report.check("server", "the server process is still running", server.alive())
            with monitor.lock:
                total = dict(monitor.total)
            report.figure("server", "peak RSS", round(total["rss"] / 1024, 1), "MiB")
            report.figure("server", "VmHWM", round(total["hwm"] / 1024, 1), "MiB")
            report.figure("server", "peak threads", total["threads"])
            report.figure("server", "peak open files", total["fds"])
            report.check("server", "memory stays bounded", total["hwm"] <= opts.max_rss_mib * 1024,
                         f"VmHWM {total['hwm'] // 1024} MiB, bound {opts.max_rss_mib} MiB")
            # Main thread, workers, the blocking pool, and slack: connections add none.
            bound = limits.threads + limits.blocking_threads + 8
            report.check("server", "threads stay bounded by workers and the blocking pool",
                         total["threads"] <= bound, f"{total['threads']}, bound {bound}")
        if "update" in phases:
            phase_update(update_bin, root, report, opts, rng)
    finally:
        monitor.stopped = True
        if server:
            server.stop()
        if not opts.keep:
            shutil.rmtree(root, ignore_errors=True)
    report.figure("run", "seconds", time.perf_counter() - started)
    failed = report.failed()
    if opts.json:
        json.dump({"seed": seed, "passed": not failed, "checks": report.checks,
                   "figures": report.figures}, sys.stdout, indent=2, default=str)
        print()
    else:
        print(f"load_fault: {len(report.checks) - len(failed)} checks passed, {len(failed)} failed"
              f" (seed {seed}{', folder ' + root if opts.keep else ''})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
