"""Push dataset and model folders to the Hub. Every request to the Hub made by hub_tools goes through here.

A push is: plan the files (no network), check the token with ``whoami``, create the repository (and the
branch) if needed, compare local files with the remote ones, and make one commit with what changed,
deleting stale files the push manages (old Parquet shards, weights of another sharding). An unchanged
folder makes no commit at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from hub_tools import __version__
from hub_tools.errors import UserError, one_line
from hub_tools.hub.auth import hub_errors, resolve_token, without_credentials
from hub_tools.hub.cards import ModelCardConfig, refresh_dataset_card, render_model_card
from hub_tools.hub.connection import bounded_retries
from hub_tools.hub.conversion import allow_open_files, materialize
from hub_tools.hub.folder_policy import display, format_problem, refusal_error, scan_folder
from hub_tools.hub.upload_plan import PlannedFile, UploadPlan, plan_dataset_upload, plan_model_upload

# Statuses worth another try (the same list the Hub clients retry on).
TRANSIENT_STATUSES = (408, 429, 500, 502, 503, 504)
ATTEMPTS = 3
# Never deleted as "stale": every repository has them and the push rewrites the card anyway.
PROTECTED_PATHS = (".gitattributes", "README.md")


@dataclass
class PushResult:
    """What a push did (or, for a dry run, would do).

    Attributes:
        repo_id: the repository.
        repo_type: ``"dataset"`` or ``"model"``.
        plan: the files considered, with those left out.
        dry_run: nothing was sent.
        commit_url: the new commit (or the unchanged head when nothing changed).
        commit_oid: its sha.
        pr_url: the pull request opened with ``create_pr``.
        committed: a new commit was made.
        uploaded: paths whose content changed and were sent.
        deleted: stale remote paths removed.
        unchanged: paths already on the Hub with the same content.
        warnings: what the user asked for and did not get (``--private`` on an existing public repository).
    """

    repo_id: str
    repo_type: str
    plan: UploadPlan
    dry_run: bool = False
    commit_url: str | None = None
    commit_oid: str | None = None
    pr_url: str | None = None
    committed: bool = False
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    token_found: bool | None = None
    warnings: list[str] = field(default_factory=list)

    def report(self) -> str:
        """A few lines for the terminal (never contains the token)."""
        if self.dry_run:
            lines = [f"Dry run: nothing was sent. Plan for {self.repo_type} {self.repo_id}:", self.plan.describe()]
            if self.plan.card is not None:
                lines += ["", "----- README.md (card) -----", self.plan.card.rstrip(), "----- end of card -----"]
            elif self.plan.refused:
                lines.append("card: not rendered until the refused files are fixed")
            if self.token_found is not None:
                lines.append("token: found" if self.token_found else
                             "token: none found; set HF_TOKEN or run `hf auth login` before pushing")
            return "\n".join(lines)
        if not self.committed:
            lines = [f"{self.repo_id}: already up to date ({len(self.unchanged)} file(s) unchanged), "
                     f"no commit made. Head: {without_credentials(self.commit_url or '')}"]
        else:
            lines = [f"{self.repo_id}: uploaded {len(self.uploaded)} file(s), deleted {len(self.deleted)}, "
                     f"{len(self.unchanged)} unchanged."]
            if self.deleted:  # named: a remote file the folder lacks is gone from the repository's head
                more = f", ... ({len(self.deleted) - 10} more)" if len(self.deleted) > 10 else ""
                lines.append(f"Deleted (files of the kinds this push uploads, not in the folder): "
                             f"{', '.join(display(path) for path in self.deleted[:10])}{more}")
            url = self.pr_url or self.commit_url
            lines.append(f"{'Pull request' if self.pr_url else 'Commit'}: {without_credentials(url or '')}")
        lines += [f"warning: {warning}" for warning in self.warnings]
        if self.plan.held_back:
            names = ", ".join(display(path) for path, _ in sorted(self.plan.held_back)[:5])
            more = ", ..." if len(self.plan.held_back) > 5 else ""
            lines.append(f"held back {len(self.plan.held_back)} file(s) that look like secrets or are unexpectedly "
                         f"large: {names}{more} (--dry-run says why; --include PATTERN uploads them)")
        return "\n".join(lines)


def push_dataset(
    folder: str | Path,
    repo_id: str,
    *,
    include: tuple[str, ...] = (),
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    dry_run: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> PushResult:
    """Publish a dataset folder written by ``lintseq generate``: Parquet, card and ``lintseq_config.json``.

    The card is re-rendered first when ``lintseq_config.json`` is newer than it. Once pushed, the dataset
    loads with ``load_dataset(repo_id, config)`` for each config of the card.

    Args:
        folder: the dataset folder.
        repo_id: ``org/name`` on the Hub (created as a dataset repository if missing).
        include: glob patterns of files the publishing policy holds back (secret-looking names, large files
            that are not data) to upload all the same.
        private: create the repository private (an existing one keeps its visibility).
        revision: branch to push to (created from ``main`` if missing); default ``main``.
        create_pr: open a pull request instead of committing to the branch.
        commit_message: the commit's title.
        dry_run: send nothing: return the plan (files, sizes, card).
        token: the token; ``None`` uses ``HF_TOKEN`` or the stored login.
        endpoint: the Hub's URL; ``None`` uses ``HF_ENDPOINT`` (default https://huggingface.co).

    Returns:
        A :class:`PushResult`.

    Example:
        >>> result = push_dataset("lintseq-humaneval", "me/lintseq-humaneval", private=True)  # doctest: +SKIP
        >>> print(result.report())  # doctest: +SKIP
    """
    check_repo_id(repo_id)  # before the card, which names it, is written
    # The card is rendered from the folder's files: they are checked first (links, names, Parquet).
    refreshed = None if _dataset_problems(folder, dry_run) else refresh_dataset_card(
        folder, repo_id=repo_id, write=not dry_run)
    if refreshed is None:
        plan = plan_dataset_upload(folder, include=tuple(include))
        if not plan.refused:
            plan.card = (Path(folder) / "README.md").read_text(encoding="utf-8")
    else:
        plan = plan_dataset_upload(folder, card=refreshed[0], include=tuple(include))
        plan.card = refreshed[0]
        next(planned for planned in plan.files if planned.path_in_repo == "README.md").note = refreshed[1]
        _check_card_sources(plan)
    message = commit_message or f"Upload LintSeq dataset with lintseq push (hub_tools {__version__})"
    return _push(plan, repo_id, private=private, revision=revision, create_pr=create_pr,
                 commit_message=message, dry_run=dry_run, token=token, endpoint=endpoint)


def push_model(
    folder: str | Path,
    repo_id: str,
    *,
    card: ModelCardConfig | None = None,
    keep_card: bool = False,
    include_training_state: bool = False,
    include_logs: bool = False,
    include: tuple[str, ...] = (),
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    dry_run: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> PushResult:
    """Publish a model folder: safetensors weights, configs, tokenizer and a rendered model card.

    ``pytorch_model*.bin`` checkpoints are converted to safetensors; optimizer state and training logs
    are left out unless asked. The card comes from the templates in ``model_cards/`` and carries the
    evaluation results of ``card.eval_results`` in its ``model-index``.

    Args:
        folder: the model folder (``save_pretrained`` output).
        repo_id: ``org/name`` on the Hub.
        card: what the card says (template, licence, base model, datasets, tags, results files).
        keep_card: upload the folder's own README.md instead of rendering one.
        include_training_state: also upload optimizer, scheduler and RNG state.
        include_logs: also upload ``trainer_state.json`` and TensorBoard runs.
        include: extra glob patterns to upload as they are (also files the publishing policy holds back).
        private, revision, create_pr, commit_message, dry_run, token, endpoint: as in :func:`push_dataset`.

    Returns:
        A :class:`PushResult`.

    Example:
        >>> push_model("out/tinycodelm-lintseq", "me/tinycodelm-lintseq",
        ...            card=ModelCardConfig(eval_results=[Path("metrics.json")]))  # doctest: +SKIP
    """
    plan = plan_model_upload(folder, include_training_state=include_training_state, include_logs=include_logs,
                             include=tuple(include), keep_card=keep_card)
    if plan.refused and not dry_run:
        raise refusal_error(plan.refused, plan.folder)
    if not keep_card and not plan.refused:  # the card reads the folder's files: only once they passed
        text = render_model_card(folder, repo_id, card)
        plan.card = text
        plan.files.append(PlannedFile("README.md", None, len(text.encode()), content=text.encode(),
                                      note="model card"))
    message = commit_message or f"Upload model with lintseq push (hub_tools {__version__})"
    return _push(plan, repo_id, private=private, revision=revision, create_pr=create_pr,
                 commit_message=message, dry_run=dry_run, token=token, endpoint=endpoint)


def check_repo_id(repo_id: str) -> None:
    """Refuse a repository id the Hub would refuse, before anything is written or sent (a typo'd id wrote the
    folder's card for it, then failed with the client's traceback)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UserError(f"--repo-id {repo_id!r} must look like ORG/NAME (your user name or an organisation)")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise UserError(f"--repo-id {repo_id!r} is not a valid repository id: {one_line(error)}") from None


