"""The README's promises, each tied to what backs it.

``CLAIMS`` lists guarantees the README states, each with the tests that check it. A claim's text must still be
in the README (rewording a claim means revisiting its tests) and each test it names must exist and be collected.
Every figure the README quotes from a benchmark must be found in that benchmark's committed results file,
``benchmarks/results/<script>.json``, written by ``benchmarks/results.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

ENGINE = "tests/datagen/test_engine.py"
# (words of the README, whitespace-insensitive) -> the tests that back them
CLAIMS: dict[str, list[str]] = {
    # Generate
    "the Parquet files are byte-identical for any `--workers` and `--chunk-size` and across reruns, and so are "
    "the card and `lintseq_config.json` except the run-specific `seconds`, `worker_seconds`, `resumed_parts` and "
    "`workers`": [
        f"{ENGINE}::test_one_and_two_workers_write_identical_bytes",
        f"{ENGINE}::test_num_samples_is_a_deterministic_subset",
    ],
    "after a crash or `kill -9`, run the same command again and it reuses them and finishes the job, with no row "
    "lost or duplicated": [
        f"{ENGINE}::test_killed_run_resumes_from_its_saved_parts_to_the_same_bytes",
        f"{ENGINE}::test_a_killed_worker_loses_no_row",
    ],
    "a local source file whose size or modification time changed since the run began is refused": [
        "tests/datagen/test_resume_safety.py::test_a_resume_is_refused_when_a_source_file_changed_since_the_run_began",
    ],
    "a damaged part (a file cut short or emptied, a statistics file that is not JSON, a Parquet file gone) is "
    "removed with a note naming it and its chunk computed again, to the same bytes": [
        "tests/datagen/test_resume_safety.py::test_a_damaged_part_is_removed_and_its_chunk_computed_again",
    ],
    "a second `lintseq generate` on it is refused at once (exit 2, naming the first one's pid); the lock is the "
    "kernel's (`flock`), so a killed command leaves none behind": [
        "tests/datagen/test_resume_safety.py::"
        "test_a_second_command_on_a_folder_in_use_is_refused_and_a_killed_one_leaves_no_lock",
    ],
    "a task whose chunks are all saved does not run, and gets the empty statistics Ray's executor reads of every "
    "task": [
        "tests/datagen/test_distributed.py::test_a_run_of_the_single_machine_engine_is_finished_on_an_executor",
    ],
    "rows that kill their worker process are skipped and counted by reason, with their location": [
        f"{ENGINE}::test_a_row_that_kills_its_worker_is_found_and_skipped",
    ],
    "`--subset`, `--data-dir` and `--split` choose a part of it as `load_dataset` does": [
        "tests/hub/test_cli.py::test_walkthrough_generate_push_and_load_back_against_a_server_started_by_hand",
        "tests/datagen/test_card_header.py::test_a_hub_source_is_named_and_a_local_file_is_not",
    ],
    "each becomes a string column of its name in every config, after the dataset's own": [
        "tests/datagen/test_kept_fields.py::test_kept_fields_are_string_columns_of_every_config",
        "tests/datagen/test_kept_fields.py::test_a_tree_of_python_files_keeps_each_file_path",
    ],
    "a `.py` file that is a symbolic link is skipped as `symbolic_link`, not followed": [
        "tests/datagen/test_python_file_trees.py::test_a_tree_of_python_files_is_a_code_only_source",
    ],
    "a virtual environment inside it (a folder with `pyvenv.cfg`) and `site-packages` folders are not read": [
        "tests/datagen/test_python_file_trees.py::test_a_tree_of_python_files_is_a_code_only_source",
    ],
    "a folder that holds data files is read as data (a dataset repository's loading script is not a row)": [
        "tests/datagen/test_python_file_trees.py::test_a_folder_with_data_files_reads_the_data_not_its_scripts",
    ],
    "each hunk header agrees with its lines (how many it adds, where, after the diff's earlier hunks": [
        "tests/datagen/test_verify_show.py::test_each_tampering_is_reported_by_kind",
        "tests/lintseq/test_parsing.py::test_strict_replay_rejects_headers_that_disagree_with_their_lines",
    ],
    "One of JSON Lines, JSON or CSV files is counted by the launcher's one pass, which keeps the rows of each "
    "file, and a task then streams only the files of its block": [
        "tests/hub/test_hub_sources.py::test_a_hub_source_of_json_lines_files_is_entered_at_its_block_once_counted",
    ],
    "an update pushed to the dataset during a long run does not give its tasks rows of two versions": [
        "tests/hub/test_hub_sources.py::test_a_parquet_hub_source_is_counted_and_entered_at_any_row",
        "tests/hub/test_hub_sources.py::test_a_hub_source_of_json_lines_files_is_entered_at_its_block_once_counted",
    ],
    "The dataset is read at the commit its revision had when the run started, a resumed run too, and that "
    "commit is recorded in `lintseq_config.json` and the card": [
        "tests/hub/test_hub_sources.py::test_a_run_killed_and_resumed_after_the_dataset_changed_reads_one_commit",
        "tests/hub/test_hub_sources.py::test_revision_reads_a_branch_or_commit_of_the_dataset_and_records_it",
    ],
    "`--revision` (a branch, tag or commit, as `load_dataset(..., revision=...)`) reads another version than the "
    "main branch": [
        "tests/hub/test_hub_sources.py::test_revision_reads_a_branch_or_commit_of_the_dataset_and_records_it",
    ],
    "a `.json` document, a list of rows or an object holding one, is read a row at a time, so a large one needs "
    "no more memory than JSON Lines": [
        "tests/datagen/test_json_documents.py::test_memory_holds_one_row_whatever_the_document_size",
        "tests/datagen/test_json_documents.py::test_rows_are_those_of_json_loads",
    ],
    "one broken after some rows keeps them and counts one `invalid_json` skip where it breaks": [
        "tests/datagen/test_json_documents.py::test_a_source_keeps_the_rows_before_a_break_and_counts_it",
        "tests/datagen/test_json_documents.py::test_a_broken_row_is_reported_where_json_loads_reports_it",
    ],
    "a compressed file cut short keeps the rows before the cut and counts one `corrupt_file` skip": [
        f"{ENGINE}::test_compressed_sources_and_a_cut_download",
    ],
    "its hidden files and folders, and the output folder when it lies inside, are not read": [
        f"{ENGINE}::test_an_output_folder_inside_the_source_folder_is_never_read_as_source",
    ],
    "A Hub dataset made of Parquet files (what `push_to_hub` writes, and most large corpora) is counted from "
    "the files' footers, not streamed, and a task streams only the files of its block": [
        "tests/hub/test_hub_sources.py::test_a_parquet_hub_source_is_counted_and_entered_at_any_row",
        "tests/hub/test_hub_sources.py::test_a_hub_source_of_one_file_is_counted_and_read_from_the_start",
    ],
    "each task then loads the repeats of its block, enters there and skips them, with the same first "
    "occurrences as a single-machine run": [
        "tests/datagen/test_repeats.py::test_tasks_enter_at_their_block_and_mark_the_repeats_a_full_read_finds",
        "tests/datagen/test_repeats.py::test_an_executor_run_with_drop_duplicates_is_the_single_machine_run",
    ],
    "The scans asked of each `if` are now kept for the length of a lint call and given again to the next caller": [
        "tests/linters/test_repeated_scans.py::test_kept_scans_change_no_answer",
        "tests/linters/test_repeated_scans.py::test_an_if_elif_chain_is_scanned_once_not_once_per_branch",
    ],
    "A call is ended even where the alarm cannot reach it": [
        "tests/linters/test_unreachable_alarm.py::test_a_call_that_keeps_the_stack_at_its_limit_still_ends_past_its_limit",
        "tests/linters/test_unreachable_alarm.py::test_outside_the_main_thread_a_call_is_ended_too_and_its_error_carries_no_chain",
        "tests/linters/test_unreachable_alarm.py::test_the_watchdog_interrupts_only_the_overdue_body",
    ],
    "invalid JSON lines, bad UTF-8, missing or non-text fields": [
        f"{ENGINE}::test_bad_rows_are_skipped_with_reason_and_location",
    ],
    "text JSON spells but UTF-8 cannot store (half of a surrogate pair: `unpaired_surrogate`)": [
        f"{ENGINE}::test_bad_rows_are_skipped_with_reason_and_location",
    ],
    "a kept field nested too deeply to write as JSON\n  (`nested_too_deeply`)": [
        "tests/datagen/test_nested_values.py::test_kept_field_nested_past_what_json_can_hold_is_a_counted_skip",
    ],
    "an instruction or response holding `<|diff|>`, the token that separates edits\n  (`holds_diff_token`": [
        f"{ENGINE}::test_bad_rows_are_skipped_with_reason_and_location",
    ],
    "a longer exchange is skipped as `multi_turn`, and a value of another shape as `not_a_conversation`, naming "
    "the turn at fault": [
        "tests/datagen/test_source_layouts.py::test_broken_conversations_are_skipped_with_the_turn_at_fault",
    ],
    "Alpaca's layout (`instruction`, `input`, `output`, as in CodeAlpaca) is read as `instruction+input`": [
        "tests/datagen/test_source_layouts.py::test_alpaca_input_is_part_of_the_instruction",
        "tests/datagen/test_source_layouts.py::test_the_reader_gives_datatrove_the_program_of_every_layout",
    ],
    "the user's turn is the instruction, the assistant's answer the response": [
        "tests/datagen/test_source_layouts.py::test_each_exchange_gives_the_rows_its_flat_pair_gives",
        "tests/datagen/test_source_layouts.py::test_a_parquet_conversation_column_and_the_builder",
    ],
    "programs Python will not compile (a syntax error, or code that parses but does not run": [
        f"{ENGINE}::test_programs_python_will_not_compile_are_skipped_as_syntax_errors",
        "tests/linters/test_syntax_errors.py::test_the_compile_stage_rejects_what_the_parser_accepts",
    ],
    "`program` is the code `response` holds and Python compiles it": [
        "tests/datagen/test_verify_show.py::test_a_program_python_will_not_compile_is_reported",
    ],
    "a call that grows its process's memory by more than `--lint-memory-limit` MiB": [
        "tests/linters/test_memory_limit.py::test_a_call_past_the_memory_limit_raises_and_the_next_call_is_right",
        "tests/linters/test_memory_limit.py::test_memory_that_libraries_take_does_not_count",
        "tests/linters/test_memory_limit.py::test_a_program_past_the_limit_is_skipped_and_the_run_goes_on",
    ],
    "programs that exceed `--time-limit` or crash pylint": [
        f"{ENGINE}::test_time_limit_skips_a_program_and_the_run_goes_on",
        f"{ENGINE}::test_a_program_that_crashes_pylint_is_skipped_and_the_run_goes_on",
    ],
    "The run counts these programs by unit": [
        "tests/datagen/test_indentation.py::test_programs_not_indented_with_four_spaces_are_counted_and_told",
    ],
    "`--ignore-init-errors` (the paper's option) samples them as usual": [
        "tests/datagen/test_indentation.py::test_ignore_init_errors_samples_them_and_verify_accepts_the_result",
    ],
    "inside markdown fences is extracted": [
        "tests/lintseq/test_fences.py::test_fence_spellings",
        "tests/lintseq/test_fences.py::test_real_programs_in_every_wrapping",
    ],
    "so the result does not depend on the packages installed": [
        "tests/linters/test_pylint_backend.py::test_portable_profile_does_not_depend_on_installed_packages",
        "tests/linters/test_pylint_backend.py::test_portable_profile_hides_installed_packages_from_import_inference",
    ],
    "none of the work pylint would still do for uncounted ones": [
        "tests/linters/test_uncounted_checks.py::test_skipping_changes_no_answer_on_real_code",
        "tests/linters/test_uncounted_checks.py::test_a_text_called_plain_gives_the_unicode_checker_nothing",
        "tests/linters/test_uncounted_checks.py::test_the_listed_helpers_of_the_installed_pylint_emit_only_their_messages_and_write_only_what_is_listed",
    ],
    "A syntax error flags the line it is about, as the paper's implementation does": [
        "tests/linters/test_syntax_errors.py::test_flagged_line",
        "tests/linters/test_syntax_errors.py::test_an_emptied_block_takes_its_opener_not_the_rest_of_the_file",
        "tests/linters/test_pylint_backend.py::test_same_counted_messages_as_the_command_line",
    ],
    "`reference` is exactly the paper's set": [
        "tests/linters/test_pylint_backend.py::test_same_counted_messages_as_the_command_line",
    ],
    "It exits with 0 when every row passes, 1 when any fails": [
        "tests/datagen/test_verify_show.py::test_an_untampered_folder_passes",
        "tests/datagen/test_verify_show.py::test_the_console_command_exits_1_on_a_tampered_folder",
        "tests/datagen/test_verify_show.py::test_a_folder_that_is_not_a_generated_dataset_exits_2",
    ],
    # Train
    "for one step `sum = mean x completion tokens`": [
        "tests/training/test_training.py::test_summed_loss_is_the_mean_times_the_completion_tokens",
    ],
    "Under DDP / ZeRO-3 the gradient is that of the sum over all ranks": [
        "tests/training/test_distributed_loss.py::test_two_processes_take_the_step_of_one_process_over_the_same_rows",
    ],
    "A test parses every recipe against the dataclasses and pins these values": [
        "tests/training/test_recipes.py::test_every_recipe_parses_against_the_dataclasses",
        "tests/training/test_recipes.py::test_paper_recipes_keep_the_papers_settings",
    ],
    "The tests run a real ZeRO-3 run this way on the CPU": [
        "tests/training/test_lora_and_deepspeed.py::test_deepspeed_zero3_trains_on_cpu_and_saves_a_loadable_model",
    ],
    "bf16 on a machine without support (`--bf16 false`), DeepSpeed asked for but not installed": [
        "tests/training/test_errors.py::test_bf16_on_a_machine_without_support",
        "tests/training/test_errors.py::test_deepspeed_asked_but_not_installed",
    ],
    "sets `gradient_accumulation_steps` from the per-device batch and the number of processes": [
        "tests/training/test_recipes.py::test_global_batch_size_sets_gradient_accumulation",
        "tests/training/test_lora_and_deepspeed.py::test_two_data_parallel_processes_under_torchrun",
    ],
    "The rows of the added tokens are trained too (PEFT's `trainable_token_indices`) and saved with the adapter": [
        "tests/training/test_lora_and_deepspeed.py::test_lora_adapter_is_saved_trains_the_new_token_and_reloads",
    ],
    "`--seed` (the same seed gives the same samples, at any batch size)": [
        "tests/training/test_generation_and_sample.py::test_sampling_is_deterministic_for_a_seed_and_keeps_the_order",
        "tests/training/test_sample_streams.py::test_the_same_seed_gives_the_same_samples_at_any_batch_size",
    ],
    "only the temperature and the nucleus": [
        "tests/training/test_sample_streams.py::test_the_models_generation_config_does_not_change_the_sampling",
        "tests/training/test_sample_streams.py::test_the_stream_sampler_draws_from_the_tempered_nucleus",
    ],
    # Evaluate
    "The canonical solutions score pass@1 = 1.0": [
        "tests/evaluation/test_scoring.py::test_canonical_solutions_pass_and_empty_or_wrong_ones_fail",
    ],
    "At `reduced` they run as the evaluator's user (root drops to 65534 there too when that user can reach the interpreter)": [
        "tests/evaluation/test_sandbox.py::test_without_namespaces_a_root_evaluator_runs_programs_as_an_unprivileged_user",
        "tests/evaluation/test_sandbox.py::test_a_root_that_cannot_become_another_user_still_runs_its_programs",
    ],
    "Files it deletes while it keeps them open count too": [
        "tests/evaluation/test_sandbox.py::test_contained_at_every_level",
        "tests/evaluation/test_sandbox.py::test_without_namespaces_a_root_evaluator_runs_programs_as_an_unprivileged_user",
    ],
    "JSON with tags for tuples, sets, bytes, integers of up to a million bits and non-finite floats": [
        "tests/evaluation/test_sandbox_values.py::test_plain_values_round_trip_with_their_types",
        "tests/evaluation/test_sandbox.py::test_integers_past_python_s_decimal_limit_cross_both_ways",
    ],
    "templates otherwise live as long as the sandbox, across its runs, and leave nothing in the temporary folder "
    "when it closes": [
        "tests/evaluation/test_sandbox.py::test_templates_outlive_the_run_that_started_them",
        "tests/evaluation/test_sandbox.py::test_no_level_leaves_anything_behind_in_the_temporary_folder",
    ],
    "At every level a crash, hang or kill of one program never loses another result": [
        "tests/evaluation/test_sandbox.py::test_a_template_that_dies_costs_only_its_current_program",
        "tests/evaluation/test_sandbox_hostile.py::test_hostile_samples_harm_nothing_and_never_pass",
    ],
    # Publish
    "an unchanged folder makes no commit; a changed one uploads the changed files and deletes the stale ones it owns": [
        "tests/hub/test_push_dataset.py::test_unchanged_repush_makes_no_commit_and_a_changed_one_sends_only_the_difference",
        "tests/hub/test_push_model.py::test_resharded_weights_replace_the_old_shards",
    ],
    "`--dry-run` (sends nothing, not even the token check, and prints the files, their sizes and the rendered card)": [
        "tests/hub/test_push_dataset.py::test_dry_run_touches_no_network_and_shows_files_sizes_and_card",
    ],
    "The card is rendered again first when `lintseq_config.json` is newer than `README.md`": [
        "tests/hub/test_push_dataset.py::test_stale_card_is_rendered_again_when_the_generator_provides_it",
    ],
    "A folder whose card declares no `configs:`, or a config whose data files are missing, is refused before any "
    "request.": [
        "tests/hub/test_push_dataset.py::test_a_folder_that_would_not_load_is_refused_before_any_request",
    ],
    "`pytorch_model*.bin` checkpoints, like the original TinyCodeLM ones, are converted, shards and index included": [
        "tests/hub/test_push_model.py::test_bin_checkpoint_arrives_as_safetensors_and_loads_identically",
        "tests/hub/test_push_model.py::test_sharded_bin_checkpoint_is_converted_with_its_index",
    ],
    "Optimizer, scheduler and RNG state stay home unless `--include-training-state`": [
        "tests/hub/test_push_model.py::test_training_state_and_logs_stay_home_unless_asked",
    ],
    "Transient answers (5xx, 429) are retried.": [
        "tests/hub/test_auth_and_errors.py::test_transient_server_errors_are_retried",
        "tests/hub/test_push_failures.py::test_a_hung_request_times_out_and_is_retried",
    ],
    "the token never appears in output, logs or errors": [
        "tests/hub/test_auth_and_errors.py::test_wrong_token_is_rejected_at_whoami_and_never_printed",
    ],
    "`ModelCard.load(repo_id).data.eval_results` reads it back": [
        "tests/hub/test_cards.py::test_rendered_card_metadata_holds_every_results_file",
    ],
    # Development
    "a skipped test is then a failure that names the test and its reason": [
        "tests/test_strict_skips.py::test_a_skip_fails_a_strict_run_unless_the_readme_allows_it",
    ],
    "Every figure above comes from a benchmark script that writes `benchmarks/results/<script>.json`": [
        "tests/test_readme_claims.py::test_benchmark_table_figures_are_in_the_results_files",
        "tests/test_readme_claims.py::test_benchmark_figures_in_the_text_are_in_the_results_files",
    ],
}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_each_claim_is_still_in_the_readme(claim):
    assert _flat(claim) in _flat(_readme()), f"the README no longer says: {claim!r}; update CLAIMS and its tests"


@pytest.fixture(scope="module")
def collected(request) -> set[str]:
    """Test ids pytest collects from the files the claims name (parameters left out)."""
    files = sorted({test.split("::")[0] for tests in CLAIMS.values() for test in tests})
    for file in files:
        assert (ROOT / file).is_file(), f"no test file {file}"
    # A whole, unfiltered run (the README's test command) has collected them already; else collect them apart.
    options = request.config.option
    in_session = {item.nodeid.split("[")[0] for item in request.session.items}
    if not (options.keyword or options.markexpr or options.deselect) and \
            all(any(test.startswith(f"{file}::") for test in in_session) for file in files):
        return in_session
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ, "HUB_TOOLS_STRICT_TESTS": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {line.split("[")[0] for line in result.stdout.splitlines() if "::" in line}


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_each_claim_points_to_collected_tests(claim, collected):
    assert CLAIMS[claim], claim
    missing = [test for test in CLAIMS[claim] if test not in collected]
    assert not missing, f"{claim!r}: no such test collected: {missing}"


# Benchmark figures ------------------------------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.@/-])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w.])|(?<![\w.@/,])\d+(?:\.\d+)?(?![\w.,]\d)")


def numbers_in(text: str) -> list[str]:
    """The numbers a reader sees in README text (inline code left out: names like `tinycodelm-150m`)."""
    return NUMBER.findall(re.sub(r"`[^`]*`", " ", text))


def recorded_numbers(record: dict) -> list[float]:
    """Every number of a results file: figures, conditions, machine, and the command's arguments."""
    found: list[float] = []

    def walk(value):
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            found.append(float(value))
        elif isinstance(value, str):  # "HumanEval/56", a key such as "10" (the n of an n-gram table)
            found.extend(float(token) for token in re.findall(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])", value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk({key: value for key, value in record.items() if key != "versions"})
    found += [float(token) for token in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", record.get("command", ""))]
    return found


def is_recorded(number: str, recorded: list[float]) -> bool:
    value = float(number.replace(",", ""))
    decimals = len(number.split(".")[1]) if "." in number else 0
    return any(abs(round(candidate, decimals) - value) < 1e-9 for candidate in recorded)


def load_result(script: str) -> dict:
    """The script's results: ``<stem>.json``, and the named runs ``<stem>_<name>.json`` (``--name``) merged in."""
    stem = Path(script).stem
    paths = sorted(RESULTS.glob(f"{stem}.json")) + sorted(RESULTS.glob(f"{stem}_*.json"))
    assert paths, f"the README quotes figures of {script} but no benchmarks/results/{stem}*.json is committed"
    records = [json.loads(path.read_text()) for path in paths]
    for path, record in zip(paths, records, strict=True):
        assert record["benchmark"] == path.stem and record["figures"] and record["machine"]["cores"], path
    return {"benchmark": stem, "command": " ".join(record.get("command", "") for record in records),
            "machine": [record["machine"] for record in records], "figures": [record["figures"] for record in records]}


def benchmark_table() -> list[tuple[str, str]]:
    """(script, measured) of each row of the README's benchmark table."""
    rows = re.findall(r"^\| `(\w+\.py)` \| [^|]* \| (.*) \|$", _readme(), flags=re.M)
    assert rows, "no benchmark table in the README"
    return rows


# Scripts whose README figures have no committed results file yet (their owners measure them again).
# Strict expected failures: once the file lands and matches, the test passes unexpectedly and fails the run,
# so an entry cannot outlive its reason.
AWAITING_RESULTS: dict[str, str] = {}


def _awaiting(script: str):
    return pytest.param(script, marks=pytest.mark.xfail(script in AWAITING_RESULTS, strict=True,
                                                        reason=AWAITING_RESULTS.get(script, "")))


@pytest.mark.parametrize("script", [_awaiting(script) for script, _ in benchmark_table()])
def test_benchmark_table_figures_are_in_the_results_files(script):
    measured = dict(benchmark_table())[script]
    recorded = recorded_numbers(load_result(script))
    missing = [number for number in numbers_in(measured) if not is_recorded(number, recorded)]
    assert numbers_in(measured), f"{script}: the table quotes no figure"
    assert not missing, f"{script}: README figures not in benchmarks/results/{Path(script).stem}.json: {missing}"


def benchmark_paragraphs() -> list[tuple[str, str]]:
    """(script, paragraph) for each README paragraph outside the table that quotes a benchmark's figures."""
    text = re.sub(r"^```.*?^```", "", _readme(), flags=re.S | re.M)  # code blocks (fences open a line)
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.lstrip().startswith("|"):
            continue
        for script in re.findall(r"`benchmarks/(\w+\.py)`", paragraph):
            sentences = paragraph[paragraph.index(f"`benchmarks/{script}`"):]
            if numbers_in(sentences):
                found.append((script, sentences))
    return found


@pytest.mark.parametrize(("script", "paragraph"), [
    pytest.param(script, paragraph, marks=_awaiting(script).marks) for script, paragraph in benchmark_paragraphs()
], ids=lambda value: value[:40])
def test_benchmark_figures_in_the_text_are_in_the_results_files(script, paragraph):
    recorded = recorded_numbers(load_result(script))
    missing = [number for number in numbers_in(paragraph) if not is_recorded(number, recorded)]
    assert not missing, f"{script}: README figures not in benchmarks/results/{Path(script).stem}.json: {missing}"


def test_the_figure_check_can_fail():
    record = {"benchmark": "x", "command": "python x.py --shards 8", "machine": {"cores": 2},
              "figures": {"ratio": 1.234, "rows": 2840}}
    recorded = recorded_numbers(record)
    assert numbers_in("**1.23x**, 2,840 rows on 2 cores, 8 shards, `tinycodelm-150m`") == ["1.23", "2,840", "2", "8"]
    assert all(is_recorded(number, recorded) for number in ["1.23", "1.2", "2,840", "2", "8"])
    assert not any(is_recorded(number, recorded) for number in ["1.24", "1.3", "2,841", "3"])
