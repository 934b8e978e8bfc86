#!/usr/bin/env python3
"""An E2B-compatible server on loopback, for testing runner's e2b backend.

Python 3 standard library only. It follows ../../shared/e2b-spec
(openapi.yml, envd.yaml, process.proto; PROTOCOL.md summarises them):

control plane (X-API-Key checked, 401 otherwise)
    POST /sandboxes and /v2/sandboxes (the SDK's), GET /sandboxes/{id},
    DELETE /sandboxes/{id}, GET /v2/sandboxes (the metadata filter
    decoded as the API does: parse_metadata_filter; limit, nextToken /
    X-Next-Token), POST /sandboxes/{id}/timeout, /refreshes, /connect
    (also /v2/sandboxes/{id}/connect), GET /health. A sandbox never
    lives past its start plus the plan's maximum lifetime
    (--max-lifetime, default 24 h): a create asking more gets 400
    "Timeout cannot be greater than N hours", an extension is cut to it,
    and one asked after it gets 400 "Max instance length exceeded"
envd (chosen by the E2b-Sandbox-Id header, as with E2B_SANDBOX_URL, so
one port serves every sandbox; E2b-Sandbox-Port must be 49983;
X-Access-Token checked for secure sandboxes)
    GET /health, GET /files, POST /files (octet-stream or multipart, by
    Content-Length or chunked, answering the absolute paths written),
    Connect-RPC (JSON codec) process.Process/Start and Connect (server
    streams: 5-byte envelopes, end-of-stream frame), SendSignal,
    SendInput, CloseStdin, List; filesystem.Filesystem/Stat, MakeDir,
    Remove, ListDir. As envd does, a process is forgotten the moment it
    ends (Connect, SendSignal: not_found), and a lookup by tag stops at
    the first tagged process whose tag differs (service.go getProcess)
test-only
    GET /_state              live sandboxes, the request log, the faults
    POST /_faults            {"faults": [...]} replaces the fault list
    POST /_reset             kill every sandbox, clear log, faults, counts
    POST /_config            {"envd_version": "0.5.0", "page_max": 2,
                             "exit_retention": 30 (seconds an ended
                             process's end is kept for Connect, as envd
                             0.6.13 does; default 0, as older envd),
                             "max_lifetime": 4 (seconds)}

Network (NewSandbox allow_internet_access and network, openapi.yml
SandboxNetworkConfig): the types are checked as the API's schema
validation does (400 "request body has an error: ..."), and so are the
API's own rules (validateNetworkConfig in e2b-dev/infra): a denyOut
entry must be an IP or a CIDR ("invalid denied CIDR X"), a name in
allowOut needs 0.0.0.0/0 in denyOut, allowPublicTraffic false needs
secure. Stricter than the API, which ignores them: an unknown key in
network and an allowOut entry that is neither an IP, a CIDR nor a
(*.)name (a port, a URL) are refused, so a client's typo shows here.
A sandbox whose egress is all denied (allow_internet_access false, or
0.0.0.0/0 in denyOut) runs its commands with no network at all
(bubblewrap --unshare-net): what the stand-in could reach is this
host's loopback, which no E2B sandbox reaches; allowOut entries are
recorded, not routed. GET /sandboxes/{id} answers allowInternetAccess
(null when not set) and network as given; GET /_state lists every
create's allowInternetAccess, network and whether it was cut off
("created", also after the sandbox is gone).

Sandboxes: each is a temporary directory with workspace/, tmp/, home/
and root/. Commands run under bubblewrap with the host's system
directories read-only and those four bound at /workspace, /tmp,
/home/user and /root, so paths inside the sandbox are the real E2B ones
(no rewriting); a command's default cwd is its user's home. Users
"root" and "user" are both accepted and both run as the server's uid.
Commands run in their own process group, killed as a group. A sandbox
dies at its timeout (end time), at its maximum lifetime, on DELETE, or
by a "die" fault. tests/e2b-sdk/sdk-check.mjs drives the official SDK
against this server: what it does must keep passing.

Faults (POST /_faults, or --faults / E2B_FAKE_FAULTS at start): a list
of objects, each with
    route   "METHOD /path", "/path" (any method) or "*" (any non-test
            route); a trailing "*" matches a prefix
    kind    status     answer `status` (500) with {"code","message"} and
                       any `headers`
            rate_limit 429 with Retry-After: `retry_after` ("1"; seconds
                       or an HTTP date) and {"message":"Rate limit exceeded"}
            quota      429 "you have reached the maximum number of
                       concurrent E2B sandboxes (20)", no Retry-After
            hang       read the request, never answer (for `seconds`,
                       default 3600, then close)
            drop       streams: cut the connection `after_ms` into the
                       stream (the process keeps running)
            die        streams: kill the whole sandbox `after_ms` into
                       the stream
            slow       POST /files: read the body at `rate` bytes/s
            body       answer 200 with the bytes of base64 `body_b64` (a
                       hostile download, for instance)
            plant      process.Process/Start: before the process starts,
                       write `content` ("") to the sandbox path `path`
            spawn      process.Process/Start: first start `cmd` ("sleep
                       600") tagged `tag` ("squatter"), which then
                       shadows later tags from a lookup by tag
            delay      answer normally, but after `seconds` (1)
            created    POST /sandboxes: make the sandbox, then answer
                       `status` (500) as if it had failed
    count   how many matching requests it applies to (1; -1 = forever)
    match   optional: only requests whose body contains this text
            (not for POST /files)
    message optional: the message of a status fault

Usage: server.py --port-file FILE [--port N] [--api-key KEY] [--root DIR]
Prints nothing but errors; writes the port to FILE once listening.
"""

import argparse
import base64
import email.utils
import ipaddress
import json
import os
import posixpath
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENVD_PORT = "49983"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SIGNAMES = {
    1: "hangup", 2: "interrupt", 3: "quit", 4: "illegal instruction",
    6: "aborted", 7: "bus error", 8: "floating point exception",
    9: "killed", 11: "segmentation fault", 13: "broken pipe",
    14: "alarm clock", 15: "terminated",
}
CONNECT_HTTP = {
    "not_found": 404, "invalid_argument": 400, "unauthenticated": 401,
    "unimplemented": 501, "internal": 500, "unavailable": 503,
    "already_exists": 409, "failed_precondition": 412,
}