def _push(plan: UploadPlan, repo_id: str, *, private: bool, revision: str | None, create_pr: bool,
          commit_message: str, dry_run: bool, token: str | None, endpoint: str | None) -> PushResult:
    check_repo_id(repo_id)
    if create_pr and revision not in (None, "main"):
        raise UserError("--create-pr opens a pull request against main: leave out --revision")
    if plan.refused and not dry_run:
        raise refusal_error(plan.refused, plan.folder)
    result = PushResult(repo_id, plan.repo_type, plan, dry_run=dry_run)
    if dry_run:
        from huggingface_hub import get_token

        # Local only (environment, stored login): a dry run sends nothing, not even the token check.
        result.token_found = bool(token or get_token())
        return result
    from huggingface_hub import HfApi, constants

    token = resolve_token(token)
    endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
    api = HfApi(endpoint=endpoint, token=token, library_name="hub_tools", library_version=__version__)
    branch = revision or "main"
    with hub_errors(endpoint=endpoint, repo_id=repo_id, repo_type=plan.repo_type, token=token, revision=branch), \
            bounded_retries():
        allow_open_files(len(plan.files))  # before any request: a refusal leaves no empty repository
        _retry(lambda: api.whoami(token=token))  # a bad token fails here, before any upload
        _retry(lambda: api.create_repo(repo_id, repo_type=plan.repo_type, private=private or None, exist_ok=True))
        # create_repo leaves an existing repository as it is: say so rather than let --private look done.
        if private and not _retry(lambda: api.repo_info(repo_id, repo_type=plan.repo_type)).private:
            result.warnings.append(f"{repo_id} already existed and is public: it stays public (--private only "
                                   "creates a repository private); change its visibility in its settings on the Hub")
        if branch != "main":
            _retry(lambda: api.create_branch(repo_id, branch=branch, repo_type=plan.repo_type, exist_ok=True))
        local: dict = {}
        try:  # the files opened so far are closed whatever happens, a refused file among them
            for planned in _progress(plan):
                local[planned.path_in_repo] = materialize(planned)
            _commit(api, plan, result, local, branch, create_pr, commit_message)
        finally:
            for content in local.values():
                if isinstance(content, io.IOBase):
                    content.close()
    return result


