#!/usr/bin/env python3
"""A scripted stand-in for the OpenAI Responses API, on loopback, for
running the real Codex CLI against (a model_providers entry in
$CODEX_HOME/config.toml with base_url = http://127.0.0.1:PORT/v1).

Python 3 standard library only. The scenario file, --var, the request
log and the faults are described in common.py.

Routes
    POST /v1/responses     stream: true -> SSE (response.created,
                           response.in_progress, response.output_item.added,
                           response.content_part.added,
                           response.output_text.delta/.done,
                           response.function_call_arguments.delta/.done,
                           response.custom_tool_call_input.delta/.done,
                           response.output_item.done, response.completed
                           with usage); else one JSON response object
    GET  /v1/models        the scenario's model (both the OpenAI list
                           shape and Codex's {"models": [...]})
    anything else          404 with an OpenAI error object (so the
                           WebSocket upgrade GET /v1/responses that Codex
                           tries first with its built-in "openai"
                           provider fails, and it falls back to HTTP)
A request with no tools (neither in "tools" nor in an input item) is a
side request: it gets "side_text" and does not move the script on.
Otherwise the turn asked for is the number of model responses in its
input: runs of model output items (assistant messages, reasoning,
function/custom tool calls) between tool outputs and user messages.

A turn may also say "fail_in_stream": {"code": ..., "message": ...,
"times": N}: the stream starts (200, response.created) and then sends
response.failed with that error, before any output item, the first N
attempts (no "times": always).

Usage: openai.py SCENARIO --port-file FILE --log FILE [--var N=V]...
"""

import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

MODEL_OUTPUTS = ("function_call", "custom_tool_call", "local_shell_call")

ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "server_is_overloaded"),
}


def is_model_output(it):
    return isinstance(it, dict) and (
        it.get("type") in MODEL_OUTPUTS or it.get("type") == "reasoning" or (
            it.get("type", "message") == "message"
            and it.get("role") == "assistant"))


def count_model_answers(items):
    """How many model responses the input holds: runs of consecutive
    model output items (one response may hold a message and a call)."""
    n, prev = 0, False
    for it in items:
        cur = is_model_output(it)
        if cur and not prev:
            n += 1
        prev = cur
    return n


