"""A one-node Slurm cluster in a temporary folder, for the tests of ``--executor slurm`` (Debian's slurm-wlm
and munge, which .ci/run installs; the daemons need root). A test module takes the fixture with
``slurm = slurm_cluster.slurm``."""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("distributed_runs", Path(__file__).with_name("distributed_runs.py"))
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> dict:
    """A one-node cluster in a temporary folder; yields the environment its commands need."""
    missing = [name for name in DAEMONS if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()]
    if missing or os.geteuid() != 0:
        pytest.skip(f"a Slurm cluster needs root and slurm-wlm + munge ({', '.join(missing) or 'not root'})")
    folder = tmp_path_factory.mktemp("slurm")
    for name in ("munge", "state", "spool", "log"):
        (folder / name).mkdir()
    (folder / "munge").chmod(0o700)
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    socket_path = folder / "munge" / "socket"
    host = socket.gethostname().split(".")[0]
    (folder / "slurm.conf").write_text(f"""\
ClusterName=lintseqtest
SlurmctldHost={host}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={socket_path}
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
NodeName={host} CPUs={os.cpu_count()} RealMemory=4096 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
""")
    environment = {**runs.environment(), "SLURM_CONF": str(folder / "slurm.conf")}
    daemons = [
        subprocess.Popen(["munged", "--foreground", "--force", f"--key-file={key}", f"--socket={socket_path}",
                          f"--pid-file={folder}/munge/pid", f"--log-file={folder}/munge/log",
                          f"--seed-file={folder}/munge/seed"]),
    ]
    deadline = time.monotonic() + 30
    while not socket_path.exists():
        assert time.monotonic() < deadline, "munged did not start"
        time.sleep(0.1)
    daemons.append(subprocess.Popen(["slurmctld", "-D", "-i"], env=environment))
    daemons.append(subprocess.Popen(["slurmd", "-D"], env=environment))
    try:
        deadline = time.monotonic() + 60
        while "idle" not in subprocess.run(["sinfo", "--noheader", "--format=%T"], env=environment,
                                           capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, (folder / "log" / "slurmctld.log").read_text()[-2000:]
            time.sleep(0.5)
        yield environment
    finally:
        for daemon in reversed(daemons):
            daemon.send_signal(signal.SIGTERM)
        for daemon in reversed(daemons):
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
