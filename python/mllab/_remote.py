"""A lab reached over the network: ``MLLAB_URL`` and ``MLLAB_TOKEN`` (``MLLAB_CA_FILE`` for a lab whose
certificate is self-signed), and one HTTP(S) connection to it, kept open between requests."""

from __future__ import annotations

import http.client
import json
import os
import ssl
from typing import Any, Dict, NamedTuple, Optional, Tuple
from urllib.parse import quote, urlsplit

from ._errors import MLLabError

URL_ENV = "MLLAB_URL"
TOKEN_ENV = "MLLAB_TOKEN"
#: a file holding the token instead (a job on a cluster gets it as a Docker secret, never in its environment)
TOKEN_FILE_ENV = "MLLAB_TOKEN_FILE"
CA_FILE_ENV = "MLLAB_CA_FILE"
LOCAL_RUNS_ENV = "MLLAB_LOCAL_RUNS"

#: seconds one request may take before it counts as a network error (and is retried)
REQUEST_TIMEOUT = 60.0


class Remote(NamedTuple):
    """Where a remote lab is and how to reach it."""
    url: str
    token: str
    ca_file: Optional[str]


def remote_from_env() -> Optional[Remote]:
    """The lab named by ``MLLAB_URL`` and ``MLLAB_TOKEN``, or None when either is unset (a local lab)."""
    url = os.environ.get(URL_ENV, "").strip()
    token = os.environ.get(TOKEN_ENV, "").strip() or _token_from_file()
    if not url and not token:
        return None
    if not url or not token:
        missing = URL_ENV if not url else TOKEN_ENV
        raise MLLabError(f"${missing} is not set: a lab over the network needs both ${URL_ENV} (e.g. "
                         f"https://lab.example.com:8443) and ${TOKEN_ENV} (from `mllab token create`).",
                         code="no_remote")
    check_url(url)
    ca_file = os.environ.get(CA_FILE_ENV) or None
    if ca_file is not None and not os.path.isfile(ca_file):
        raise MLLabError(f"${CA_FILE_ENV} names {ca_file}, which is not a file: give the lab's certificate "
                         f"(PEM), or unset it to trust the system's certificate authorities.", code="no_remote")
    return Remote(url.rstrip("/"), token, ca_file)


def _token_from_file() -> str:
    path = os.environ.get(TOKEN_FILE_ENV, "").strip()
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as e:
        raise MLLabError(f"${TOKEN_FILE_ENV} names {path}, which cannot be read ({e.strerror}): give a file "
                         f"holding the token, or set ${TOKEN_ENV}.", code="no_remote") from e


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MLLabError(f"${URL_ENV}={url!r} is not the URL of a lab: give https://HOST:PORT.", code="no_remote")
    loopback = parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127.")
    if parts.scheme == "http" and not loopback:
        raise MLLabError(f"${URL_ENV}={url!r} is plain HTTP to another machine: the token would cross the network "
                         f"in clear text. Use https://.", code="no_remote")


def local_runs_dir() -> str:
    """Where runs recorded for a remote lab are journaled: ``$MLLAB_LOCAL_RUNS``, else
    ``~/.cache/mllab/runs`` (``$XDG_CACHE_HOME`` when set)."""
    chosen = os.environ.get(LOCAL_RUNS_ENV)
    if chosen:
        return os.path.abspath(os.path.expanduser(chosen))
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "mllab", "runs")


class NetworkError(Exception):
    """The request may not have reached the lab, or its answer was lost: worth a retry."""


class LabError(Exception):
    """The lab answered with an error status."""

    def __init__(self, status: int, body: Dict[str, Any]) -> None:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        self.status = status
        self.body = body
        self.code = str(error.get("code", ""))
        super().__init__(f"{status} {error.get('message', '')}".strip())


class Connection:
    """One keep-alive connection to the lab; any failure closes it (the next request opens another)."""

    def __init__(self, remote: Remote) -> None:
        self.remote = remote
        parts = urlsplit(remote.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._context: Optional[ssl.SSLContext] = (
            ssl.create_default_context(cafile=remote.ca_file) if self._https else None)
        self._conn: Optional[http.client.HTTPConnection] = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None

    def _open(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=REQUEST_TIMEOUT,
                                                         context=self._context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_TIMEOUT)
        return self._conn

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/octet-stream",
                content_length: Optional[int] = None) -> Tuple[int, Dict[str, Any]]:
        """Sends one request; returns (status, parsed JSON answer) for a 2xx or 409, raises LabError for
        another 4xx, NetworkError for anything that may be worth retrying (no answer, a 5xx)."""
        headers = {"Authorization": f"Bearer {self.remote.token}"}
        if body is not None:
            headers["Content-Type"] = content_type
        if content_length is not None:
            headers["Content-Length"] = str(content_length)
        try:
            conn = self._open()
            conn.request(method, self._prefix + path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
            status = res.status
            if res.getheader("connection", "").lower() == "close":
                self.close()
        except ssl.SSLCertVerificationError as e:
            self.close()
            raise NetworkError(f"the certificate of {self.remote.url} is not trusted ({e.verify_message}): set "
                               f"${CA_FILE_ENV} to the lab's certificate") from None
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise NetworkError(f"{type(e).__name__}: {e}") from None
        try:
            answer = json.loads(data.decode("utf-8")) if data else {}
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {"answer": answer}
        if status >= 500:
            raise NetworkError(f"the lab answered {status}")
        if status >= 400 and status != 409:
            raise LabError(status, answer)
        return status, answer


def run_path(run_id: str, *rest: str) -> str:
    return "/api/runs/" + quote(run_id, safe="") + "".join("/" + r for r in rest)


def file_path(run_id: str, relative: str) -> str:
    return run_path(run_id, "files", quote(relative, safe="/"))
