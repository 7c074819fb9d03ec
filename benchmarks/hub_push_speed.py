"""Push speed: ``lintseq push dataset`` against ``HfApi.upload_folder`` on the same folder, in one run.

Both push to a local Hub-protocol server (``hub_tools.hub.testing_server``), first into an empty
repository, then again unchanged (where ``push_dataset`` compares hashes before sending anything), then
after one shard changed. The ratios say what the planning and comparison cost on top of the client.

    .venv/bin/python benchmarks/hub_push_speed.py --shards 8 --shard-mb 4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
TOKEN = "benchmark-token"


def write_shard(path: Path, shard_bytes: int) -> None:
    """A real Parquet file (a push checks its footer) of about ``shard_bytes``: random, uncompressed bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = max(1, shard_bytes // 4096)
    table = pa.table({"blob": pa.array([os.urandom(4096) for _ in range(rows)], type=pa.binary())})
    pq.write_table(table, path, compression="none")


def write_folder(folder: Path, shards: int, shard_bytes: int) -> None:
    data = folder / "data" / "lintseq"
    data.mkdir(parents=True)
    for index in range(shards):
        write_shard(data / f"train-{index:05d}-of-{shards:05d}.parquet", shard_bytes)
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: lintseq\n  data_files: data/lintseq/*.parquet\n"
                                      "---\n# benchmark\n")
    (folder / "lintseq_config.json").write_text("{}")
    os.utime(folder / "lintseq_config.json", (0, 0))  # older than the card: no re-render


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--shard-mb", type=float, default=4.0)
    arguments = parser.parse_args()

    from huggingface_hub import HfApi

    from hub_tools.hub import push_dataset
    from hub_tools.hub.testing_server import HubTestServer, User

    with tempfile.TemporaryDirectory() as root:
        # One server each: LFS objects are shared between the repositories of a server, so the second
        # contender would otherwise find its files already stored.
        reference_server = HubTestServer(Path(root) / "hub-reference", [User("bench", TOKEN)]).start()
        our_server = HubTestServer(Path(root) / "hub-ours", [User("bench", TOKEN)]).start()
        folder = Path(root) / "dataset"
        write_folder(folder, arguments.shards, int(arguments.shard_mb * 1e6))
        api = HfApi(endpoint=reference_server.url, token=TOKEN)

        def reference(repo: str):
            api.create_repo(repo, repo_type="dataset", exist_ok=True)
            api.upload_folder(repo_id=repo, repo_type="dataset", folder_path=folder)

        def ours(repo: str):
            push_dataset(folder, repo, token=TOKEN, endpoint=our_server.url)

        rows = []
        for label in ("first push", "unchanged re-push", "one shard changed"):
            if label == "one shard changed":
                write_shard(next(iter(sorted((folder / "data" / "lintseq").glob("*.parquet")))),
                            int(arguments.shard_mb * 1e6))
            reference_seconds = timed(lambda: reference("bench/reference"))
            our_seconds = timed(lambda: ours("bench/ours"))
            rows.append((label, reference_seconds, our_seconds))
        reference_server.stop()
        our_server.stop()

    size = arguments.shards * arguments.shard_mb
    print(f"{arguments.shards} shards, {size:.0f} MB in all")
    print(f"{'case':<20}{'upload_folder':>15}{'lintseq push':>15}{'ratio':>8}")
    for label, reference_seconds, our_seconds in rows:
        print(f"{label:<20}{reference_seconds:>14.2f}s{our_seconds:>14.2f}s{reference_seconds / our_seconds:>8.2f}")
    print("ratio = upload_folder time / lintseq push time (above 1: lintseq push is faster)")
    from results import save_result

    figures = {"shards": arguments.shards, "shard_mb": arguments.shard_mb,
               "ratio_upload_folder_over_lintseq_push": {
                   label: round(reference_seconds / our_seconds, 2) for label, reference_seconds, our_seconds in rows}}
    print(f"wrote {save_result('hub_push_speed', figures, packages=['huggingface_hub'])}")


if __name__ == "__main__":
    main()