class State:
    def __init__(self, root, api_key, envd_version, max_lifetime):
        self.root = root
        self.api_key = api_key
        self.envd_version = envd_version
        # The team's plan limit (MaxLengthHours): the longest TTL a
        # create may ask for, and the longest a sandbox lives from its
        # start, whatever /timeout, /refreshes or /connect ask.
        self.max_lifetime = max_lifetime
        self.default_max_lifetime = max_lifetime
        self.lock = threading.Lock()
        self.sandboxes = {}
        self.faults = []
        self.log = []
        self.counts = {"created": 0, "killed": 0, "expired": 0, "died": 0}
        self.created = []  # each create's network settings, for tests
        self.page_max = 100
        # How long an ended process's end event is kept for a late
        # Connect: envd before 0.6.13 forgets a process the moment it
        # exits (0 here); 0.6.13's live-upgrade work keeps it 30 s.
        self.exit_retention = 0.0
        self.default_envd_version = envd_version
        self.stopping = threading.Event()

    def take_fault(self, method, path, body=None):
        with self.lock:
            for f in self.faults:
                if f.get("count", 1) == 0:
                    continue
                if not route_matches(f.get("route", "*"), method, path):
                    continue
                m = f.get("match")
                if m is not None and (body is None or
                                      m.encode() not in body):
                    continue
                if f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                f["hits"] = f.get("hits", 0) + 1
                return dict(f)
        return None


def route_matches(route, method, path):
    if route == "*":
        return not path.startswith("/_")
    if " " in route:
        rm, rp = route.split(" ", 1)
        if rm != method:
            return False
    else:
        rp = route
    if rp.endswith("*"):
        return path.startswith(rp[:-1])
    return path == rp


def query_unescape(s):
    """Go's url.QueryUnescape: '+' is a space, a bad %-escape an error."""
    i = 0
    while True:
        i = s.find("%", i)
        if i < 0:
            break
        if len(s) < i + 3 or any(c not in "0123456789abcdefABCDEF"
                                 for c in s[i + 1:i + 3]):
            raise ValueError("invalid URL escape %r" % s[i:i + 3])
        i += 3
    return urllib.parse.unquote_plus(s, errors="surrogateescape")


def parse_metadata_filter(q):
    """The metadata filter of GET /v2/sandboxes as the API reads it
    (infra packages/api/internal/utils/sandboxes_list.go parseFilters):
    the query parameter, already decoded once with the URL, is unescaped
    again as a whole, split at '&' and '=' (exactly one per pair), and
    each key and value is unescaped once more. The SDK encodes to match:
    encodeURIComponent on each key and value, URLSearchParams over the
    pairs, then the URL's own encoding."""
    if q is None:
        return {}
    out = {}
    for pair in query_unescape(q).split("&"):
        kv = pair.split("=")
        if len(kv) != 2:
            raise ValueError("invalid key value pair in query")
        out[query_unescape(kv[0])] = query_unescape(kv[1])
    return out


BLOCK_ALL = "0.0.0.0/0"
NETWORK_KEYS = {"allowPublicTraffic", "allowOut", "denyOut", "egressProxy",
                "maskRequestHost", "rules"}
