"""``lintseq generate --executor ray`` without ``--ray-address``: a Ray instance of the command's own, whatever
cluster this machine last recorded (``ray start`` writes its address to ``<ray temp>/ray/ray_current_cluster``,
and a cluster that was killed leaves the record behind)."""

import importlib.util
import json
import shutil
import socket
import tempfile
from pathlib import Path

from hub_tools.datagen.engine import Engine
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source

_spec = importlib.util.spec_from_file_location("distributed_runs", Path(__file__).with_name("distributed_runs.py"))
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)


def test_a_record_of_a_dead_cluster_does_not_stop_a_run_of_its_own(humaneval_corpus, tmp_path):
    # ray.init() without an address joined the recorded cluster: with a dead one, the command retried it for
    # minutes (over five, here) before anything ran; with a live one, it sent the tasks to someone else's cluster.
    source = tmp_path / "programs.jsonl"
    source.write_text("".join(json.dumps({"instruction": f"Task {i}.", "response": program}) + "\n"
                              for i, program in enumerate(humaneval_corpus[:12])))
    reference = tmp_path / "single"
    Engine(Source(str(source)), reference, GenerationConfig(num_paths=1), workers=1, progress=False).run()

    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"
    # Short: Ray's socket paths under it must stay under 108 bytes.
    ray_temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    try:
        (Path(ray_temp) / "ray").mkdir()
        (Path(ray_temp) / "ray" / "ray_current_cluster").write_text(dead)
        environment = {**runs.environment(), "RAY_TMPDIR": ray_temp, "RAY_AUTH_MODE": "disabled"}
        environment.pop("RAY_ADDRESS", None)
        out = tmp_path / "ray"
        result = runs.generate(str(source), "--output-dir", str(out), "--num-paths", "1", "--executor", "ray",
                               "--tasks", "2", "--workers", "2", "--chunk-size", "4", env=environment, timeout=300)
        assert dead not in result.stderr
        assert runs.shard_bytes(out) == runs.shard_bytes(reference)
    finally:
        shutil.rmtree(ray_temp, ignore_errors=True)


def test_no_progress_keeps_rays_token_notice_of_its_own_instance_off_the_console(humaneval_corpus, tmp_path):
    # Ray 2.50+ turns token authentication on for an instance it starts when RAY_AUTH_MODE is unset, and logs a
    # warning saying so on every start: the only line --no-progress printed besides the source's.
    source = tmp_path / "programs.jsonl"
    source.write_text("".join(json.dumps({"instruction": f"Task {i}.", "response": program}) + "\n"
                              for i, program in enumerate(humaneval_corpus[:4])))
    ray_temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    try:
        # The token Ray makes goes under HOME: a folder of the test's own.
        environment = {**runs.environment(), "RAY_TMPDIR": ray_temp, "HOME": str(tmp_path / "home")}
        for name in ("RAY_ADDRESS", "RAY_AUTH_MODE"):
            environment.pop(name, None)
        out = tmp_path / "ray"
        result = runs.generate(str(source), "--output-dir", str(out), "--num-paths", "1", "--executor", "ray",
                               "--tasks", "2", "--workers", "2", env=environment, timeout=300)
        assert "Token authentication" not in result.stderr, result.stderr
        assert [line for line in result.stderr.splitlines() if line.strip()] == \
            [line for line in result.stderr.splitlines() if line.startswith("source: ")], result.stderr
        assert (tmp_path / "home" / ".ray" / "auth_token").exists()  # the protection itself stays on
    finally:
        shutil.rmtree(ray_temp, ignore_errors=True)