def _dataset_problems(folder: str | Path, dry_run: bool) -> bool:
    """Whether the folder has files the policy refuses (raised at once, except in a dry run that lists them)."""
    if not Path(folder).is_dir():
        return False  # the plan says so, in its own words
    scan = scan_folder(folder)
    refused = scan.refused + [(local.path_in_repo, problem) for local in scan.files
                              if (problem := format_problem(local))]
    if refused and not dry_run:
        raise refusal_error(refused, Path(folder))
    return bool(refused)


def _check_card_sources(plan: UploadPlan) -> None:
    """Refuse shards the rendered card describes but the push does not upload (held back, left out)."""
    from hub_tools.datagen.folder import DatasetFolder

    uploaded = {planned.path_in_repo for planned in plan.files}
    for shards in DatasetFolder.open(plan.folder).configs.values():
        for shard in shards:
            relative = shard.relative_to(plan.folder).as_posix()
            if relative not in uploaded:
                plan.refused.append((relative, "is described by the card but not uploaded (held back or left "
                                               "out): move it out of the folder or --include it"))


def _commit(api, plan: UploadPlan, result: PushResult, local: dict, branch: str, create_pr: bool,
            commit_message: str) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    repo_type, repo_id = plan.repo_type, result.repo_id
    head = _retry(lambda: api.repo_info(repo_id, repo_type=repo_type, revision=branch)).sha
    remote_paths = _retry(lambda: api.list_repo_files(repo_id, repo_type=repo_type, revision=head))
    remote = {}
    if remote_paths:
        infos = _retry(lambda: api.get_paths_info(repo_id, sorted(set(remote_paths) & set(local)),
                                                  repo_type=repo_type, revision=head))
        remote = {info.path: info for info in infos if hasattr(info, "blob_id")}
    for path in _progress_over(sorted(local), local, "comparing with the Hub"):
        (result.unchanged if _same_content(local[path], remote.get(path)) else result.uploaded).append(path)
    result.deleted = sorted(path for path in remote_paths if path not in local and path not in PROTECTED_PATHS
                            and plan.is_managed(path))
    if not result.uploaded and not result.deleted:
        result.commit_oid = head
        result.commit_url = _commit_url(api.endpoint, repo_type, repo_id, head)
        return
    for attempt in range(ATTEMPTS):
        # Operations cannot be reused after a failed attempt: build them again each time.
        operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=_rewound(local[path]))
                      for path in result.uploaded]
        operations += [CommitOperationDelete(path_in_repo=path) for path in result.deleted]
        try:
            info = api.create_commit(repo_id, operations, commit_message=commit_message, repo_type=repo_type,
                                     revision=branch, create_pr=create_pr, parent_commit=None if create_pr else head)
            break
        except Exception as error:
            if attempt + 1 == ATTEMPTS or _status(error) not in TRANSIENT_STATUSES:
                raise
            time.sleep(2**attempt)
    result.commit_oid, result.commit_url, result.pr_url = info.oid, info.commit_url, info.pr_url
    result.committed = info.oid != head


