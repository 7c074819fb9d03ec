"""Push speed: ``lintseq push dataset`` against ``HfApi.upload_folder`` on the same folder, in one run.

Both push to a local Hub-protocol server (``hub_tools.hub_test_server``), first into an empty
repository, then again unchanged (where ``push_dataset`` compares hashes before sending anything), then
after one shard changed. The ratios say what the planning and comparison cost on top of the client.

The defaults are the README's conditions: 8 shards of 16 MB. Each repeat pushes into fresh repositories, the
two contenders take turns going first (the first one reads the files from disk, the second from the page
cache), and the median of the per-repeat ratios is reported. The figures go to
``benchmarks/results/hub_push_speed.json``.

    .venv/bin/python benchmarks/hub_push_speed.py                # 8 x 16 MB, 3 repeats
    .venv/bin/python benchmarks/hub_push_speed.py --shards 4 --shard-mb 1 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/results.py, run as a script

from results import save_result

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
TOKEN = "benchmark-token"


def write_shard(path: Path, shard_bytes: int) -> None:
    """A valid Parquet file of about ``shard_bytes``: random bytes, uncompressed, so its size is what it says
    (the card is rendered from the shards' metadata, so they must be real Parquet)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    row_bytes = 1 << 16
    rows = [os.urandom(row_bytes) for _ in range(max(1, shard_bytes // row_bytes))]
    pq.write_table(pa.table({"blob": pa.array(rows, pa.binary())}), path, compression="none")


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


CASES = ("first push", "unchanged re-push", "one shard changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--shard-mb", type=float, default=16.0)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()

    from huggingface_hub import HfApi

    from hub_tools.hub import push_dataset
    from hub_tools.hub_test_server import HubTestServer, User

    seconds: dict[str, dict[str, list[float]]] = {case: {"upload_folder": [], "lintseq push": []} for case in CASES}
    with tempfile.TemporaryDirectory() as root:
        # One server each: LFS objects are shared between the repositories of a server, so the second
        # contender would otherwise find its files already stored.
        reference_server = HubTestServer(Path(root) / "hub-reference", [User("bench", TOKEN)]).start()
        our_server = HubTestServer(Path(root) / "hub-ours", [User("bench", TOKEN)]).start()
        folder = Path(root) / "dataset"
        write_folder(folder, arguments.shards, int(arguments.shard_mb * 1e6))
        api = HfApi(endpoint=reference_server.url, token=TOKEN)
        shards = sorted((folder / "data" / "lintseq").glob("*.parquet"))

        def reference(repo: str):
            api.create_repo(repo, repo_type="dataset", exist_ok=True)
            api.upload_folder(repo_id=repo, repo_type="dataset", folder_path=folder)

        def ours(repo: str):
            push_dataset(folder, repo, token=TOKEN, endpoint=our_server.url)

        for repeat in range(arguments.repeats):
            contenders = [("upload_folder", reference, f"bench/reference-{repeat}"),
                          ("lintseq push", ours, f"bench/ours-{repeat}")]
            if repeat % 2:
                contenders.reverse()
            for case in CASES:
                if case == "one shard changed":
                    write_shard(shards[repeat % len(shards)], int(arguments.shard_mb * 1e6))
                for name, push, repo in contenders:
                    seconds[case][name].append(timed(lambda push=push, repo=repo: push(repo)))
        reference_server.stop()
        our_server.stop()

    size = arguments.shards * arguments.shard_mb
    print(f"{arguments.shards} shards, {size:.0f} MB in all, {arguments.repeats} repeats (medians)")
    print(f"{'case':<20}{'upload_folder':>15}{'lintseq push':>15}{'ratio':>8}")
    figures = {"conditions": {"shards": arguments.shards, "shard_mb": arguments.shard_mb, "total_mb": size,
                              "repeats": arguments.repeats}}
    for case in CASES:
        reference_seconds, our_seconds = seconds[case]["upload_folder"], seconds[case]["lintseq push"]
        ratios = [theirs / mine for theirs, mine in zip(reference_seconds, our_seconds, strict=True)]
        figures[case] = {"upload_folder_seconds": round(statistics.median(reference_seconds), 3),
                         "lintseq_push_seconds": round(statistics.median(our_seconds), 3),
                         "ratio": round(statistics.median(ratios), 2),
                         "ratios": [round(ratio, 2) for ratio in ratios]}
        print(f"{case:<20}{figures[case]['upload_folder_seconds']:>14.2f}s{figures[case]['lintseq_push_seconds']:>14.2f}s"
              f"{figures[case]['ratio']:>8.2f}")
    print("ratio = upload_folder time / lintseq push time (above 1: lintseq push is faster)")
    print(f"figures written to {save_result('hub_push_speed', figures, packages=['huggingface_hub'])}")


if __name__ == "__main__":
    main()
