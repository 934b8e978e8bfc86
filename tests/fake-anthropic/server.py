#!/usr/bin/env python3
"""A fake Anthropic Messages API on 127.0.0.1, just enough for Claude Code.

Every POST /v1/messages is answered, streamed (SSE) or not. A request
that offers the Bash tool gets a tool_use running $FAKE_TOOL_CMD; once a
tool_result comes back, the turn ends with the text FAKE-MODEL-DONE.
Writes its port to ./port; logs one JSON line per request, with the
tool results' text, to ./requests.log.
"""
import http.server
import json
import os

TOOL_CMD = os.environ.get("FAKE_TOOL_CMD", "echo hi")

def sse(w, ev, data):
    w.write(("event: %s\ndata: %s\n\n" % (ev, json.dumps(data))).encode())

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_HEAD(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n) or b"{}")
        results = []
        for m in req.get("messages", []):
            if isinstance(m.get("content"), list):
                for c in m["content"]:
                    if isinstance(c, dict) and c.get("type") == "tool_result":
                        results.append(json.dumps(c.get("content")))
        with open("requests.log", "a") as f:
            f.write(json.dumps({"path": self.path, "host": self.headers.get("Host"),
                                "nmsg": len(req.get("messages", [])),
                                "tool_results": results}) + "\n")
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            body = json.dumps({"input_tokens": 10}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body); return
        msgs = req.get("messages", [])
        last = msgs[-1] if msgs else {}
        content = last.get("content")
        has_result = isinstance(content, list) and any(
            isinstance(c, dict) and c.get("type") == "tool_result" for c in content)
        tools = [t.get("name") for t in req.get("tools", [])]
        if has_result:
            block = {"type": "text", "text": "FAKE-MODEL-DONE"}
            stop = "end_turn"
        elif "Bash" in tools:
            block = {"type": "tool_use", "id": "toolu_01", "name": "Bash",
                     "input": {"command": TOOL_CMD, "description": "probe"}}
            stop = "tool_use"
        else:
            block = {"type": "text", "text": "ok"}
            stop = "end_turn"
        model = req.get("model", "claude-x")
        msg = {"id": "msg_01", "type": "message", "role": "assistant", "model": model,
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 10, "output_tokens": 1}}
        if not req.get("stream"):
            msg["content"] = [block]; msg["stop_reason"] = stop
            body = json.dumps(msg).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body); return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        w = self.wfile
        sse(w, "message_start", {"type": "message_start", "message": msg})
        if block["type"] == "text":
            sse(w, "content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}})
            sse(w, "content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta", "text": block["text"]}})
        else:
            sse(w, "content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "tool_use", "id": block["id"],
                                                             "name": "Bash", "input": {}}})
            sse(w, "content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "input_json_delta",
                                                     "partial_json": json.dumps(block["input"])}})
        sse(w, "content_block_stop", {"type": "content_block_stop", "index": 0})
        sse(w, "message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": stop, "stop_sequence": None},
                                 "usage": {"output_tokens": 5}})
        sse(w, "message_stop", {"type": "message_stop"})
        w.flush()
        self.close_connection = True

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open("port.tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename("port.tmp", "port")
srv.serve_forever()
