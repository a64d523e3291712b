"""Datasets: getting a version's local path, adding versions, listing."""

from __future__ import annotations

import getpass
import json
import os
import re
import stat
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import quote

from . import _backend
from ._errors import MLLabError
from ._home import datasets_cache_dir, find_home, registration_path
from ._remote import remote_from_env
from ._remote_datasets import remote_dataset
from ._remote_upload import add_remote_dataset
from ._unzip import unpack_cached

__all__ = ["dataset", "add_dataset", "datasets", "parse_name"]

# as parseDatasetRef in src/protocol/dataset-ref.ts: "name:v3" or "name:3"
_VERSION_IN_NAME = re.compile(r"^(?P<name>.+?):v?(?P<number>\d+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parse_name(name: str, version: Optional[int] = None) -> Tuple[str, Union[int, str]]:
    """Splits ``"name:v3"`` (or ``"name:3"``) and checks ``version``.

    Returns ``(name, number)`` or ``(name, "latest")``.
    """
    if not isinstance(name, str) or not name.strip():
        raise MLLabError("The dataset name is empty: pass a name such as \"churn\" or \"churn:v3\".",
                         code="invalid_name")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise MLLabError(f"version={version!r} is not a version number: pass 1, 2, 3, ... or None for the latest.",
                         code="invalid_version")
    match = _VERSION_IN_NAME.match(name)
    if match:
        if version is not None:
            raise MLLabError(
                f"The version is given twice, in the name {name!r} and as version={version}: pass only one.",
                code="invalid_version",
            )
        number = int(match.group("number"))
        if number < 1:
            raise MLLabError(f"{name!r} names version {number}: versions start at 1.", code="invalid_version")
        return match.group("name"), number
    if ":" in name:
        raise MLLabError(
            f"{name!r} is not a dataset name: dataset names have no \":\"; to pick a version write \"name:v3\".",
            code="invalid_name",
        )
    return name, ("latest" if version is None else version)


def _query(project: Optional[str]) -> str:
    return f"?project={quote(project, safe='')}" if project is not None else ""


def _check_project(project: Optional[str]) -> None:
    if project is not None and (not isinstance(project, str) or not project):
        raise MLLabError(f"project={project!r} is not a project id or name: pass a string, or None for the "
                         f"active project.", code="invalid_project")


def _get_version(backend: _backend.Backend, name: str, version: Union[int, str],
                 project: Optional[str]) -> Dict[str, Any]:
    path = f"/api/datasets/{quote(name, safe='')}/versions/{version}{_query(project)}"
    answer = backend.request("GET", path)
    if not isinstance(answer, dict):
        raise MLLabError(f"The ML Lab backend answered GET {path} with something that is not a dataset version.",
                         code="bad_answer")
    return answer


def dataset(name: str, version: Optional[int] = None, unpack: bool = True, project: Optional[str] = None,
            home: Optional[str] = None) -> str:
    """Returns the local path of a dataset version.

    Args:
        name: the dataset's name; ``"name:v3"`` (or ``"name:3"``) picks version 3 (then
            ``version`` must be None).
        version: the version number; None for the latest.
        unpack: for a package (a folder stored as a zip): True returns a folder with the
            files, unpacked once into ``<home>/cache/datasets/<sha256>/`` and reused
            afterwards; False returns the zip itself. Ignored for a single file.
        project: project id or name; None for the lab home's active project.
        home: the lab home; None to use ``$MLLAB_HOME`` or the ``.mllab`` folder found
            walking up from the working directory. With ``$MLLAB_URL`` and ``$MLLAB_TOKEN``
            set (and ``home`` None), the lab over the network: the content is fetched into
            the local cache (``$MLLAB_CACHE_DIR``, default ``~/.cache/mllab/blobs``, capped
            by ``$MLLAB_CACHE_MAX_BYTES``) once, checked against its sha256, and reused.

    Returns:
        For a single file, the path of the stored read-only file; for a package, the
        unpacked folder (read-only files) or, with ``unpack=False``, the zip.

    Raises:
        MLLabError: no lab home or backend, no such dataset or version, an unsafe package.
    """
    plain, which = parse_name(name, version)
    _check_project(project)
    remote = remote_from_env() if home is None else None
    if remote is not None:
        return remote_dataset(remote, plain, which, unpack, project)
    lab_home = find_home(home)
    info = _offline_version(lab_home, plain, which)
    if info is None:
        backend = _backend.connect(lab_home)
        info = _get_version(backend, plain, which, project)
    from ._experiments import note_dataset_input
    number = info.get("version")
    note_dataset_input(str(info.get("name", plain)), number if isinstance(number, int) else None)
    stored = info.get("path")
    label = f"{info.get('name', plain)} v{info.get('version', which)}"
    if not isinstance(stored, str) or not os.path.isfile(stored):
        raise MLLabError(
            f"The stored content of dataset {label} is missing at {stored}: the lab home's store may have been "
            f"moved or damaged; see the ML Lab backend log.",
            code="content_missing",
        )
    if info.get("kind") != "package" or not unpack:
        return stored
    sha = info.get("sha256")
    if not isinstance(sha, str) or not _SHA256.match(sha.lower()):
        raise MLLabError(f"The ML Lab backend gave dataset {label} the invalid hash {sha!r}.", code="bad_answer")
    cache = datasets_cache_dir(lab_home)
    _private_folders(lab_home, cache)
    already = os.path.isdir(os.path.join(cache, sha.lower()))
    folder = unpack_cached(stored, cache, sha.lower())
    if not already:
        _make_private(folder)
    return folder


#: in a job's container: the dataset versions the job may read, next to their blobs (written by the
#: backend's job runner), for a lab home with no backend inside the container
JOB_DATASETS_INDEX = os.path.join("blobs", "datasets.json")


def _offline_version(home: str, name: str, which: Union[int, str]) -> Optional[Dict[str, Any]]:
    """A version from the job's index (``<home>/blobs/datasets.json``) when no backend runs for ``home``.

    Returns None when there is a backend to ask, or no index; raises when the index has no such version.
    """
    index_path = os.path.join(home, JOB_DATASETS_INDEX)
    if os.path.exists(registration_path(home)) or not os.path.isfile(index_path):
        return None
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
        entries = [e for e in index.get("versions", []) if isinstance(e, dict)]
    except (OSError, ValueError, AttributeError) as e:
        raise MLLabError(f"The job's dataset index {index_path} cannot be read ({e}).", code="bad_index") from e
    same = [e for e in entries if str(e.get("name", "")).lower() == name.lower() and isinstance(e.get("version"), int)]
    chosen = max(same, key=lambda e: e["version"]) if which == "latest" and same else \
        next((e for e in same if e["version"] == which), None)
    if chosen is None:
        have = ", ".join(sorted({f"{e.get('name')} v{e.get('version')}" for e in entries})) or "none"
        raise MLLabError(
            f"This job has no dataset version {name}{'' if which == 'latest' else f' v{which}'} (it can read: "
            f"{have}). A job reads the dataset versions of its project, or those its MLLAB_DATASETS names.",
            code="not_found",
        )
    sha = str(chosen.get("sha256", "")).lower()
    if not _SHA256.match(sha):
        raise MLLabError(f"The job's dataset index gives {name} the invalid hash {sha!r}.", code="bad_index")
    return dict(chosen, sha256=sha, path=os.path.join(home, "blobs", "sha256", sha[:2], sha[2:]))


def _private_folders(home: str, folder: str) -> None:
    """Makes ``folder`` and the folders between the lab home and it exist and be private (0700)."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if os.name != "posix":
        return
    root = os.path.abspath(home)
    current = os.path.abspath(folder)
    while current.startswith(root + os.sep):
        if stat.S_IMODE(os.stat(current).st_mode) != 0o700:
            os.chmod(current, 0o700)
        current = os.path.dirname(current)


def _make_private(folder: str) -> None:
    """An unpacked package is private like the rest of the lab home: folders 0700, files readable
    (and executable when they were) by the owner only. It was unpacked inside a 0700 folder, so no one
    else could reach it meanwhile. Symbolic links are left alone (chmod would follow them)."""
    if os.name != "posix":
        return
    os.chmod(folder, 0o700)
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(parent, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                os.chmod(path, 0o700)
            elif stat.S_ISREG(mode) and mode & 0o077:
                os.chmod(path, (mode & 0o700) | 0o400)


def add_dataset(path: str, name: Optional[str] = None, description: Optional[str] = None,
                tags: Optional[List[str]] = None, project: Optional[str] = None,
                home: Optional[str] = None) -> Dict[str, Any]:
    """Adds a file or folder as the next version of a dataset.

    A folder is stored as a package (one zip). This waits until the content is stored,
    which may take minutes for a big folder; interrupting (Ctrl-C) cancels it on the
    backend and leaves nothing behind.

    With ``MLLAB_URL`` and ``MLLAB_TOKEN`` set (and no ``home``), the lab is on another
    machine: the content is sent to it (nothing is sent for content it holds already; a
    dropped connection goes on from the bytes it holds), and the version is made of it. The
    returned dict then also has ``sent`` (bytes sent) and ``deduplicated``.

    Args:
        path: the file or folder (relative paths are resolved against the working directory).
        name: the dataset's name; None for the file or folder name.
        description: free text kept with the version.
        tags: a list of strings.
        project: project id or name; None for the lab home's active project.
        home: the lab home (see :func:`dataset`).

    Returns:
        The new version (a DatasetVersion dict: ``name``, ``version``, ``sha256``,
        ``path``, ...).
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise MLLabError("add_dataset needs the path of a file or folder.", code="invalid_path")
    absolute = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.exists(absolute):
        raise MLLabError(f"There is no file or folder at {absolute}: check the path.", code="invalid_path")
    if tags is not None and (isinstance(tags, str) or not all(isinstance(t, str) for t in tags)):
        raise MLLabError(f"tags={tags!r} is not a list of strings: pass e.g. tags=[\"raw\", \"2024\"].",
                         code="invalid_tags")
    if name is not None and (not isinstance(name, str) or not name):
        raise MLLabError(f"name={name!r} is not a dataset name: pass a string, or None for the file name.",
                         code="invalid_name")
    if description is not None and not isinstance(description, str):
        raise MLLabError(f"description={description!r} is not a string.", code="invalid_description")
    _check_project(project)
    body: Dict[str, Any] = {"path": absolute}
    if name is not None:
        body["name"] = name
    if description is not None:
        body["description"] = description
    if tags is not None:
        body["tags"] = list(tags)
    if project is not None:
        body["project"] = project
    operator = _operator()
    if operator:
        body["operator"] = operator
    remote = remote_from_env() if home is None else None
    if remote is not None:
        # the lab is on another machine: the content is sent to it (see _remote_upload)
        del body["path"]
        return add_remote_dataset(remote, absolute, body)
    backend = _backend.connect(find_home(home))
    answer = backend.request("POST", "/api/datasets", body, timeout=None)
    if not isinstance(answer, dict):
        raise MLLabError("The ML Lab backend answered POST /api/datasets with something that is not a dataset "
                         "version.", code="bad_answer")
    return answer


def datasets(project: Optional[str] = None, home: Optional[str] = None) -> List[Dict[str, Any]]:
    """Lists the datasets of a project (Dataset dicts, each with its ``versions``)."""
    _check_project(project)
    backend = _backend.connect(find_home(home))
    answer = backend.request("GET", f"/api/datasets{_query(project)}")
    if not isinstance(answer, list):
        raise MLLabError("The ML Lab backend answered GET /api/datasets with something that is not a list.",
                         code="bad_answer")
    return answer


def _operator() -> Optional[str]:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        return None