NAME_RE = re.compile(r"^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                     r"[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                     r"[A-Za-z0-9_])?\.?$")


def is_ip_or_cidr(s):
    """Go's net.ParseIP or net.ParseCIDR (sandbox_network.IsIPOrCIDR)."""
    try:
        if "/" in s:
            ipaddress.ip_network(s, strict=False)
        else:
            ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def schema_error(where, what):
    return ("request body has an error: doesn't match schema: Error at "
            "\"%s\": value must be %s" % (where, what))


def check_network(req):
    """The create body's network fields as the API takes them: None, or
    the message of its 400."""
    a = req.get("allow_internet_access")
    if a is not None and not isinstance(a, bool):
        return schema_error("/allow_internet_access", "a boolean")
    net = req.get("network")
    if net is None:
        return None
    if not isinstance(net, dict):
        return schema_error("/network", "an object")
    for k in net:
        if k not in NETWORK_KEYS:
            return schema_error("/network/" + k,
                                "one of the SandboxNetworkConfig "
                                "properties (%s)" %
                                ", ".join(sorted(NETWORK_KEYS)))
    v = net.get("allowPublicTraffic")
    if v is not None and not isinstance(v, bool):
        return schema_error("/network/allowPublicTraffic", "a boolean")
    v = net.get("maskRequestHost")
    if v is not None and not isinstance(v, str):
        return schema_error("/network/maskRequestHost", "a string")
    for key in ("allowOut", "denyOut"):
        v = net.get(key)
        if v is None:
            continue
        if not isinstance(v, list):
            return schema_error("/network/" + key, "an array")
        for i, e in enumerate(v):
            if not isinstance(e, str):
                return schema_error("/network/%s/%d" % (key, i),
                                    "a string")
    v = net.get("egressProxy")
    if v is not None:
        if not isinstance(v, dict) or not isinstance(v.get("address"), str):
            return schema_error("/network/egressProxy",
                                "an object with a string address")
        for k in ("username", "password"):
            if v.get(k) is not None and (not isinstance(v[k], str) or
                                         len(v[k].encode()) > 255):
                return schema_error("/network/egressProxy/" + k,
                                    "a string of at most 255 bytes")
    v = net.get("rules")
    if v is not None:
        if not isinstance(v, dict) or not all(
                isinstance(r, list) and all(isinstance(x, dict) for x in r)
                for r in v.values()):
            return schema_error("/network/rules",
                                "an object of arrays of rules")
    deny = net.get("denyOut") or []
    for e in deny:
        if not is_ip_or_cidr(e):
            return "invalid denied CIDR %s" % e
    allow = net.get("allowOut") or []
    for e in allow:
        if not is_ip_or_cidr(e) and not NAME_RE.match(e):
            return "invalid allowed address %s" % e
    if any(not is_ip_or_cidr(e) for e in allow) and BLOCK_ALL not in deny:
        return ("When specifying allowed domains in allow out, you must "
                "include 'ALL_TRAFFIC' in deny out to block all other "
                "traffic.")
    if net.get("allowPublicTraffic") is False and not req.get("secure"):
        return ("You cannot create a sandbox without public access unless "
                "you enable secure envd access via 'secure' flag.")
    return None


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Proc:
    def __init__(self, sbx, pid, tag, config, popen):
        self.sbx = sbx
        self.pid = pid
        self.tag = tag
        self.config = config
        self.popen = popen
        self.lock = threading.Lock()
        self.subs = []
        self.end = None
        self.ended_at = None
        self.child_pid = None
        self.status_fd = None
        self.signalled = set()

    def subscribe(self):
        q = queue.Queue()
        with self.lock:
            if self.end is not None:
                q.put(("end", self.end))
            else:
                self.subs.append(q)
        return q

    def unsubscribe(self, q):
        with self.lock:
            if q in self.subs:
                self.subs.remove(q)

    def publish(self, item):
        with self.lock:
            for q in self.subs:
                q.put(item)

    def finish(self, end):
        with self.lock:
            self.end = end
            self.ended_at = time.time()
            for q in self.subs:
                q.put(("end", end))
            self.subs = []
        self.sbx.forget(self)

    def cut_streams(self):
        with self.lock:
            for q in self.subs:
                q.put(("die", None))
            self.subs = []

    def signal(self, sig, group=False):
        """SendSignal: the command only (as envd does); group=True for
        the whole process group (sandbox death, deadlines)."""
        self.signalled.add(sig)
        try:
            if group or not self.child_pid:
                os.killpg(self.popen.pid, sig)
            else:
                os.kill(self.child_pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def read_status(self):
        """The child-pid line of bwrap's --json-status-fd."""
        buf = b""
        while True:
            try:
                chunk = os.read(self.status_fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            for line in buf.split(b"\n"):
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if "child-pid" in d and not self.child_pid:
                    self.child_pid = int(d["child-pid"])
        os.close(self.status_fd)


class Sandbox:
    def __init__(self, state, body):
        self.state = state
        self.id = "i" + secrets.token_hex(10)
        self.template = body["templateID"]
        self.metadata = body.get("metadata") or {}
        self.env_vars = body.get("envVars") or {}
        self.secure = bool(body.get("secure", False))
        self.token = secrets.token_hex(16) if self.secure else None
        self.allow_internet = body.get("allow_internet_access")
        self.network = body.get("network")
        deny = (self.network or {}).get("denyOut") or []
        self.allow_net = (self.allow_internet is not False and
                          "0.0.0.0/0" not in deny)
        self.started = time.time()
        self.end = self.started + body["timeout"]
        self.dir = tempfile.mkdtemp(prefix="sbx-", dir=state.root)
        for d in ("workspace", "tmp", "home", "root"):
            os.mkdir(os.path.join(self.dir, d), 0o755)
        os.chmod(os.path.join(self.dir, "tmp"), 0o1777)
        os.chmod(os.path.join(self.dir, "root"), 0o700)
        self.lock = threading.Lock()
        self.procs = {}       # the live ones, as envd's map
        self.terminated = {}  # pid -> (proc, until): exit_retention
        self.next_pid = 400
        self.alive = True

    def info(self, detail=False):
        d = {
            "templateID": self.template, "alias": self.template,
            "sandboxID": self.id, "clientID": "6532622b",
            "envdVersion": self.state.envd_version,
        }
        if detail is None:
            if self.secure:
                d["envdAccessToken"] = self.token
            d["trafficAccessToken"] = None
            d["domain"] = None
            return d
        d.update({
            "startedAt": iso(self.started), "endAt": iso(self.end),
            "cpuCount": 2, "memoryMB": 512, "diskSizeMB": 1024,
            "metadata": self.metadata, "state": "running",
        })
        if detail and self.secure:
            d["envdAccessToken"] = self.token
        if detail:
            d["domain"] = None
            d["allowInternetAccess"] = self.allow_internet
            if self.network is not None:
                net = dict(self.network)
                if net.get("egressProxy"):
                    net["egressProxy"] = {
                        k: v for k, v in net["egressProxy"].items()
                        if k != "password"}
                d["network"] = net
        return d

    @staticmethod
    def abs_path(p, user):
        """A path in the sandbox, relative ones against the user's home
        (envd's permissions.ExpandAndResolve), normalised."""
        if not p.startswith("/"):
            home = "/root" if user == "root" else "/home/user"
            p = home + "/" + p
        p = posixpath.normpath(p)
        if p.startswith("//"):
            p = p[1:]
        return p

    def host_path(self, p, user):
        if not p:
            return None
        p = self.abs_path(p, user)
        for prefix, sub in (("/workspace", "workspace"), ("/tmp", "tmp"),
                            ("/home/user", "home"), ("/root", "root")):
            if p == prefix or p.startswith(prefix + "/"):
                return os.path.join(self.dir, sub) + p[len(prefix):]
        return None

    def bwrap_argv(self, cwd, status_fd):
        # No pid namespace: bwrap's child is then the command itself, and
        # --json-status-fd tells its host pid, so that a signal can go to
        # that one process as envd sends it.
        a = ["bwrap", "--unshare-ipc", "--unshare-uts",
             "--hostname", "e2b-" + self.id[:8],
             "--json-status-fd", str(status_fd)]
        if not self.allow_net:
            a.append("--unshare-net")
        skip = {"proc", "dev", "tmp", "workspace", "home", "sys", "run",
                "root", "mnt", "media", "lost+found", "boot", "srv"}
        for name in sorted(os.listdir("/")):
            p = "/" + name
            if name in skip:
                continue
            if os.path.islink(p):
                a += ["--symlink", os.readlink(p), p]
            elif os.path.isdir(p):
                a += ["--ro-bind", p, p]
        a += ["--proc", "/proc", "--dev", "/dev",
              "--bind", os.path.join(self.dir, "tmp"), "/tmp",
              "--bind", os.path.join(self.dir, "workspace"), "/workspace",
              "--bind", os.path.join(self.dir, "home"), "/home/user",
              "--bind", os.path.join(self.dir, "root"), "/root",
              "--chdir", cwd, "--"]
        return a

    def start_process(self, config, tag, stdin, user, deadline_ms):
        env = {"PATH": PATH, "USER": user, "LOGNAME": user,
               "HOME": "/root" if user == "root" else "/home/user"}
        env.update(self.env_vars)
        env.update(config.get("envs") or {})
        cwd = config.get("cwd") or ("/root" if user == "root"
                                    else "/home/user")
        rfd, wfd = os.pipe()
        argv = self.bwrap_argv(cwd, wfd) + [config["cmd"]] + \
            list(config.get("args") or [])
        try:
            popen = subprocess.Popen(
                argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                start_new_session=True, pass_fds=(wfd,), cwd=self.dir)
        finally:
            os.close(wfd)
        with self.lock:
            pid = self.next_pid
            self.next_pid += 1
            proc = Proc(self, pid, tag, config, popen)
            self.procs[pid] = proc
        proc.status_fd = rfd
        return proc

    def forget(self, proc):
        """envd's start.go: `defer s.processes.Delete(pid); proc.Wait()`:
        an ended process is gone for Connect, SendSignal and List."""
        with self.lock:
            if self.procs.get(proc.pid) is proc:
                del self.procs[proc.pid]
            ret = self.state.exit_retention
            if ret > 0:
                self.terminated[proc.pid] = (proc, time.time() + ret)

    def find(self, selector):
        """envd's service.go getProcess. By tag it ranges over the
        processes and stops at the first tagged one whose tag differs
        (the Range callback returns false there), so a tag is found only
        if no other tagged process comes first; we range in pid order."""
        with self.lock:
            if "pid" in selector:
                try:
                    return self.procs.get(int(selector["pid"]))
                except (TypeError, ValueError):
                    return None
            if "tag" in selector:
                for pid in sorted(self.procs):
                    p = self.procs[pid]
                    if not p.tag:
                        continue
                    return p if p.tag == selector["tag"] else None
        return None

    def find_ended(self, selector):
        """A retained end (exit_retention > 0), by pid or first tag."""
        now = time.time()
        with self.lock:
            for pid, (p, until) in sorted(self.terminated.items()):
                if until < now:
                    continue
                if "pid" in selector and str(pid) == str(selector["pid"]):
                    return p
                if "tag" in selector and p.tag == selector["tag"]:
                    return p
        return None

    def kill(self):
        with self.lock:
            if not self.alive:
                return
            self.alive = False
            procs = list(self.procs.values())
        for p in procs:
            p.signal(signal.SIGKILL, group=True)
            p.cut_streams()
        for p in procs:
            try:
                p.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def run_process(proc, deadline_ms):
    """Pump a process's output to subscribers; publish its end."""
    def reader(stream, key):
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 32768)
            except OSError:
                break
            if not chunk:
                break
            proc.publish(("data", {key: base64.b64encode(chunk).decode()}))
        stream.close()

    readers = [threading.Thread(target=reader, args=(proc.popen.stdout,
                                                     "stdout"), daemon=True),
               threading.Thread(target=reader, args=(proc.popen.stderr,
                                                     "stderr"), daemon=True)]
    for t in readers:
        t.start()
    threading.Thread(target=proc.read_status, daemon=True).start()
    timer = None
    if deadline_ms:
        timer = threading.Timer(deadline_ms / 1000.0, proc.signal,
                                args=(signal.SIGKILL, True))
        timer.daemon = True
        timer.start()

    def waiter():
        rc = proc.popen.wait()
        # Background children may hold the pipes: wait a little, not
        # for them.
        until = time.time() + 1.0
        for t in readers:
            t.join(timeout=max(0.0, until - time.time()))
        if timer:
            timer.cancel()
        # bwrap reports a command killed by signal N as 128 + N; say it
        # as envd would when we sent that signal.
        if rc > 128 and rc - 128 in proc.signalled:
            rc = -(rc - 128)
        # envd: Error is cmd.Wait()'s error (set unless it exited 0),
        # ExitCode, Exited and Status from the ProcessState.
        if rc >= 0:
            end = {"exited": True, "status": "exit status %d" % rc}
            if rc:
                end["exitCode"] = rc  # proto3 JSON omits zero values
                end["error"] = end["status"]
        else:
            end = {"exitCode": -1,
                   "status": "signal: " + SIGNAMES.get(-rc, str(-rc))}
            end["error"] = end["status"]
        proc.finish(end)
    threading.Thread(target=waiter, daemon=True).start()


def frame(obj, flags=0):
    data = json.dumps(obj, separators=(",", ":")).encode()
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-e2b/1"
    state = None  # set in main

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----
    def read_body(self, limit=1 << 30):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
                if len(out) > limit:
                    raise ValueError("body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > limit:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def send(self, status, obj=None, headers=None, raw=None,
             ctype="application/json"):
        body = raw if raw is not None else (
            b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204 and body:
            self.wfile.write(body)
        self.status = status

    def error(self, status, message, **extra):
        d = {"code": status, "message": message}
        d.update(extra)
        self.send(status, d)

    def connect_error(self, code, message):
        self.send(CONNECT_HTTP.get(code, 500),
                  {"code": code, "message": message})

    def apply_fault(self, f):
        """Answer with a fault if it is one that answers. True if done."""
        kind = f.get("kind", "status")
        if kind == "status":
            st = int(f.get("status", 500))
            self.send(st, {"code": st,
                           "message": f.get("message", "injected fault")},
                      headers=f.get("headers"))
            return True
        if kind == "rate_limit":
            self.send(429, {"code": 429, "message": "Rate limit exceeded"},
                      headers={"Retry-After": str(f.get("retry_after", "1")),
                               "RateLimit-Limit": "10",
                               "RateLimit-Remaining": "0",
                               "RateLimit-Reset": str(f.get("retry_after",
                                                            "1"))})
            return True
        if kind == "quota":
            self.send(429, {"code": 429, "message":
                            "you have reached the maximum number of "
                            "concurrent E2B sandboxes (20). Please contact "
                            "us at 'https://e2b.dev/docs/getting-help' to "
                            "increase this limit."})
            return True
        if kind == "body":
            self.send(200, raw=base64.b64decode(f.get("body_b64", "")),
                      ctype="application/octet-stream")
            return True
        if kind == "delay":
            # Answer, but only after `seconds` (a slow reattach).
            time.sleep(float(f.get("seconds", 1)))
            return False
        if kind == "hang":
            self.state.stopping.wait(float(f.get("seconds", 3600)))
            self.close_connection = True
            self.status = 0
            return True
        return False

    def handle_any(self, method):
        self.status = 0
        t0 = time.time()
        url = urllib.parse.urlsplit(self.path)
        self.query = dict(urllib.parse.parse_qsl(url.query,
                                                 keep_blank_values=True))
        path = url.path
        try:
            if path.startswith("/_"):
                self.test_route(method, path)
            elif self.headers.get("E2b-Sandbox-Id"):
                self.envd_route(method, path)
            else:
                self.api_route(method, path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with self.state.lock:
                self.state.log.append({
                    "method": method, "path": path, "status": self.status,
                    "start": t0, "end": time.time(),
                    "sandbox": self.headers.get("E2b-Sandbox-Id"),
                    "chunked": self.headers.get(
                        "Transfer-Encoding", "").lower() == "chunked",
                    "agent": self.headers.get("User-Agent", "")})
                del self.state.log[:-20000]

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PUT(self):
        self.handle_any("PUT")

    # ---- test routes ----
    def test_route(self, method, path):
        st = self.state
        if method == "GET" and path == "/_state":
            with st.lock:
                live = [{"sandboxID": s.id, "metadata": s.metadata,
                         "endAt": s.end, "dir": s.dir,
                         "cutOff": not s.allow_net,
                         "processes": [p.pid for p in s.procs.values()
                                       if p.end is None]}
                        for s in st.sandboxes.values()]
                d = {"sandboxes": live, "created": list(st.created),
                     "requests": list(st.log),
                     "faults": list(st.faults), "counts": dict(st.counts),
                     "now": time.time()}
            self.send(200, d)
        elif method == "POST" and path == "/_faults":
            body = json.loads(self.read_body() or b"{}")
            with st.lock:
                st.faults = list(body.get("faults", []))
            self.send(200, {"ok": True})
        elif method == "POST" and path == "/_config":
            body = json.loads(self.read_body() or b"{}")
            with st.lock:
                if "envd_version" in body:
                    st.envd_version = body["envd_version"]
                if "page_max" in body:
                    st.page_max = int(body["page_max"])
                if "exit_retention" in body:
                    st.exit_retention = float(body["exit_retention"])
                if "max_lifetime" in body:
                    st.max_lifetime = float(body["max_lifetime"])
            self.send(200, {"ok": True})
        elif method == "POST" and path == "/_reset":
            self.read_body()
            with st.lock:
                sbs = list(st.sandboxes.values())
                st.sandboxes.clear()
                st.faults = []
                st.log = []
                st.envd_version = st.default_envd_version
                st.page_max = 100
                st.exit_retention = 0.0
                st.max_lifetime = st.default_max_lifetime
                st.counts = dict.fromkeys(st.counts, 0)
                st.created = []
            for s in sbs:
                s.kill()
            self.send(200, {"ok": True})
        else:
            self.error(404, "no such test route")

    # ---- control plane ----
    def api_route(self, method, path):
        st = self.state
        if method == "GET" and path == "/health":
            self.send(200, raw=b"Health check successful",
                      ctype="text/plain")
            return
        body = self.read_body(1 << 20)
        f = st.take_fault(method, path, body)
        if f and self.apply_fault(f):
            return
        if self.headers.get("X-API-Key") != st.api_key:
            self.error(401, "Invalid API key")
            return
        # SDK 2.x creates at /v2/sandboxes and connects at
        # /v2/sandboxes/{id}/connect: the same operations.
        if path.startswith("/v2/sandboxes/") and path.endswith("/connect"):
            path = path[3:]
        parts = path.strip("/").split("/")
        if method == "POST" and path in ("/sandboxes", "/v2/sandboxes"):
            self.api_create(body, f)
        elif method == "GET" and path == "/v2/sandboxes":
            self.api_list()
        elif len(parts) >= 2 and parts[0] == "sandboxes":
            with st.lock:
                sbx = st.sandboxes.get(parts[1])
            if not sbx or not sbx.alive:
                self.error(404, "sandbox \"%s\" doesn't exist or you "
                           "don't have access to it" % parts[1])
                return
            rest = "/".join(parts[2:])
            if method == "GET" and not rest:
                self.send(200, sbx.info(True))
            elif method == "DELETE" and not rest:
                with st.lock:
                    st.sandboxes.pop(sbx.id, None)
                    st.counts["killed"] += 1
                sbx.kill()
                self.send(204)
            elif method == "POST" and rest in ("timeout", "refreshes",
                                               "connect"):
                self.api_extend(sbx, rest, body)
            else:
                self.error(404, "not found")
        else:
            self.error(404, "not found")

    def api_create(self, body, fault=None):
        st = self.state
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            self.error(400, "invalid JSON body")
            return
        if not isinstance(req, dict) or not req.get("templateID"):
            self.error(400, "templateID is required")
            return
        timeout = req.get("timeout", 15)
        if not isinstance(timeout, int) or timeout <= 0:
            self.error(400, "Timeout must be greater than 0")
            return
        if timeout > st.max_lifetime:
            lim = st.max_lifetime
            self.error(400, "Timeout cannot be greater than %s" %
                       ("%d hours" % (lim // 3600) if lim % 3600 == 0
                        else "%g seconds" % lim))
            return
        why = check_network(req)
        if why:
            self.error(400, why)
            return
        req["timeout"] = timeout
        sbx = Sandbox(st, req)
        with st.lock:
            st.sandboxes[sbx.id] = sbx
            st.counts["created"] += 1
            st.created.append({
                "sandboxID": sbx.id, "metadata": sbx.metadata,
                "allowInternetAccess": sbx.allow_internet,
                "network": sbx.network, "cutOff": not sbx.allow_net})
            del st.created[:-1000]
        if fault and fault.get("kind") == "created":
            # Made, but the answer is lost: what a 5xx after the
            # orchestrator placed the sandbox looks like to a client.
            st_ = int(fault.get("status", 500))
            self.send(st_, {"code": st_, "message": fault.get(
                "message", "injected fault after create")})
            return
        self.send(201, sbx.info(None))

    def api_extend(self, sbx, what, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            self.error(400, "invalid JSON body")
            return
        now = time.time()
        key = "duration" if what == "refreshes" else "timeout"
        n = req.get(key, 15 if what == "refreshes" else None)
        if not isinstance(n, int) or n <= 0:
            self.error(400, "%s must be a positive integer" % key)
            return
        # orchestrator/keep_alive.go KeepAliveFor: never past the start
        # plus the plan's maximum lifetime; past it already, a 400.
        life = self.state.max_lifetime
        if now - sbx.started > life:
            self.error(400, "Max instance length exceeded")
            return
        end = now + min(n, life - (now - sbx.started))
        if what == "timeout":
            sbx.end = end
            self.send(204)
        elif what == "refreshes":
            sbx.end = max(sbx.end, end)
            self.send(204)
        else:
            sbx.end = max(sbx.end, end)
            self.send(200, sbx.info(None))

    def api_list(self):
        st = self.state
        try:
            want = parse_metadata_filter(self.query.get("metadata"))
        except ValueError as e:
            self.error(400, "Error parsing metadata: %s" % e)
            return
        try:
            limit = int(self.query.get("limit", "100"))
        except ValueError:
            limit = -1
        if limit < 1 or limit > 100:
            self.error(400, "limit must be between 1 and 100")
            return
        with st.lock:
            sbs = sorted((s for s in st.sandboxes.values() if s.alive),
                         key=lambda s: s.id)
        sbs = [s for s in sbs
               if all(s.metadata.get(k) == v for k, v in want.items())]
        after = self.query.get("nextToken")
        if after:
            sbs = [s for s in sbs if s.id > after]
        limit = min(limit, st.page_max)
        page, more = sbs[:limit], len(sbs) > limit
        headers = {"X-Total-Running": str(len(sbs))}
        if more:
            headers["X-Next-Token"] = page[-1].id
        self.send(200, [s.info(False) for s in page], headers=headers)

    # ---- envd ----
    def envd_route(self, method, path):
        st = self.state
        sid = self.headers.get("E2b-Sandbox-Id")
        with st.lock:
            sbx = st.sandboxes.get(sid)
        if self.headers.get("E2b-Sandbox-Port", ENVD_PORT) != ENVD_PORT:
            self.read_body(1 << 20)
            self.error(502, "The sandbox is running but port is not open",
                       sandboxId=sid, port=self.headers.get(
                           "E2b-Sandbox-Port"))
            return
        if not sbx or not sbx.alive:
            if path != "/files" or method != "POST":
                self.read_body(1 << 20)
            self.close_connection = True
            self.error(502, "The sandbox was not found", sandboxId=sid)
            return
        if method == "GET" and path == "/health":
            self.send(204)
            return
        big = method == "POST" and path == "/files"
        body = None if big else self.read_body(64 << 20)
        f = st.take_fault(method, path, body)
        if f and self.apply_fault(f):
            if big:
                self.close_connection = True
            return
        if sbx.secure and self.headers.get("X-Access-Token") != sbx.token:
            if big:
                self.close_connection = True
            self.error(401, "unauthorized access, please provide a valid "
                       "access token or method signing if supported")
            return
        if path == "/files":
            if method == "GET":
                self.files_get(sbx)
            elif method == "POST":
                self.files_post(sbx, f)
            else:
                self.error(405, "method not allowed")
            return
        if method != "POST":
            self.error(405, "method not allowed")
            return
        user = self.rpc_user()
        if user is None:
            self.connect_error("unauthenticated", "invalid user")
            return
        if path in ("/process.Process/Start", "/process.Process/Connect"):
            self.process_stream(sbx, path, body, user, f)
            return
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            self.connect_error("invalid_argument", "invalid JSON")
            return
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/process.Process/"):
            self.process_unary(sbx, name, req)
        elif path.startswith("/filesystem.Filesystem/"):
            self.fs_unary(sbx, name, req, user)
        else:
            self.connect_error("unimplemented", "unknown method")

    def rpc_user(self):
        auth = self.headers.get("Authorization", "")
        if not auth:
            return "user"
        if not auth.startswith("Basic "):
            return None
        try:
            user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        except ValueError:
            return None
        return user if user in ("user", "root") else None

    def files_user(self):
        user = self.query.get("username") or "user"
        return user if user in ("user", "root") else None

    def files_get(self, sbx):
        user = self.files_user()
        if user is None:
            self.error(401, "error looking up user")
            return
        p = sbx.host_path(self.query.get("path", ""), user)
        if p is None:
            self.error(400, "path outside the fake sandbox's areas")
            return
        real = os.path.realpath(p)
        if not real.startswith(os.path.realpath(sbx.dir) + "/"):
            self.error(400, "path escapes the sandbox")
            return
        if not os.path.exists(real):
            self.error(404, "path '%s' does not exist" %
                       self.query.get("path"))
            return
        if os.path.isdir(real):
            self.error(400, "path '%s' is a directory" %
                       self.query.get("path"))
            return
        size = os.path.getsize(real)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.status = 200
        with open(real, "rb") as fh:
            while True:
                chunk = fh.read(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)

    def body_chunks(self):
        """The request body in pieces: by Content-Length, or chunked
        (Transfer-Encoding: chunked, as fetch() sends a FormData or a
        stream). Raises ConnectionResetError on a short body."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\n"):
                    raise ConnectionResetError("short chunked body")
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ConnectionResetError("bad chunk size")
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return
                while n > 0:
                    chunk = self.rfile.read(min(n, 65536))
                    if not chunk:
                        raise ConnectionResetError("short chunked body")
                    n -= len(chunk)
                    yield chunk
                self.rfile.readline(16)
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                raise ConnectionResetError("short body")
            left -= len(chunk)
            yield chunk

    def read_slow(self, f, out):
        """Copy the body to out, at `rate` bytes/s under a slow fault."""
        rate = float(f.get("rate", 65536)) if f and \
            f.get("kind") == "slow" else 0
        for chunk in self.body_chunks():
            while chunk:
                piece, chunk = (chunk[:4096], chunk[4096:]) if rate else \
                    (chunk, b"")
                out.write(piece)
                if rate:
                    time.sleep(len(piece) / rate)

    def files_post(self, sbx, f):
        user = self.files_user()
        ctype = self.headers.get("Content-Type", "")
        if user is None:
            self.close_connection = True
            self.error(401, "error looking up user")
            return
        written = []
        if ctype.startswith("application/octet-stream"):
            dest = sbx.host_path(self.query.get("path", ""), user)
            if dest is None:
                self.close_connection = True
                self.error(400, "a path inside the sandbox is required")
                return
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as out:
                self.read_slow(f, out)
            written.append(sbx.abs_path(self.query.get("path"), user))
        elif ctype.startswith("multipart/form-data"):
            import io
            buf = io.BytesIO()
            self.read_slow(f, buf)
            parts = parse_multipart(ctype, buf.getvalue())
            if parts is None:
                self.error(400, "bad multipart body")
                return
            for name, filename, data in parts:
                if name != "file":
                    continue
                target = self.query.get("path") if len(parts) == 1 and \
                    self.query.get("path") else filename
                dest = sbx.host_path(target, user)
                if dest is None:
                    self.error(400, "path outside the fake sandbox's "
                               "areas: %s" % target)
                    return
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as out:
                    out.write(data)
                written.append(sbx.abs_path(target, user))
        else:
            self.close_connection = True
            self.error(400, "unsupported Content-Type")
            return
        self.send(200, [{"path": p, "name": posixpath.basename(p),
                         "type": "file"} for p in written])

    def process_stream(self, sbx, path, body, user, fault):
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/connect+json"):
            self.send(415, {"code": "invalid_argument",
                            "message": "want application/connect+json"})
            return
        if len(body) < 5 or int.from_bytes(body[1:5], "big") != \
                len(body) - 5 or body[0] & 1:
            self.connect_error("invalid_argument", "bad envelope")
            return
        try:
            req = json.loads(body[5:])
        except ValueError:
            self.connect_error("invalid_argument", "invalid JSON")
            return
        try:
            keepalive = float(self.headers.get("Keepalive-Ping-Interval",
                                               "90"))
        except ValueError:
            keepalive = 90.0
        deadline = self.headers.get("Connect-Timeout-Ms")
        deadline = int(deadline) if deadline and deadline.isdigit() else 0
        start_err = None
        proc = None
        if path.endswith("/Start"):
            config = req.get("process") or {}
            cwd = config.get("cwd") or ("/root" if user == "root"
                                        else "/home/user")
            hp = sbx.host_path(cwd, user) if cwd != "/" else sbx.dir
            if not config.get("cmd"):
                start_err = ("invalid_argument", "cmd is required")
            elif cwd != "/" and (hp is None or not os.path.isdir(hp)):
                start_err = ("invalid_argument",
                             "cwd '%s' does not exist" % cwd)
            else:
                if fault and fault.get("kind") == "spawn":
                    other = sbx.start_process(
                        {"cmd": "/bin/sh", "args": ["-c", fault.get(
                            "cmd", "sleep 600")]},
                        fault.get("tag", "squatter"), False, user, 0)
                    run_process(other, 0)
                if fault and fault.get("kind") == "plant":
                    hp = sbx.host_path(fault.get("path", ""), "root")
                    if hp:
                        os.makedirs(os.path.dirname(hp), exist_ok=True)
                        with open(hp, "w") as fh:
                            fh.write(fault.get("content", ""))
                try:
                    proc = sbx.start_process(config, req.get("tag"),
                                             req.get("stdin", True), user,
                                             deadline)
                except OSError as e:
                    start_err = ("internal", str(e))
            if proc:
                q = proc.subscribe()
                run_process(proc, deadline)
        else:
            sel = req.get("process") or {}
            proc = sbx.find(sel)
            if proc is not None:
                q = proc.subscribe()
            else:
                proc = sbx.find_ended(sel)
                if proc is None:
                    start_err = ("not_found", "process with %s not found" %
                                 ("pid %s" % sel["pid"] if "pid" in sel
                                  else "tag %s" % sel.get("tag")))
                else:
                    q = queue.Queue()
                    q.put(("end", proc.end))
        self.send_response(200)
        self.send_header("Content-Type", "application/connect+json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.status = 200

        def chunk(data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        if start_err:
            chunk(frame({"error": {"code": start_err[0],
                                   "message": start_err[1]}}, 2))
            self.wfile.write(b"0\r\n\r\n")
            return
        cut_at = None
        if fault and fault.get("kind") in ("drop", "die"):
            cut_at = time.time() + float(fault.get("after_ms", 0)) / 1000
        try:
            chunk(frame({"event": {"start": {"pid": proc.pid}}}))
            while True:
                wait = keepalive
                if cut_at is not None:
                    wait = max(0.0, min(wait, cut_at - time.time()))
                try:
                    kind, item = q.get(timeout=wait)
                except queue.Empty:
                    if cut_at is not None and time.time() >= cut_at:
                        if fault["kind"] == "die":
                            with self.state.lock:
                                self.state.sandboxes.pop(sbx.id, None)
                                self.state.counts["died"] += 1
                            sbx.kill()
                        self.close_connection = True
                        return
                    chunk(frame({"event": {"keepalive": {}}}))
                    continue
                if kind == "die":
                    self.close_connection = True
                    return
                if kind == "data":
                    chunk(frame({"event": {"data": item}}))
                elif kind == "end":
                    chunk(frame({"event": {"end": item}}))
                    chunk(frame({}, 2))
                    self.wfile.write(b"0\r\n\r\n")
                    return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            proc.unsubscribe(q)

    def process_unary(self, sbx, name, req):
        if name == "List":
            with sbx.lock:
                ps = [{"pid": p.pid, "tag": p.tag, "config": p.config}
                      for p in sbx.procs.values() if p.end is None]
            self.send(200, {"processes": ps})
            return
        proc = sbx.find(req.get("process") or {})
        if name not in ("SendSignal", "SendInput", "CloseStdin", "Update"):
            self.connect_error("unimplemented", "unknown method")
            return
        if proc is None or proc.end is not None:
            self.connect_error("not_found", "process not found")
            return
        if name == "SendSignal":
            sig = req.get("signal")
            num = {"SIGNAL_SIGTERM": 15, "SIGNAL_SIGKILL": 9, 15: 15,
                   9: 9}.get(sig)
            if num is None:
                self.connect_error("invalid_argument", "invalid signal")
                return
            proc.signal(num)
        elif name == "SendInput":
            data = (req.get("input") or {}).get("stdin")
            if data is None or proc.popen.stdin is None:
                self.connect_error("failed_precondition", "stdin closed")
                return
            try:
                proc.popen.stdin.write(base64.b64decode(data))
                proc.popen.stdin.flush()
            except (OSError, ValueError):
                self.connect_error("failed_precondition", "stdin closed")
                return
        elif name == "CloseStdin":
            if proc.popen.stdin:
                try:
                    proc.popen.stdin.close()
                except OSError:
                    pass
        self.send(200, {})

    def fs_unary(self, sbx, name, req, user):
        p = req.get("path", "")
        hp = sbx.host_path(p, user)
        if hp is None:
            self.connect_error("invalid_argument", "path outside the fake "
                               "sandbox's areas")
            return
        if name == "MakeDir":
            if os.path.exists(hp):
                self.connect_error("already_exists", "exists")
                return
            os.makedirs(hp)
            self.send(200, {"entry": entry_info(p, hp)})
        elif name == "Stat":
            if not os.path.lexists(hp):
                self.connect_error("not_found", "no such file")
                return
            self.send(200, {"entry": entry_info(p, hp)})
        elif name == "Remove":
            if not os.path.lexists(hp):
                self.connect_error("not_found", "no such file")
                return
            if os.path.isdir(hp) and not os.path.islink(hp):
                shutil.rmtree(hp)
            else:
                os.unlink(hp)
            self.send(200, {})
        elif name == "ListDir":
            if not os.path.isdir(hp):
                self.connect_error("not_found", "no such directory")
                return
            ents = [entry_info(posixpath.join(p, n), os.path.join(hp, n))
                    for n in sorted(os.listdir(hp))]
            self.send(200, {"entries": ents})
        else:
            self.connect_error("unimplemented", "unknown method")


def entry_info(path, hp):
    st = os.lstat(hp)
    if os.path.islink(hp):
        t = "FILE_TYPE_SYMLINK"
    elif os.path.isdir(hp):
        t = "FILE_TYPE_DIRECTORY"
    else:
        t = "FILE_TYPE_FILE"
    return {"name": posixpath.basename(path), "type": t, "path": path,
            "size": str(st.st_size), "mode": st.st_mode & 0o7777,
            "modifiedTime": iso(st.st_mtime)}


def parse_multipart(ctype, data):
    bnd = None
    for item in ctype.split(";")[1:]:
        k, _, v = item.strip().partition("=")
        if k.lower() == "boundary":
            bnd = v.strip('"')
    if not bnd:
        return None
    delim = b"--" + bnd.encode()
    parts = []
    for chunk in data.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, sep, body = chunk.partition(b"\r\n\r\n")
        if not sep:
            return None
        if body.endswith(b"\r\n"):
            body = body[:-2]
        name = filename = None
        for line in head.split(b"\r\n"):
            k, _, v = line.decode("latin-1").partition(":")
            if k.strip().lower() != "content-disposition":
                continue
            for item in v.split(";"):
                a, _, b = item.strip().partition("=")
                if a == "name":
                    name = b.strip('"')
                elif a == "filename":
                    filename = b.strip('"')
        parts.append((name, filename, body))
    return parts


def reaper(state):
    while not state.stopping.wait(0.1):
        now = time.time()
        dead = []
        with state.lock:
            for sid, s in list(state.sandboxes.items()):
                if now >= s.end:
                    dead.append(s)
                    del state.sandboxes[sid]
                    state.counts["expired"] += 1
        for s in dead:
            s.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--api-key", default=os.environ.get("E2B_FAKE_API_KEY",
                                                        "e2b_test"))
    ap.add_argument("--root")
    ap.add_argument("--faults", default=os.environ.get("E2B_FAKE_FAULTS"))
    ap.add_argument("--envd-version", default="0.6.13")
    ap.add_argument("--max-lifetime", type=float, default=86400,
                    help="the plan's maximum sandbox lifetime, seconds "
                    "(Pro: 86400, Hobby: 3600)")
    args = ap.parse_args()

    if not shutil.which("bwrap"):
        sys.exit("server.py: bwrap (bubblewrap) is required")
    own_root = args.root is None
    root = args.root or tempfile.mkdtemp(prefix="fake-e2b-")
    state = State(root, args.api_key, args.envd_version, args.max_lifetime)
    if args.faults:
        state.faults = json.loads(args.faults).get("faults", [])
    Handler.state = state
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True

    def stop(signum, frm):
        state.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=reaper, args=(state,), daemon=True).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % server.server_address[1])
        os.rename(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        state.stopping.set()
        with state.lock:
            sbs = list(state.sandboxes.values())
            state.sandboxes.clear()
        for s in sbs:
            s.kill()
        if own_root:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
