"""What anthropic.py and openai.py share: the scenario file, the request
log, the HTTP server on loopback, SSE over chunked transfer encoding.

Python 3 standard library only (a scenario may be YAML when PyYAML is
importable; the tests use JSON).

Scenario file (JSON, or YAML when the name ends in .yaml/.yml):
    {"turns": [TURN, ...],          the model's answers, in order
     "after": "text" | "repeat",    when the agent asks past the last
                                    turn: a plain text answer (default)
                                    or the last turn again (a loop that
                                    only the agent's max-turns stops)
     "side_text": "...",            answer to side requests (a title, a
                                    summary: requests without tools)
     "model": "...",                model name to report (else the
                                    request's)
     "usage": {...}}                default usage of every turn
TURN (one model response) is one of
    {"text": "..."}
    {"tool": "NAME", "input": {...}}            a tool call (Anthropic
                                    tool_use; OpenAI function_call, its
                                    input sent as the JSON arguments)
    {"tool": "NAME", "custom": "TEXT"}          OpenAI custom tool call
                                    (Codex's freeform apply_patch)
plus, on any turn:
    "text_before": "..."   text streamed before the tool call
    "usage": {...}         this turn's usage (provider's field names)
    "error": {"status": 529, "type": "overloaded_error",
              "message": "...", "times": N, "headers": {...}}
                           answer this HTTP error instead, the first N
                           attempts at this turn (no "times": always)
    "hang": "headers" | "stream"
                           read the request and never answer ("headers"),
                           or stream the first events and then nothing
                           ("stream": the last content block or output
                           item is never finished); the connection stays
                           open until the server stops
    "hang_times": N        hang only the first N attempts at this turn
    "delay_ms": N          sleep before answering
Which turn a request asks for is read off the request itself (how many
model answers its history holds), so retries and side requests do not
move the script on.

Strings in the scenario may hold {{NAME}}, replaced by --var NAME=VALUE
(for instance {{ws}} for the workspace path the agent sees).

Request log (--log FILE): one JSON object a line, written as each
request ends: {"seq", "time", "method", "path", "query", "headers",
"body" (parsed JSON, else text), "status", "answer" (what kind of answer
was sent: "turn 2", "side", "error 529", "hang", "404"...)}.

The server stops by itself after --max-seconds (default 900), and on
SIGTERM/SIGINT.
"""

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def substitute(obj, env):
    if isinstance(obj, str):
        def rep(m):
            name = m.group(1)
            if name not in env:
                raise SystemExit("scenario: no --var for {{%s}}" % name)
            return env[name]
        return re.sub(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}", rep, obj)
    if isinstance(obj, list):
        return [substitute(x, env) for x in obj]
    if isinstance(obj, dict):
        return {k: substitute(v, env) for k, v in obj.items()}
    return obj


def load_scenario(path, env):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        import yaml  # only when asked for

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list):
        raise SystemExit("scenario %s: want an object with a list 'turns'"
                         % path)
    return substitute(data, env)


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.seq = 0
        self.fp = open(path, "a", encoding="utf-8") if path else None

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def write(self, rec):
        if not self.fp:
            return
        line = json.dumps(rec, ensure_ascii=False, sort_keys=True)
        with self.lock:
            self.fp.write(line + "\n")
            self.fp.flush()


class Script:
    """The scenario, and how many times each turn was asked for."""

    def __init__(self, scenario):
        self.s = scenario
        self.turns = scenario["turns"]
        self.lock = threading.Lock()
        self.attempts = {}

    def turn(self, index):
        """(turn dict, attempt number from 1) for answer number index."""
        if index >= len(self.turns):
            if self.s.get("after") == "repeat" and self.turns:
                t = self.turns[-1]
            else:
                t = {"text": self.s.get("done_text",
                                        "(the scenario has no more turns)")}
        else:
            t = self.turns[index]
        with self.lock:
            n = self.attempts.get(index, 0) + 1
            self.attempts[index] = n
        return t, n


def hangs(turn, attempt, kind):
    return turn.get("hang") == kind and attempt <= turn.get("hang_times",
                                                            1 << 30)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "model-server/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    # --- plumbing ---------------------------------------------------
    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = b""
        if n:
            raw = self.rfile.read(n)
        elif "chunked" in (self.headers.get("Transfer-Encoding") or ""):
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(parts)
        if (self.headers.get("Content-Encoding") or "") in ("gzip",):
            import gzip

            raw = gzip.decompress(raw)
        elif (self.headers.get("Content-Encoding") or "") == "zstd":
            return raw, "(zstd body)"
        text = raw.decode("utf-8", "replace")
        try:
            return raw, json.loads(text) if text else None
        except ValueError:
            return raw, text

    def _record(self, status, answer):
        path, _, query = self.path.partition("?")
        self.server.log.write({
            "seq": self.seq,
            "time": round(time.time(), 3),
            "method": self.command,
            "path": path,
            "query": query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.body,
            "status": status,
            "answer": answer,
        })

    def send_json(self, status, obj, answer, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        self._record(status, answer)

    def start_sse(self, headers=None):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()

    def sse(self, event, data):
        chunk = b""
        if event:
            chunk += b"event: " + event.encode() + b"\n"
        chunk += b"data: " + json.dumps(data).encode() + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.flush()

    def end_sse(self, answer):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self._record(200, answer)

    def hang(self, answer):
        """Never answer: hold the connection until the server stops."""
        self._record(None, answer)
        self.server.stopping.wait()
        self.close_connection = True

    def before_answer(self, turn):
        if turn.get("delay_ms"):
            time.sleep(turn["delay_ms"] / 1000.0)

    # --- dispatch ---------------------------------------------------
    def _dispatch(self):
        self.seq = self.server.log.next_seq()
        try:
            _, self.body = self._read_body()
        except Exception as e:  # a broken request: say so, keep serving
            self.body = None
            self.send_json(400, {"error": str(e)}, "bad body")
            return
        self.route()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    def route(self):  # overridden
        self.send_json(404, {"error": "not found"}, "404")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up (the agent killed, a timeout) is no
        # error of ours; anything else is printed.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def serve(handler_cls, description, extra_args=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("scenario", help="scenario file (JSON or YAML)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the port here when listening")
    ap.add_argument("--log", help="JSON-lines log of every request")
    ap.add_argument("--var", action="append", default=[],
                    metavar="NAME=VALUE", help="{{NAME}} in the scenario")
    ap.add_argument("--max-seconds", type=float, default=900,
                    help="stop by itself after this long (900)")
    ap.add_argument("-v", "--verbose", action="store_true")
    if extra_args:
        extra_args(ap)
    args = ap.parse_args()
    env = {}
    for v in args.var:
        name, eq, value = v.partition("=")
        if not eq:
            ap.error("--var wants NAME=VALUE, got %r" % v)
        env[name] = value
    scenario = load_scenario(args.scenario, env)

    httpd = Server(("127.0.0.1", args.port), handler_cls)
    httpd.verbose = args.verbose
    httpd.log = Log(args.log)
    httpd.script = Script(scenario)
    httpd.scenario = scenario
    httpd.args = args
    httpd.stopping = threading.Event()

    def stop(*_):
        httpd.stopping.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(args.max_seconds, stop)
    timer.daemon = True
    timer.start()

    port = httpd.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.stopping.set()
        httpd.server_close()