def estimate_tokens(obj):
    return max(1, len(json.dumps(obj)) // 4)


def chunks(s, n):
    return [s[i:i + n] for i in range(0, len(s), n)] or [""]


def new_id(prefix):
    return prefix + "_" + uuid.uuid4().hex[:24]


class OpenAI(common.Handler):
    def route(self):
        path = self.path.split("?")[0]
        if self.command == "POST" and path in ("/v1/responses",
                                               "/responses"):
            return self.create_response()
        if self.command == "GET" and path.rstrip("/") in ("/v1/models",
                                                          "/models"):
            m = self.model_name()
            return self.send_json(200, {
                "object": "list",
                "data": [{"id": m, "object": "model", "created": 0,
                          "owned_by": "scripted"}],
                "models": []}, "models")
        self.error(404, "invalid_request_error", "Invalid URL (%s %s)"
                   % (self.command, path), "404")

    def error(self, status, etype, message, answer, code=None, headers=None):
        self.send_json(status, {"error": {"message": message, "type": etype,
                                          "param": None, "code": code}},
                       answer, headers)

    def model_name(self):
        body = self.body if isinstance(self.body, dict) else {}
        return self.server.scenario.get("model") or body.get("model") \
            or "gpt-5-codex"

    def create_response(self):
        body = self.body
        if not isinstance(body, dict) or "input" not in body:
            return self.error(400, "invalid_request_error",
                              "Missing required parameter: 'input'.",
                              "bad request")
        scen = self.server.scenario
        items = body["input"] if isinstance(body["input"], list) else []
        # Tools come in "tools", or (code mode, the newest models) in a
        # developer message of the input.
        if not body.get("tools") and not any(
                isinstance(it, dict) and it.get("tools") for it in items):
            turn = {"text": scen.get("side_text", "Scripted session")}
            answer, attempt = "side", 1
        else:
            index = count_model_answers(items)
            turn, attempt = self.server.script.turn(index)
            answer = "turn %d" % index
            err = turn.get("error")
            if err and attempt <= err.get("times", 1 << 30):
                self.before_answer(turn)
                status = err.get("status", 500)
                etype, code = ERROR_TYPES.get(status, ("server_error", None))
                return self.error(status, err.get("type", etype),
                                  err.get("message", "scripted error"),
                                  "%s error %d" % (answer, status),
                                  err.get("code", code), err.get("headers"))
            if common.hangs(turn, attempt, "headers"):
                return self.hang(answer + " hang")
        self.before_answer(turn)

        output = []
        if turn.get("text_before"):
            output.append(self.message_item(turn["text_before"]))
        if "tool" in turn and "custom" in turn:
            output.append({"type": "custom_tool_call", "id": new_id("ctc"),
                           "status": "completed", "call_id": new_id("call"),
                           "name": turn["tool"], "input": turn["custom"]})
        elif "tool" in turn:
            args = turn.get("input", {})
            output.append({"type": "function_call", "id": new_id("fc"),
                           "status": "completed", "call_id": new_id("call"),
                           "name": turn["tool"],
                           "arguments": args if isinstance(args, str)
                           else json.dumps(args)})
        else:
            output.append(self.message_item(turn.get("text", "")))
        inp = estimate_tokens(items)
        out = estimate_tokens(output)
        usage = {"input_tokens": inp,
                 "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": out,
                 "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": inp + out}
        usage.update(scen.get("usage", {}))
        usage.update(turn.get("usage", {}))
        resp = {"id": new_id("resp"), "object": "response",
                "created_at": int(time.time()), "status": "completed",
                "model": self.model_name(), "output": output,
                "usage": usage, "error": None, "incomplete_details": None}
        rid = {"x-request-id": new_id("req")}
        if not body.get("stream"):
            return self.send_json(200, resp, answer, rid)

        self.seqno = 0
        self.start_sse(rid)
        pending = dict(resp, status="in_progress", output=[], usage=None)
        self.event("response.created", response=pending)
        self.event("response.in_progress", response=pending)
        fail = turn.get("fail_in_stream")
        if fail and attempt <= fail.get("times", 1 << 30):
            self.event("response.failed", response=dict(
                resp, status="failed", output=[], usage=None, error={
                    "code": fail.get("code", "server_error"),
                    "message": fail.get("message", "scripted failure")}))
            return self.end_sse(answer + " failed in stream")
        stall = common.hangs(turn, attempt, "stream")
        for i, item in enumerate(output):
            last = i == len(output) - 1
            self.stream_item(i, item, stall and last)
            if stall and last:
                return self.hang(answer + " hang mid-stream")
        self.event("response.completed", response=resp)
        self.end_sse(answer)

    def message_item(self, text):
        return {"type": "message", "id": new_id("msg"), "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text,
                             "annotations": []}]}

    def event(self, etype, **fields):
        data = {"type": etype, "sequence_number": self.seqno}
        data.update(fields)
        self.seqno += 1
        self.sse(etype, data)

    def stream_item(self, i, item, unfinished=False):
        t = item["type"]
        if t == "message":
            text = item["content"][0]["text"]
            self.event("response.output_item.added", output_index=i,
                       item=dict(item, status="in_progress", content=[]))
            part = {"type": "output_text", "text": "", "annotations": []}
            self.event("response.content_part.added", item_id=item["id"],
                       output_index=i, content_index=0, part=part)
            for piece in chunks(text, 16):
                self.event("response.output_text.delta", item_id=item["id"],
                           output_index=i, content_index=0, delta=piece)
            self.event("response.output_text.done", item_id=item["id"],
                       output_index=i, content_index=0, text=text)
            self.event("response.content_part.done", item_id=item["id"],
                       output_index=i, content_index=0,
                       part=dict(part, text=text))
        elif t == "function_call":
            self.event("response.output_item.added", output_index=i,
                       item=dict(item, status="in_progress", arguments=""))
            for piece in chunks(item["arguments"], 24):
                self.event("response.function_call_arguments.delta",
                           item_id=item["id"], output_index=i, delta=piece)
            self.event("response.function_call_arguments.done",
                       item_id=item["id"], output_index=i,
                       arguments=item["arguments"])
        else:  # custom_tool_call
            self.event("response.output_item.added", output_index=i,
                       item=dict(item, status="in_progress", input=""))
            for piece in chunks(item["input"], 24):
                self.event("response.custom_tool_call_input.delta",
                           item_id=item["id"], output_index=i, delta=piece)
            self.event("response.custom_tool_call_input.done",
                       item_id=item["id"], output_index=i,
                       input=item["input"])
        if not unfinished:
            self.event("response.output_item.done", output_index=i,
                       item=item)


if __name__ == "__main__":
    common.serve(OpenAI, "Scripted OpenAI Responses API on loopback")
