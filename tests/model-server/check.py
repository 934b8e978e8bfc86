#!/usr/bin/env python3
"""Read what the model servers logged and what the agent CLIs printed,
one fact a line, for shell tests to grep.

    check.py answers LOG          "SEQ STATUS ANSWER" per request to the
                                  model API (POST /v1/messages,
                                  /v1/responses), in order
    check.py tool-results LOG     "ID NAME TEXT" per tool result the agent
                                  sent back (Anthropic tool_result blocks,
                                  OpenAI function_call_output and
                                  custom_tool_call_output), each once; TEXT
                                  is JSON-quoted
    check.py claude-result OUT    the final "result" message of Claude's
                                  stream-json as KEY=VALUE lines; exit 1
                                  when there is none
    check.py codex-events OUT     Codex's exec --json events, one a line:
                                  TYPE [ITEM TYPE] [details]
Python 3 standard library only.
"""

import json
import sys


def records(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            # A log that mixes stderr in (runner's output.log) has lines
            # of text between the JSON ones.
            if line.startswith("{"):
                yield json.loads(line)


def is_model_call(r):
    return r.get("method") == "POST" and r.get("path") in (
        "/v1/messages", "/v1/responses", "/responses")


def answers(log):
    for r in records(log):
        if is_model_call(r):
            print(r["seq"], r["status"], r["answer"])


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(text_of(c.get("text", c.get("content", "")))
                       if isinstance(c, dict) else str(c) for c in content)
    return json.dumps(content)


def tool_results(log):
    seen = set()
    for r in records(log):
        body = r.get("body")
        if not is_model_call(r) or not isinstance(body, dict):
            continue
        names = {}
        out = []
        for m in body.get("messages") or []:  # Anthropic
            for c in m.get("content") or [] if isinstance(
                    m.get("content"), list) else []:
                if c.get("type") == "tool_use":
                    names[c["id"]] = c["name"]
                elif c.get("type") == "tool_result":
                    out.append((c["tool_use_id"], text_of(c.get("content"))))
        inp = body.get("input") if isinstance(body.get("input"), list) else []
        for it in inp:  # OpenAI Responses
            t = it.get("type")
            if t in ("function_call", "custom_tool_call"):
                names[it["call_id"]] = it["name"]
            elif t in ("function_call_output", "custom_tool_call_output"):
                out.append((it["call_id"], text_of(it.get("output"))))
        for cid, text in out:
            if cid not in seen:
                seen.add(cid)
                print(cid, names.get(cid, "?"), json.dumps(text))


def claude_result(out):
    result = None
    for r in records(out):
        if r.get("type") == "result":
            result = r
    if result is None:
        print("no result message in %s" % out, file=sys.stderr)
        sys.exit(1)
    for k in ("subtype", "is_error", "num_turns", "session_id",
              "total_cost_usd", "api_error_status", "terminal_reason",
              "stop_reason", "result", "errors"):
        print("%s=%s" % (k, json.dumps(result.get(k))))
    for k, v in sorted((result.get("usage") or {}).items()):
        if isinstance(v, (int, float)):
            print("usage.%s=%s" % (k, v))


def codex_events(out):
    for r in records(out):
        t = r.get("type")
        item = r.get("item") or {}
        it = item.get("type")
        if it == "agent_message":
            print(t, it, json.dumps(item.get("text")))
        elif it == "command_execution":
            print(t, it, json.dumps(item.get("command")),
                  "exit_code=%s" % item.get("exit_code"),
                  "status=%s" % item.get("status"))
        elif it == "file_change":
            print(t, it, "status=%s" % item.get("status"),
                  " ".join("%s:%s" % (c.get("kind"), c.get("path"))
                           for c in item.get("changes") or []))
        elif it:
            print(t, it, json.dumps(item.get("message", "")))
        elif t == "turn.completed":
            print(t, " ".join("%s=%s" % kv for kv in sorted(
                (r.get("usage") or {}).items())))
        elif t in ("turn.failed",):
            print(t, json.dumps((r.get("error") or {}).get("message")))
        elif t == "error":
            print(t, json.dumps(r.get("message")))
        elif t == "thread.started":
            print(t, r.get("thread_id"))
        else:
            print(t)


def main():
    cmds = {"answers": answers, "tool-results": tool_results,
            "claude-result": claude_result, "codex-events": codex_events}
    if len(sys.argv) != 3 or sys.argv[1] not in cmds:
        sys.exit("usage: check.py %s FILE" % "|".join(cmds))
    cmds[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
