"""``--executor ray``: which Ray cluster the tasks run on, and the run there.

Without ``--ray-address`` (nor ``RAY_ADDRESS``) the command starts a Ray instance of its own and stops it at
the end. It asks Ray for one explicitly (``address="local"``): given no address, ``ray.init`` joins the
cluster a ``ray start`` on this machine last recorded (``/tmp/ray/ray_current_cluster``), so a user's own
cluster would have received the tasks, and a record left by a cluster that was killed made every later run
wait on that dead address for minutes on end.
"""

from __future__ import annotations

import logging
import os
import socket

from hub_tools.datagen.distributed.console_logs import warnings_only
from hub_tools.errors import UserError

# How long the cluster's address may take to accept a connection before the run is refused.
RAY_CONNECT_SECONDS = 10.0
# Ray's notice, on every start of an instance of its own, that it turned token authentication on (its default
# since 2.50): about an instance this command starts and stops itself, with nothing for the reader to do.
_AUTH_NOTICE_LOGGER = "ray._private.authentication.authentication_token_setup"
_AUTH_NOTICE = "Token authentication is enabled for this Ray cluster"


class _WithoutAuthNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_AUTH_NOTICE)


def ray_address_named(option: str | None) -> tuple[str, str] | None:
    """The cluster address ``ray.init`` will join and how the user gave it, or ``None`` for a Ray of our own."""
    if option:
        return option, f"--ray-address {option}"
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], f"RAY_ADDRESS={os.environ['RAY_ADDRESS']}"
    return None


def check_ray_cluster_answers(address: str, named: str) -> None:
    """Refuse at once a Ray address where nothing accepts connections.

    ``ray.init`` retries an unreachable cluster for minutes, printing only its own warnings. Here one TCP
    connection to the address (``auto`` is resolved as Ray resolves it) decides within seconds. An address
    this cannot read is left to Ray.
    """
    if address == "local":
        return  # a Ray instance of this command's own
    target = address.removeprefix("ray://")
    if target == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address

            target = canonicalize_bootstrap_address("auto")
        except Exception:  # a Ray version without it, or no cluster recorded here: Ray says which
            return
        if not target:
            return
    host, colon, port = target.rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_SECONDS).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise UserError(f"{named}: nothing accepts connections at {host}:{port} ({reason}); "
                        "start the cluster (`ray start --head`) or give the address `ray status` prints") from None


def run_on_ray(pipeline: list, *, tasks: int, workers: int, logging_dir: str, cpus_per_task: int,
               mem_per_cpu_gb: float, address: str | None, console_logs: bool = True) -> None:
    """Run the pipeline's tasks on the Ray cluster at ``address`` (``None``: a Ray instance of this command's
    own, started here and stopped at the end), or on the one this process already joined.

    ``console_logs=False`` (``--no-progress``) keeps Ray's and datatrove's INFO lines off the console: only
    warnings and errors are printed (not Ray's notice that an instance of this command's own uses token
    authentication); the tasks' own lines are in their log files either way.
    """
    import ray
    from datatrove.executor import RayPipelineExecutor

    started_here = not ray.is_initialized()
    if started_here:
        where = ray_address_named(address)
        if where:
            check_ray_cluster_answers(*where)
        # Local workers import this package the way this process does.
        environment = {"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}}
        quiet = _WithoutAuthNotice()
        if not where and not console_logs:
            logging.getLogger(_AUTH_NOTICE_LOGGER).addFilter(quiet)
        try:
            ray.init(address=where[0] if where else "local", runtime_env=environment, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.INFO if console_logs else logging.WARNING)
        except ConnectionError as error:
            named = where[1] if where else "ray.init()"
            raise UserError(f"{named}: cannot join the Ray cluster ({error})") from None
        finally:
            logging.getLogger(_AUTH_NOTICE_LOGGER).removeFilter(quiet)
    # On an instance of this command's own the logging folder is on the only machine there is: datatrove's
    # warning that it must be shared between machines does not apply.
    own_instance = started_here and not where

    def shown(record: dict) -> bool:
        return not (own_instance and record["message"].startswith("Logging directory points to a local"))

    try:
        with warnings_only(not console_logs, shown):
            RayPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir,
                                cpus_per_task=cpus_per_task, mem_per_cpu_gb=mem_per_cpu_gb).run()
    finally:
        if started_here:
            ray.shutdown()
