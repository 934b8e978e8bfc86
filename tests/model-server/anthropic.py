#!/usr/bin/env python3
"""A scripted stand-in for the Anthropic Messages API, on loopback, for
running the real Claude Code CLI against (ANTHROPIC_BASE_URL).

Python 3 standard library only. The scenario file, --var, the request
log and the faults are described in common.py.

Routes
    POST /v1/messages               stream: true -> SSE (message_start,
                                    content_block_start/_delta/_stop with
                                    text_delta and input_json_delta, ping,
                                    message_delta with stop_reason and
                                    usage, message_stop); else one JSON
                                    message
    POST /v1/messages/count_tokens  {"input_tokens": N} (a length estimate)
    GET  /v1/models, /v1/models/ID  the scenario's model
    anything else                   404 with an Anthropic error object
A turn may also say "fail_in_stream": {"type": "overloaded_error",
"message": ..., "times": N}: the stream starts (200, message_start) and
then sends an error event, the first N attempts (no "times": always).

A request to /v1/messages with no tools is a side request (the CLI asks
for a title or a summary with none): it gets "side_text" and does not
move the script on. Otherwise the turn asked for is the number of
assistant messages in the request.

Usage: anthropic.py SCENARIO --port-file FILE --log FILE [--var N=V]...
"""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def estimate_tokens(obj):
    return max(1, len(json.dumps(obj)) // 4)


def chunks(s, n):
    return [s[i:i + n] for i in range(0, len(s), n)] or [""]


class Anthropic(common.Handler):
    def route(self):
        path = self.path.split("?")[0]
        if self.command == "POST" and path == "/v1/messages":
            return self.messages()
        if self.command == "POST" and path == "/v1/messages/count_tokens":
            return self.send_json(
                200, {"input_tokens": estimate_tokens(self.body)},
                "count_tokens")
        if self.command == "GET" and path.startswith("/v1/models"):
            return self.models(path)
        self.error(404, "not_found_error", "Not found: %s %s"
                   % (self.command, path), "404")

    def error(self, status, etype, message, answer, headers=None):
        h = {"request-id": "req_" + uuid.uuid4().hex[:24]}
        h.update(headers or {})
        self.send_json(status, {
            "type": "error",
            "error": {"type": etype, "message": message},
            "request_id": h["request-id"],
        }, answer, h)

    def model_name(self):
        body = self.body if isinstance(self.body, dict) else {}
        return self.server.scenario.get("model") or body.get("model") \
            or "claude-sonnet-4-5-20250929"

    def models(self, path):
        m = {"type": "model", "id": self.model_name(),
             "display_name": "Scripted", "created_at": "2025-01-01T00:00:00Z"}
        if path.rstrip("/") == "/v1/models":
            return self.send_json(200, {"data": [m], "has_more": False,
                                        "first_id": m["id"],
                                        "last_id": m["id"]}, "models")
        return self.send_json(200, m, "model")

    def messages(self):
        body = self.body
        if not isinstance(body, dict) or not isinstance(
                body.get("messages"), list):
            return self.error(400, "invalid_request_error",
                              "messages: field required", "bad request")
        scen = self.server.scenario
        if not body.get("tools"):
            turn = {"text": scen.get("side_text", "Scripted session")}
            answer, attempt = "side", 1
        else:
            index = sum(1 for m in body["messages"]
                        if m.get("role") == "assistant")
            turn, attempt = self.server.script.turn(index)
            answer = "turn %d" % index
            err = turn.get("error")
            if err and attempt <= err.get("times", 1 << 30):
                self.before_answer(turn)
                status = err.get("status", 500)
                return self.error(
                    status, err.get("type", ERROR_TYPES.get(status,
                                                            "api_error")),
                    err.get("message", "scripted error"),
                    "%s error %d" % (answer, status), err.get("headers"))
            if common.hangs(turn, attempt, "headers"):
                return self.hang(answer + " hang")
        self.before_answer(turn)
        stall = common.hangs(turn, attempt, "stream")

        content = []
        if turn.get("text_before"):
            content.append({"type": "text", "text": turn["text_before"]})
        if "tool" in turn:
            content.append({"type": "tool_use",
                            "id": "toolu_" + uuid.uuid4().hex[:24],
                            "name": turn["tool"],
                            "input": turn.get("input", {})})
            stop = "tool_use"
        else:
            content.append({"type": "text", "text": turn.get("text", "")})
            stop = "end_turn"
        stop = turn.get("stop_reason", stop)
        usage = {"input_tokens": estimate_tokens(body["messages"]),
                 "output_tokens": estimate_tokens(content),
                 "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0}
        usage.update(scen.get("usage", {}))
        usage.update(turn.get("usage", {}))
        msg = {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message",
               "role": "assistant", "model": self.model_name(),
               "content": content, "stop_reason": stop,
               "stop_sequence": None, "usage": usage}
        rid = {"request-id": "req_" + uuid.uuid4().hex[:24]}
        if not body.get("stream"):
            # "hang": "stream" does not apply: the CLI falls back to a
            # request without streaming after a stalled stream.
            return self.send_json(200, msg, answer + " (not streamed)", rid)

        self.start_sse(rid)
        start = dict(msg, content=[], stop_reason=None,
                     usage=dict(usage, output_tokens=1))
        self.sse("message_start", {"type": "message_start", "message": start})
        self.sse("ping", {"type": "ping"})
        fail = turn.get("fail_in_stream")
        if fail and attempt <= fail.get("times", 1 << 30):
            self.sse("error", {"type": "error", "error": {
                "type": fail.get("type", "overloaded_error"),
                "message": fail.get("message", "Overloaded")}})
            return self.end_sse(answer + " failed in stream")
        for i, block in enumerate(content):
            if block["type"] == "text":
                self.sse("content_block_start", {
                    "type": "content_block_start", "index": i,
                    "content_block": {"type": "text", "text": ""}})
                for piece in chunks(block["text"], 16):
                    self.sse("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "text_delta", "text": piece}})
            else:
                self.sse("content_block_start", {
                    "type": "content_block_start", "index": i,
                    "content_block": dict(block, input={})})
                if stall:
                    return self.hang(answer + " hang mid-stream")
                for piece in chunks(json.dumps(block["input"]), 24):
                    self.sse("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta",
                                  "partial_json": piece}})
            if stall:
                return self.hang(answer + " hang mid-stream")
            self.sse("content_block_stop",
                     {"type": "content_block_stop", "index": i})
        self.sse("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": usage})
        self.sse("message_stop", {"type": "message_stop"})
        self.end_sse(answer)


if __name__ == "__main__":
    common.serve(Anthropic, "Scripted Anthropic Messages API on loopback")
