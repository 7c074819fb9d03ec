"""``lintseq sample``: sample programs from an edit-sequence or a baseline model."""

from __future__ import annotations

import argparse
import json
import sys

from hub_tools.cli.model_options import (
    add_endpoint_options,
    add_sampling_options,
    open_sampler,
    sampling_config,
)

DEFAULT_MAX_NEW_TOKENS = 512


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lintseq sample",
        allow_abbrev=False,  # "--num-path 2" must not pass for --num-paths
        description=(
            "Prompt a model in the paper's format (instruction + '\\n<|diff|>' for edit-sequence models), stop at "
            "the end of the edit sequence, apply the edits and print the programs. Models without <|diff|> in "
            "their vocabulary are baseline models: their completion is printed."
        ),
        epilog=('examples:\n  lintseq sample --model outputs/tiny-lintseq --instruction "Return the sum of a list." --n 3\n'
                '  lintseq sample --endpoint http://localhost:8000/v1 --model ORG/MODEL --instruction "Reverse a string."'),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True,
                        help="model folder, Hub model id, or LoRA adapter folder (with --endpoint: the served name)")
    parser.add_argument("--instruction", action="append", required=True,
                        help="the task, in plain text (repeat the option for several tasks)")
    add_sampling_options(parser, n_default=1, n_help="samples per instruction",
                         max_new_tokens_help=f"default: {DEFAULT_MAX_NEW_TOKENS}")
    add_endpoint_options(parser.add_argument_group("sampling through a server"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--edit-sequence", dest="edit_sequence", action="store_true", default=None,
                      help="read completions as edit sequences (default: when the vocabulary has <|diff|>)")
    mode.add_argument("--baseline", dest="edit_sequence", action="store_false",
                      help="prompt and read the model as a baseline model")
    parser.add_argument("--show-edits", action="store_true", help="also print each edit the model wrote")
    parser.add_argument("--json", action="store_true", help="print one JSON object per sample instead")
    return parser


def _edits_of(completion: str) -> list[tuple[int, str]]:
    from hub_tools.lintseq import DIFF_TOKEN

    # Numbered like the parser's notes ("edit 2: ..."): empty edits keep their number but are not shown.
    pieces = enumerate(completion.split(DIFF_TOKEN), start=1)
    return [(number, edit.strip("\n")) for number, edit in pieces if edit.strip()]


def main(argv: list[str]) -> int:
    arguments = build_parser().parse_args(argv)
    from hub_tools.inference.progress import SamplingProgress
    from hub_tools.inference.server import print_notes
    from hub_tools.lintseq import format_prompt

    config = sampling_config(arguments, DEFAULT_MAX_NEW_TOKENS)
    sampler = open_sampler(arguments)
    prompts = [format_prompt(instruction, sampler.edit_sequence) for instruction in arguments.instruction]
    jobs = [(index, copy) for index in range(len(prompts)) for copy in range(config.n)]
    found: dict[tuple[int, int], object] = {}
    # A bar on a terminal; a handful of samples needs no log lines.
    progress = SamplingProgress(len(jobs)) if sys.stderr.isatty() else None
    try:
        notes = sampler.run(prompts, jobs, config, lambda index, copy, sample: found.__setitem__((index, copy), sample),
                            progress)
    finally:
        if progress is not None:
            progress.close()
    print_notes(notes)
    samples = [[found[index, copy] for copy in range(config.n)] for index in range(len(prompts))]
    for instruction_index, per_instruction in enumerate(samples):
        for sample_index, sample in enumerate(per_instruction):
            if arguments.json:
                record = {"instruction": arguments.instruction[instruction_index], "sample": sample_index,
                          "program": sample.program, "completion": sample.completion,
                          "skipped": sample.skipped, "edit_sequence": sample.edit_sequence}
                print(json.dumps(record))
                continue
            title = f"# instruction {instruction_index + 1}, sample {sample_index + 1}"
            kind = "edit sequence" if sample.edit_sequence else "baseline"
            print(f"{title} ({kind})")
            if arguments.show_edits and sample.edit_sequence:
                for edit_index, edit in _edits_of(sample.completion):
                    print(f"## edit {edit_index}\n{edit}")
                print("## program")
            print(sample.program if sample.program.strip() else "(empty program)")
            for note in sample.skipped:
                print(f"# skipped: {note}", file=sys.stderr)
            print()
    return 0
