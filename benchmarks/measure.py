"""Running a whole command as a benchmark: wall time, CPU time and peak memory of its process tree.

The memory of the command and of every process it starts (workers, Ray's daemons) is sampled every 50 ms;
the CPU time is that of the command and of the processes it waited for, which is what the work cost
whatever the load of a shared machine.
"""

from __future__ import annotations

import resource
import subprocess
import threading
import time

import psutil


def run_measured(command: list[str], env: dict | None = None) -> dict:
    """Run a command; return its wall time, CPU time, and the peak RSS (MiB) of its process tree and largest process."""
    peak_tree = peak_process = 0
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(process.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, peak_process
        while not done.is_set():
            try:
                sizes = [p.memory_info().rss for p in [root, *root.children(recursive=True)] if p.is_running()]
                peak_tree, peak_process = max(peak_tree, sum(sizes)), max(peak_process, *sizes)
            except (psutil.Error, ValueError):
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr.decode()[-3000:]}")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU time of the command and of the processes it waited for: what the work cost, whatever the load of
    # a shared machine (Ray's daemons are counted when they exit with the run, which they do for a local Ray).
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_tree_mib": peak_tree / 2**20,
            "peak_process_mib": peak_process / 2**20}
