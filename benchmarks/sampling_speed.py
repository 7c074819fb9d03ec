"""Sampling speed: ``lintseq``'s local sampler vs plain ``model.generate`` at batch 8, and ``--endpoint`` vs local.

    .venv/bin/python benchmarks/sampling_speed.py [--model DIR | --preset tiny] [--problems 32] [--n 2]
                                                  [--max-new-tokens 128] [--no-endpoint] [--device cpu]
                                                  [--name sampling_speed]

All sides sample the same HumanEval prompts (the paper's edit-sequence format), ``--n`` samples each, at
temperature 0.8, with the same token limit, one after the other in this run:

- **plain**: ``model.generate`` on batches of 8 prompts in benchmark order, stopping at the end of the edit
  sequence with transformers' own ``stop_strings`` (what a script without this project would write), with
  torch's default threads and again on one thread (as the local sampler runs small models on a CPU);
- **local**: ``hub_tools.inference.local.sample_jobs`` (prompts sorted by length, batch size from free memory,
  vectorised stop);
- **endpoint**: the same model behind a real ``transformers serve`` on this machine, sampled through
  ``hub_tools.inference.server`` (``--concurrency`` requests at once); the server's start-up is not timed.

Reported: generated tokens per second (tokens up to each sample's end) and samples per second of each side,
and the ratios local/plain and endpoint/local. The default model is a from-scratch ``tiny`` TinyCodeLM
(random weights: it rarely closes its edit sequence, so samples run to the limit); give ``--model`` for a
trained one. Read the ratios: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import save_result


def count_tokens(tokenizer, completions: list[str]) -> int:
    return sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in completions)


def run_plain(model, tokenizer, prompts: list[str], max_new_tokens: int, seed: int,
              threads: int | None = None) -> tuple[float, list[str]]:
    import torch

    from hub_tools.inference.local import END_OF_EDITS

    completions = []
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads)
    start = time.perf_counter()
    for offset in range(0, len(prompts), 8):
        batch = prompts[offset:offset + 8]
        encoded = tokenizer(batch, return_tensors="pt", padding=True).to(model.device)
        torch.manual_seed(seed + offset)
        with torch.inference_mode():
            output = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=True, temperature=0.8,
                                    top_p=0.95, stop_strings=[END_OF_EDITS], tokenizer=tokenizer,
                                    pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        for row in output[:, encoded["input_ids"].shape[1]:].tolist():
            text = tokenizer.decode([t for t in row if t != tokenizer.pad_token_id], skip_special_tokens=False)
            text = text.split(tokenizer.eos_token)[0]
            completions.append(text[: text.index(END_OF_EDITS) + len(END_OF_EDITS)] if END_OF_EDITS in text else text)
    seconds = time.perf_counter() - start
    torch.set_num_threads(default_threads)
    return seconds, completions


def _accelerator(device) -> str | None:
    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else None


def run_local(model, tokenizer, prompts: list[str], max_new_tokens: int, seed: int) -> tuple[float, list[str]]:
    from hub_tools.inference.local import SamplingConfig, sample_jobs

    found: dict[int, str] = {}
    config = SamplingConfig(n=1, temperature=0.8, top_p=0.95, max_new_tokens=max_new_tokens, seed=seed)
    start = time.perf_counter()
    sample_jobs(model, tokenizer, prompts, [(index, 0) for index in range(len(prompts))], config, edit_sequence=True,
                on_sample=lambda index, copy, sample: found.__setitem__(index, sample.completion))
    return time.perf_counter() - start, [found[index] for index in range(len(prompts))]


def run_endpoint(model_dir: Path, prompts: list[str], max_new_tokens: int, seed: int, concurrency: int,
                 folder: Path) -> tuple[float, list[str]]:
    from hub_tools.inference.local import SamplingConfig
    from hub_tools.inference.server import EndpointConfig, sample_from_endpoint, write_serving_copy

    served = write_serving_copy(model_dir, folder / "serving")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).with_name("transformers")), "serve", str(served), "--port",
                               str(port), "--host", "127.0.0.1", "--device", "cpu"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("transformers serve did not start") from None
                time.sleep(1)
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/v1", str(served), concurrency=concurrency)
        config = SamplingConfig(n=1, temperature=0.8, top_p=0.95, max_new_tokens=max_new_tokens, seed=seed)
        found: dict[int, str] = {}
        start = time.perf_counter()
        sample_from_endpoint(endpoint, prompts, [(index, 0) for index in range(len(prompts))], config,
                             edit_sequence=True, on_sample=lambda index, copy, sample: found.__setitem__(index, sample.completion))
        return time.perf_counter() - start, [found[index] for index in range(len(prompts))]
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: a from-scratch tiny TinyCodeLM)")
    parser.add_argument("--problems", type=int, default=32, help="HumanEval prompts (default: 32)")
    parser.add_argument("--n", type=int, default=2, help="samples per prompt (default: 2)")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="token limit (default: 128)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default: 16)")
    parser.add_argument("--no-endpoint", action="store_true", help="skip the transformers serve side")
    parser.add_argument("--preset", default="tiny", choices=["tiny", "tinycodelm-150m", "tinycodelm-400m"],
                        help="the from-scratch TinyCodeLM to build when no --model is given (default: tiny)")
    parser.add_argument("--device", default="cpu", help="where the model runs (default: cpu; e.g. cuda)")
    parser.add_argument("--name", default="sampling_speed", help="results file stem (benchmarks/results/NAME.json)")
    arguments = parser.parse_args()

    from hub_tools.evaluation import load_humaneval
    from hub_tools.inference.local import load_model
    from hub_tools.lintseq import format_prompt

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        model_dir = Path(arguments.model) if arguments.model else None
        if model_dir is None:
            from hub_tools.training.tinycodelm import init_model

            model_dir = init_model(arguments.preset, folder / arguments.preset)
        model, tokenizer = load_model(str(model_dir), device=arguments.device)
        instructions = [problem.prompt for problem in load_humaneval()[: arguments.problems]]
        prompts = [format_prompt(instruction) for instruction in instructions for _ in range(arguments.n)]
        sides = {"plain": run_plain(model, tokenizer, prompts, arguments.max_new_tokens, 0)}
        if arguments.device == "cpu":
            # The same plain loop on one thread, as the local sampler runs small models on a CPU: what is left of
            # the ratio is batching, sorting and the stopping rule.
            sides["plain_one_thread"] = run_plain(model, tokenizer, prompts, arguments.max_new_tokens, 0, threads=1)
        sides["local"] = run_local(model, tokenizer, prompts, arguments.max_new_tokens, 0)
        if not arguments.no_endpoint:
            sides["endpoint"] = run_endpoint(model_dir, prompts, arguments.max_new_tokens, 0, arguments.concurrency,
                                             folder)
        figures: dict = {"samples": len(prompts), "max_new_tokens": arguments.max_new_tokens,
                         "model": str(arguments.model or f"{arguments.preset} (from scratch)"),
                         "device": str(model.device), "accelerator": _accelerator(model.device)}
        for name, (seconds, completions) in sides.items():
            tokens = count_tokens(tokenizer, completions)
            figures[name] = {"seconds": round(seconds, 2), "tokens": tokens, "tokens_per_second": round(tokens / seconds, 1),
                             "samples_per_second": round(len(completions) / seconds, 3)}
            print(f"{name:>8}: {len(completions)} samples, {tokens} tokens in {seconds:.1f} s "
                  f"({tokens / seconds:,.0f} tokens/s)")
        figures["ratio_local_vs_plain_tokens_per_second"] = round(
            figures["local"]["tokens_per_second"] / figures["plain"]["tokens_per_second"], 2)
        print(f"local / plain model.generate at batch 8: {figures['ratio_local_vs_plain_tokens_per_second']}x tokens/s")
        if "plain_one_thread" in figures:
            figures["ratio_local_vs_plain_one_thread_tokens_per_second"] = round(
                figures["local"]["tokens_per_second"] / figures["plain_one_thread"]["tokens_per_second"], 2)
            print(f"  ({figures['ratio_local_vs_plain_one_thread_tokens_per_second']}x against it on one thread)")
        if "endpoint" in figures:
            figures["ratio_endpoint_vs_local_tokens_per_second"] = round(
                figures["endpoint"]["tokens_per_second"] / figures["local"]["tokens_per_second"], 2)
            print(f"endpoint (transformers serve, same machine) / local: "
                  f"{figures['ratio_endpoint_vs_local_tokens_per_second']}x tokens/s")
        path = save_result(arguments.name, figures, packages=["torch", "transformers"])
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
