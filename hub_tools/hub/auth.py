"""Tokens and Hub errors: where the token comes from, and one-line messages that never contain it.

The token is resolved the way ``huggingface_hub`` does everywhere (an explicit argument, then ``HF_TOKEN``,
then the login stored by ``hf auth login``). Errors from the Hub become :class:`~hub_tools.errors.UserError`
lines that say what to do; any text that might reach the user goes through :func:`redact` first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hub_tools.errors import UserError

LOGIN_HINT = "set HF_TOKEN or run `hf auth login` with a token that has write access"


def resolve_token(token: str | None = None) -> str:
    """Return the token to push with, or raise a one-line error when there is none.

    Args:
        token: an explicit token; ``None`` uses ``huggingface_hub``'s resolution (``HF_TOKEN``, stored login).

    Returns:
        The token (never print it).
    """
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise UserError(f"no Hugging Face token found: {LOGIN_HINT}")
    return found


def redact(text: str, token: str | None) -> str:
    """Replace every occurrence of the token in ``text`` by ``***``."""
    if token:
        text = text.replace(token, "***")
    return text


def _server_message(error) -> str:
    response = getattr(error, "response", None)
    message = ""
    if response is not None:
        message = response.headers.get("X-Error-Message") or ""
        if not message:
            with contextlib.suppress(Exception):
                message = response.json().get("error", "")
    if not message:
        message = getattr(error, "server_message", None) or str(error)
    return " ".join(str(message).split())[:300]


@contextlib.contextmanager
def hub_errors(*, endpoint: str, repo_id: str, repo_type: str, token: str | None,
               revision: str | None = None) -> Iterator[None]:
    """Turn the Hub's exceptions into one-line :class:`UserError` messages that say what to do.

    401 means the token is wrong, 403 that it may not write there, 404 that the repository or revision is
    not visible to it; a network failure names the endpoint. The token is removed from every message.
    """
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalTokenNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_type} repository {repo_id} on {endpoint}"
    try:
        yield
    except UserError as error:
        raise UserError(redact(str(error), token)) from None
    except LocalTokenNotFoundError:
        raise UserError(f"no Hugging Face token found: {LOGIN_HINT}") from None
    except RevisionNotFoundError:
        raise UserError(f"revision {revision!r} does not exist in {where}: create the branch first, "
                        "or leave out --revision to push to main") from None
    except RepositoryNotFoundError as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        if status == 401:
            message = f"{where} is private or missing and the request had no valid token: {LOGIN_HINT}"
        else:
            message = (f"{where} was not found, or the token cannot see it: check --repo-id and that the token "
                       "has access to that namespace")
        raise UserError(message) from None
    except HfHubHTTPError as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        detail = redact(_server_message(error), token)
        if status == 401:
            message = f"{endpoint} rejected the token (401: {detail}): it is invalid or expired; {LOGIN_HINT}"
        elif status == 403:
            message = (f"the token may not write to {where} (403: {detail}): use a token with the write role "
                       "that belongs to that namespace, or push to your own namespace")
        elif status == 404:
            message = f"{where}: not found (404: {detail}); check --repo-id and --revision"
        else:
            message = f"{endpoint} answered {status} while pushing to {repo_id}: {detail}; try again later"
        raise UserError(redact(message, token)) from None
    except (ConnectionError, TimeoutError, OSError) as error:
        detail = redact(" ".join(str(error).split())[:200], token)
        raise UserError(f"cannot reach the Hub at {endpoint} ({error.__class__.__name__}: {detail}); "
                        "check the network or HF_ENDPOINT") from None
    except Exception as error:
        # httpx errors do not derive from OSError; they are network failures all the same.
        if error.__class__.__module__.startswith(("httpx", "httpcore")):
            detail = redact(" ".join(str(error).split())[:200], token)
            raise UserError(f"cannot reach the Hub at {endpoint} ({error.__class__.__name__}: {detail}); "
                            "check the network or HF_ENDPOINT") from None
        raise
