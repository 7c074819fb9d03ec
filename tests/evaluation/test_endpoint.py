"""``lintseq eval --endpoint`` / ``lintseq sample --endpoint`` against a real ``transformers serve``.

The server is started by the tests on a copy of the tiny model (``write_serving_copy``: ``transformers
serve`` decodes completions with ``skip_special_tokens=True``, which would drop ``<|diff|>``). Transient
failures and API keys are exercised through a small HTTP proxy in front of it that answers 503 twice and
checks the bearer token.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from hub_tools.inference.server import write_serving_copy

pytestmark = pytest.mark.skipif(shutil.which("transformers", path=str(Path(sys.executable).parent)) is None,
                                reason="transformers serve needs the serving extra (installed by .ci/run)")

SECRET = "sk-test-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lintseq(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "hub_tools.cli", *arguments], capture_output=True, text=True,
                          env=environment, timeout=600)


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    """(base URL, served model name) of ``transformers serve`` running the tiny model on CPU."""
    model = write_serving_copy(tiny_model, tmp_path_factory.mktemp("serving") / "tiny")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("serve-log") / "serve.log", "w+")  # noqa: SIM115 (closed below)
    command = [str(Path(sys.executable).with_name("transformers")), "serve", str(model), "--port", str(port),
               "--host", "127.0.0.1", "--device", "cpu"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"transformers serve did not start:\n{log.read()[-3000:]}")
            time.sleep(1)
        yield url, str(model)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


class _Proxy(http.server.ThreadingHTTPServer):
    """Forwards to the real server; checks the bearer token; answers 503 to the first ``failures`` posts."""

    def __init__(self, backend: str, failures: int):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.backend, self.failures, self.posts, self.authorizations = backend, failures, 0, []
        self.lock = threading.Lock()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *arguments):
        pass

    def _answer(self, status: int, body: bytes, headers: dict | None = None):
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, method: str, body: bytes | None):
        server = self.server
        with server.lock:
            server.authorizations.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != f"Bearer {SECRET}":
            return self._answer(401, b'{"error": {"message": "Incorrect API key provided"}}')
        if method == "POST":
            with server.lock:
                server.posts += 1
                fail = server.posts <= server.failures
            if fail:
                return self._answer(503, b'{"error": "warming up"}', {"Retry-After": "0"})
        request = urllib.request.Request(server.backend + self.path, data=body, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return self._answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return self._answer(error.code, error.read())

    def do_GET(self):
        self._forward("GET", None)

    def do_POST(self):
        self._forward("POST", self.rfile.read(int(self.headers.get("Content-Length", 0))))


@pytest.fixture
def proxy(server):
    proxy = _Proxy(server[0], failures=2)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_eval_through_transformers_serve(server, tmp_path):
    url, model = server
    output = tmp_path / "eval"
    result = _lintseq("eval", "--endpoint", url + "/v1", "--model", model, "--limit", "2", "--n", "2", "--k", "1,2",
                      "--max-new-tokens", "24", "--temperature", "0.8", "--output-dir", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    # transformers serve refuses vLLM's skip_special_tokens field: asked again without it, and said so once.
    assert result.stderr.count("the server refused skip_special_tokens") == 1
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["endpoint"] == url + "/v1" and metrics["model"] == model and metrics["edit_sequence"] is True
    assert (metrics["num_problems"], metrics["num_samples_per_problem"], metrics["max_new_tokens"]) == (2, 2, 24)
    samples = [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]
    assert [(s["task_id"], s["sample_index"]) for s in samples] == [
        ("HumanEval/0", 0), ("HumanEval/0", 1), ("HumanEval/1", 0), ("HumanEval/1", 1)]
    assert all(sample["prompt"].endswith("\n<|diff|>") for sample in samples)
    # The tiny random model writes <|diff|> tokens: the serving copy keeps them in the text.
    assert any("<|diff|>" in sample["completion"] for sample in samples)
    assert "sampling: 4/4 samples" in result.stderr


def test_sample_through_the_server_retries_transient_errors_and_never_prints_the_key(proxy, server, tmp_path):
    result = _lintseq("sample", "--endpoint", f"http://127.0.0.1:{proxy.server_address[1]}", "--model", server[1],
                      "--instruction", "Reverse a string.", "--n", "2", "--max-new-tokens", "8", "--json",
                      env={"OPENAI_API_KEY": SECRET})
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["sample"] for record in records] == [0, 1]
    assert proxy.posts >= 4  # two 503s, retried, then the two samples (and the retry without extensions)
    assert set(proxy.authorizations) == {f"Bearer {SECRET}"}
    assert SECRET not in result.stdout + result.stderr

    wrong = _lintseq("sample", "--endpoint", f"http://127.0.0.1:{proxy.server_address[1]}", "--model", server[1],
                     "--instruction", "x", "--max-new-tokens", "4", "--api-key-env", "MY_KEY",
                     env={"MY_KEY": "wrong-" + SECRET})
    assert wrong.returncode == 2
    error = wrong.stderr.strip().splitlines()
    assert len(error) == 1 and "HTTP 401" in error[0] and "$MY_KEY" in error[0], error
    assert SECRET not in wrong.stdout + wrong.stderr


def test_server_errors_are_one_line(server, tmp_path):
    url, model = server
    cases = [
        (["--endpoint", url, "--model", "someone/else"], "not 'someone/else'"),
        (["--endpoint", f"http://127.0.0.1:{_free_port()}", "--model", model, "--max-retries", "1"],
         "cannot reach the completions server"),
        (["--endpoint", "localhost:8000", "--model", model], "is not an http:// or https:// URL"),
    ]
    for arguments, message in cases:
        result = _lintseq("eval", *arguments, "--limit", "1", "--n", "1", "--k", "1", "--max-new-tokens", "4",
                          "--output-dir", str(tmp_path / "out"))
        assert result.returncode == 2, result.stderr[-2000:]
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("lintseq eval: error: ") and message in lines[-1], lines
        assert not any("Traceback" in line for line in lines)


def test_ctrl_c_ends_a_run_stuck_on_a_silent_server_at_once(tiny_model, tmp_path):
    """A server that accepts connections and never answers: Ctrl-C stops lintseq eval within seconds (the
    requests in flight are not waited for), with the one-line 'interrupted' message."""
    import signal

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted = []
    threading.Thread(target=lambda: [accepted.append(listener.accept()) for _ in range(64)], daemon=True).start()
    # Ctrl-C in a terminal: the command gets Python's usual KeyboardInterrupt, whatever this test runs under
    # (a job started in the background by a non-interactive shell ignores SIGINT, and so would the child).
    script = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "from hub_tools.cli import main; sys.exit(main())")
    process = subprocess.Popen(
        [sys.executable, "-c", script, "eval", "--endpoint", f"http://127.0.0.1:{listener.getsockname()[1]}/v1",
         "--model", str(tiny_model), "--limit", "3", "--n", "2", "--max-new-tokens", "8",
         "--output-dir", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 120
    while len(accepted) < 2 and time.monotonic() < deadline:  # the run is waiting on the server
        time.sleep(0.2)
    assert len(accepted) >= 2
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < 20
    assert process.returncode == 130 and stderr.strip().splitlines()[-1].startswith("lintseq eval: interrupted; with --model, the samples drawn so far are kept")
    assert (tmp_path / "out" / "generations.jsonl").is_file()  # the journal is there to --resume from
    listener.close()
