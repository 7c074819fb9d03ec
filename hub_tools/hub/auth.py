"""Tokens and Hub errors: where the token comes from, and one-line messages that never contain it.

The token is resolved the way ``huggingface_hub`` does everywhere (an explicit argument, then ``HF_TOKEN``,
then the login stored by ``hf auth login``). Errors from the Hub become :class:`~hub_tools.errors.UserError`
lines that say what to do; any text that might reach the user goes through :func:`redact` first.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from hub_tools.errors import UserError

LOGIN_HINT = "set HF_TOKEN or run `hf auth login` with a token that has write access"
# Anything shaped like a Hugging Face token, whoever's it is (a server may echo another one): "hf_" and 30 or
# more letters and digits, as folder_policy looks for them. Shorter or upper-case, it hid `HF_ENDPOINT` in the
# tool's own advice and `me/hf_humaneval` in repository names.
HF_TOKEN_SHAPE = re.compile(r"hf_[A-Za-z0-9]{30,}")
# The token's first (last) characters, from this many on, are hidden too: a message cut mid-token. Fewer
# would hide ordinary words that happen to start like the token.
TOKEN_START_CHARS, TOKEN_END_CHARS = 8, 8


def resolve_token(token: str | None = None) -> str:
    """Return the token to push with, or raise a one-line error when there is none.

    Args:
        token: an explicit token; ``None`` uses ``huggingface_hub``'s resolution (``HF_TOKEN``, stored login).

    Returns:
        The token (never print it).
    """
    if not token:
        from huggingface_hub import get_token

        token = get_token()
        if not token:
            raise UserError(f"no Hugging Face token found: {LOGIN_HINT}")
    if not token.isascii() or not token.isprintable() or any(char.isspace() for char in token):
        # HTTP headers carry ASCII only: such a token could never authenticate (and is never printed).
        raise UserError("the Hugging Face token (HF_TOKEN or the stored login) has characters a token never has "
                        "(non-ASCII, spaces or control characters): copy it again from your Hub settings")
    return token


def redact(text: str, token: str | None) -> str:
    """Replace the token, anything shaped like a Hugging Face token and cut pieces of the token by ``***``.

    Redact before shortening a message, never after: a token cut in two no longer matches as a whole. For a
    message someone else cut mid-token, its start and its end (8 characters or more each) are hidden
    too; shorter pieces would hide ordinary words (a token may contain a user name).
    """
    if token:
        text = text.replace(token, "***")
    text = HF_TOKEN_SHAPE.sub("***", text)
    if token:
        pieces = [token[:length] for length in range(TOKEN_START_CHARS, len(token))]
        pieces += [token[-length:] for length in range(TOKEN_END_CHARS, len(token))]
        for piece in sorted(pieces, key=len, reverse=True):
            text = text.replace(piece, "***")
    return text


def without_credentials(text: str, endpoint: str | None = None) -> str:
    """``text`` with the ``user:password@`` of URLs in it (an ``HF_ENDPOINT`` behind a proxy that takes them)
    replaced by ``***@``; ``endpoint``'s own credentials too, wherever the text repeats them."""
    if endpoint:
        credentials = re.match(r"[a-z][a-z0-9+.-]*://([^/@\s]+)@", endpoint, re.IGNORECASE)
        if credentials:
            text = text.replace(credentials.group(1), "***")
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", text)


def shorten(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (whitespace runs become one space); redact it first."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _server_message(error, token: str | None) -> str:
    response = getattr(error, "response", None)
    message = ""
    if response is not None:
        message = response.headers.get("X-Error-Message") or ""
        if not message:
            with contextlib.suppress(Exception):
                message = response.json().get("error", "")
    if not message:
        message = getattr(error, "server_message", None) or str(error)
    return shorten(redact(str(message), token), 300)


@contextlib.contextmanager
def hub_errors(*, endpoint: str, repo_id: str, repo_type: str, token: str | None,
               revision: str | None = None) -> Iterator[None]:
    """Turn the Hub's exceptions into one-line :class:`UserError` messages that say what to do.

    401 means the token is wrong, 403 that it may not write there, 404 that the repository or revision is
    not visible to it; a network failure names the endpoint. The token is removed from every message.
    """
    try:
        yield
    except Exception as error:
        # The client wraps failures of its upload threads (RuntimeError "Error while uploading ..."): the
        # first error of the chain that can be explained is the one the user needs.
        for cause in _chain(error):
            message = explain(cause, endpoint=without_credentials(endpoint), repo_id=repo_id, repo_type=repo_type,
                              revision=revision, token=token)
            if message is not None:
                raise UserError(without_credentials(redact(message, token), endpoint)) from None
        raise


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def explain(error: Exception, *, endpoint: str, repo_id: str, repo_type: str, revision: str | None,
            token: str | None = None) -> str | None:
    """Return the one-line explanation of a Hub client error, or ``None`` for errors that are not the Hub's.

    Text the server or the network layer wrote is redacted (``token`` and anything shaped like a token)
    before it is shortened, so no part of a token survives the cut.
    """
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalTokenNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from hub_tools.hub.connection import HubUnreachable

    where = f"{repo_type} repository {repo_id} on {endpoint}"
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, HubUnreachable):
        return (f"the Hub at {endpoint} stopped answering during the push of {repo_id} ({error}): the push did not "
                "finish; run the same command again once it answers (files already there are not sent twice)")
    if "xet-write-token" in str(error):
        # Servers without the Xet storage protocol (mirrors, the test server) need the classic LFS path.
        return (f"{endpoint} does not offer the Xet upload protocol: set HF_HUB_DISABLE_XET=1 to upload "
                "through git-LFS instead")
    if isinstance(error, LocalTokenNotFoundError):
        return f"no Hugging Face token found: {LOGIN_HINT}"
    if isinstance(error, RevisionNotFoundError):
        return (f"revision {revision!r} does not exist in {where}: create the branch first, "
                "or leave out --revision to push to main")
    if isinstance(error, RepositoryNotFoundError):
        if status == 401:
            return f"{where} is private or missing and the request had no valid token: {LOGIN_HINT}"
        return (f"{where} was not found, or the token cannot see it: check --repo-id and that the token "
                "has access to that namespace")
    if isinstance(error, HfHubHTTPError):
        detail = _server_message(error, token)
        if status == 401:
            return f"{endpoint} rejected the token (401: {detail}): it is invalid or expired; {LOGIN_HINT}"
        if status == 403:
            return (f"the token may not write to {where} (403: {detail}): use a token with the write role "
                    "that belongs to that namespace, or push to your own namespace")
        if status == 404:
            return f"{where}: not found (404: {detail}); check --repo-id and --revision"
        return f"{endpoint} answered {status} while pushing to {repo_id}: {detail}; try again later"
    # httpx errors do not derive from OSError; they are network failures all the same.
    if isinstance(error, OSError) or error.__class__.__module__.startswith(("httpx", "httpcore")):
        detail = shorten(redact(str(error), token), 200)
        return (f"cannot reach the Hub at {endpoint} ({error.__class__.__name__}: {detail}); "
                "check the network or HF_ENDPOINT")
    return None