def _rewound(content):
    """What ``CommitOperationAdd`` takes: a path as text, bytes, or an open file from its start.

    An open file is named by ``/proc/self/fd/N`` where the system has it: opening that opens the very file
    the push holds (not whatever now has its name), and the client uploads a path through Xet, while it
    sends an open file through the slower LFS protocol only.
    """
    if isinstance(content, Path):
        return str(content)
    if isinstance(content, io.IOBase):
        if content.writable():  # a converted checkpoint: its last bytes may still be buffered
            content.flush()
        content.seek(0)
        if os.path.isdir("/proc/self/fd"):
            return f"/proc/self/fd/{content.fileno()}"
    return content


def _size(content) -> int:
    if isinstance(content, Path):
        return content.stat().st_size
    if isinstance(content, bytes):
        return len(content)
    content.seek(0, io.SEEK_END)
    return content.tell()


def _blocks(content):
    if isinstance(content, bytes):
        yield content
        return
    with content.open("rb") if isinstance(content, Path) else contextlib.nullcontext(content) as file:
        file.seek(0)
        yield from iter(lambda: file.read(1 << 20), b"")


def _same_content(local, remote) -> bool:
    """Whether the Hub already has this file: sha256 for LFS files, git's blob sha1 for the others."""
    size = _size(local)
    if remote is None or remote.size != size:
        return False
    digest = hashlib.sha256() if remote.lfs is not None else hashlib.sha1(b"blob %d\0" % size)
    for block in _blocks(local):
        digest.update(block)
    return digest.hexdigest() == (remote.lfs.sha256 if remote.lfs is not None else remote.blob_id)


def _commit_url(endpoint: str, repo_type: str, repo_id: str, sha: str) -> str:
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{endpoint}/{prefix}{repo_id}/commit/{sha}"


def _status(error: Exception) -> int | None:
    return getattr(getattr(error, "response", None), "status_code", None)


def _retry(call, attempts: int = ATTEMPTS):
    """Call ``call`` again after 1 s, 2 s … when the Hub answers a transient status (5xx, 429, 408)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:
            if attempt + 1 == attempts or _status(error) not in TRANSIENT_STATUSES:
                raise
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


def _progress_over(paths: list[str], local: dict, description: str):
    """Iterate over paths, with a progress bar when hashing them takes a while (over 200 MB)."""
    if sum(_size(local[path]) for path in paths) < 200_000_000:
        return paths
    from tqdm.auto import tqdm

    return tqdm(paths, desc=description, unit="file")


def _progress(plan: UploadPlan):
    """Iterate over the planned files, with a progress bar when some must be converted first."""
    if not any(planned.convert_from for planned in plan.files):
        return plan.files
    from tqdm.auto import tqdm

    return tqdm(plan.files, desc="preparing files (safetensors conversion)", unit="file")
