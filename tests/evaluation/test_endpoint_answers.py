"""Answers a completions server should not give: each is one clear error, never a traceback, a hang or a leak.

A real HTTP server on a local port answers every request with the body a test gives it.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from hub_tools.errors import UserError
from hub_tools.inference.server import MAX_RETRY_AFTER, CompletionsClient, EndpointConfig

SECRET = "sk-test-" + "0123456789abcdef" * 4


class _Server(http.server.ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status, self.body, self.headers, self.posts = 200, b"{}", {}, 0
        # With a context: a prompt counts a token a word, and a request past the context is refused as vLLM does.
        self.context, self.asked = None, []


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *arguments):
        pass

    def _answer(self):
        server = self.server
        self.send_response(server.status)
        for name, value in {"Content-Type": "application/json", **server.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    def do_GET(self):
        self._answer()

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        server = self.server
        server.posts += 1
        if server.context is None:
            return self._answer()
        prompt_tokens = len(request["prompt"].split())
        server.asked.append(request["max_tokens"])
        if prompt_tokens + request["max_tokens"] > server.context:
            message = (f"'max_tokens' or 'max_completion_tokens' is too large: {request['max_tokens']}. This model's "
                       f"maximum context length is {server.context} tokens and your request has {prompt_tokens} "
                       f"input tokens ({request['max_tokens']} > {server.context} - {prompt_tokens}). None")
            body = json.dumps({"object": "error", "message": message, "type": "BadRequestError", "code": 400})
            status = 400
        else:
            body, status = json.dumps({"choices": [{"text": "x " * request["max_tokens"]}]}), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def server():
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server, **options) -> CompletionsClient:
    config = EndpointConfig(f"http://127.0.0.1:{server.server_address[1]}/v1", "me/model", **options)
    return CompletionsClient(config)


def _complete(client: CompletionsClient):
    return client.complete("def f():", max_tokens=8, temperature=0, top_p=1, seed=0)


def test_a_well_formed_answer_is_read(server):
    server.body = json.dumps({"choices": [{"text": "\n    return 1", "finish_reason": "stop"}],
                              "usage": {"completion_tokens": 5}}).encode()
    assert _complete(_client(server)) == ("\n    return 1", "stop", None, 5)


@pytest.mark.parametrize("body, message", [
    (b"\xff\xfe not utf-8", "not JSON"),
    (b"<html>502 Bad Gateway</html>", "not JSON (Expecting value)"),
    (b'{"choices": [{"text": "x"}], "n": ' + b"9" * 5000 + b"}", "not JSON (Exceeds the limit (4300 digits)"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    (b'{"choices": [["text"]]}', "without a text in choices[0].text"),
    (b'{"choices": [{"text": 5}]}', "without a text in choices[0].text"),
    (b'{"choices": []}', "without a text in choices[0].text"),
    (b'["choices"]', "without a text in choices[0].text"),
], ids=["not-utf8", "html", "long-number", "deep", "choice-list", "text-number", "no-choice", "a-list"])
def test_an_answer_that_is_not_a_completion_is_one_error(server, body, message):
    server.body = body
    with pytest.raises(UserError) as raised:
        _complete(_client(server))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_odd_usage_and_reasons_do_not_stop_a_run(server):
    server.body = json.dumps({"choices": [{"text": None, "finish_reason": ["length"]}],
                              "usage": {"completion_tokens": "7"}}).encode()
    assert _complete(_client(server)) == ("", ["length"], None, 0)
    server.body = json.dumps({"choices": [{"text": "x"}], "usage": [3]}).encode()
    assert _complete(_client(server)) == ("x", None, None, 0)


def test_the_key_is_cut_out_of_a_message_even_across_the_cut(server, monkeypatch):
    # The server echoes the key where the message is cut to 300 characters: no part of it may show.
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server.status, server.body = 400, ("x" * 290 + SECRET).encode()
    with pytest.raises(UserError) as raised:
        _complete(_client(server))
    shown = str(raised.value)
    assert "HTTP 400" in shown and SECRET[:8] not in shown and "***" in shown


def test_a_retry_after_of_days_waits_a_minute_at_most(server, monkeypatch):
    server.status, server.headers = 503, {"Retry-After": "999999"}
    waits = []
    # This thread's sleeps only: another test's linter may have left its watchdog thread in this process, which
    # sleeps a quarter second at a time (21,061 extra waits once failed this test).
    this_thread, sleep = threading.current_thread(), time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: waits.append(seconds) if threading.current_thread() is this_thread
                        else sleep(seconds))
    with pytest.raises(UserError, match="HTTP 503"):
        _complete(_client(server, max_retries=2))
    assert waits == [MAX_RETRY_AFTER, MAX_RETRY_AFTER] and server.posts == 3


def test_the_command_line_says_it_in_one_line(server, tmp_path):
    server.body = b'{"choices": [{"text": 5}]}'
    result = subprocess.run(
        [sys.executable, "-m", "hub_tools.cli", "sample", "--endpoint", f"http://127.0.0.1:{server.server_address[1]}",
         "--model", "me/model", "--instruction", "Reverse a string.", "--max-new-tokens", "4"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("lintseq sample: error: ") and "choices[0].text" in lines[-1], lines
    assert "Traceback" not in result.stderr


def test_a_request_past_the_servers_context_is_asked_again_with_the_room_left(server):
    # vLLM refuses prompt + max_tokens past its context (HTTP 400) where a local model stops there.
    server.context = 100
    client = _client(server)
    text, *_ = client.complete("one two three " * 10, max_tokens=90, temperature=0, top_p=1, seed=0)
    assert server.asked == [90, 70] and text == "x " * 70
    text, finish, _, _ = client.complete("word " * 120, max_tokens=90, temperature=0, top_p=1, seed=0)
    assert (text, finish) == ("", "length") and server.asked[2:] == [90]
    assert (client.cut_by_context, client.filled_context) == (2, 1)


def test_a_long_prompt_through_the_command_line_is_noted_not_fatal(server, tmp_path):
    server.context = 40
    result = subprocess.run(
        [sys.executable, "-m", "hub_tools.cli", "sample", "--endpoint", f"http://127.0.0.1:{server.server_address[1]}",
         "--model", "me/model", "--instruction", "Reverse a string " * 12, "--instruction", "Add.", "--n", "1",
         "--max-new-tokens", "30", "--json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the server's context cut 1 completion(s) short" in result.stderr
    assert len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize("said, room", [
    ("This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (600 in the messages, "
     "1500 in the completion). Please reduce the length of the messages or completion.", 1448),
    ("This model's maximum context length is 1536 tokens. However, your request has 4176 input tokens.", -2640),
    ("Requested token count exceeds the model's maximum context length of 4096 tokens. You requested a total of "
     "5000 tokens: 1000 tokens from the input messages and 4000 tokens for the completion.", 3096),
    ("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 1000 `inputs` tokens and "
     "4000 `max_new_tokens`", 3096),
    ("temperature must be non-negative", None),
])
def test_the_room_left_is_read_from_the_servers_own_words(said, room):
    from hub_tools.inference.server import _HTTPFailure, _room_left

    assert _room_left(_HTTPFailure(400, said[:300], said)) == room
    assert _room_left(_HTTPFailure(500, said[:300], said)) is None
