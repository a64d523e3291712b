"""A PEP 517 build backend for the mllab package, written with the standard library only.

Why not setuptools: offline, pip cannot fetch setuptools and wheel for an isolated build,
and the setuptools that comes with a Python is often too old to build wheels without
the separate ``wheel`` package (or, from Python 3.12 on, absent). This backend needs
nothing, so ``pip install python/`` works offline, with or without build isolation.

It builds a pure-Python wheel of ``mllab/``, an sdist, and an editable wheel (PEP 660).
The metadata comes from the ``[project]`` table of pyproject.toml (simple
``key = "value"`` lines, ``classifiers`` and ``readme``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "mllab"
TAG = "py3-none-any"
_SDIST_PARTS = ("pyproject.toml", "README.md", "mllab", "_packaging", "tests")


def _project() -> Dict[str, object]:
    """The [project] table of pyproject.toml (the subset this package uses)."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if not match:
        raise RuntimeError("pyproject.toml has no [project] table")
    table = match.group(1)
    project: Dict[str, object] = {}
    for key, value in re.findall(r'^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*"([^"]*)"\s*$', table, re.M):
        project[key] = value
    license_match = re.search(r'^license\s*=\s*\{\s*text\s*=\s*"([^"]*)"\s*\}', table, re.M)
    if license_match:
        project["license"] = license_match.group(1)
    classifiers = re.search(r"^classifiers\s*=\s*\[(.*?)\]", table, re.M | re.S)
    project["classifiers"] = re.findall(r'"([^"]+)"', classifiers.group(1)) if classifiers else []
    for required in ("name", "version"):
        if required not in project:
            raise RuntimeError(f"pyproject.toml [project] lacks {required}")
    return project


def _metadata(project: Dict[str, object]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    if "license" in project:
        lines.append(f"License: {project['license']}")
    for classifier in project["classifiers"]:  # type: ignore[attr-defined]
        lines.append(f"Classifier: {classifier}")
    readme = project.get("readme")
    body = ""
    if isinstance(readme, str) and os.path.isfile(os.path.join(ROOT, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _dist_name(project: Dict[str, object]) -> Tuple[str, str]:
    name = re.sub(r"[-_.]+", "_", str(project["name"])).lower()
    return name, str(project["version"])


def _package_files() -> List[str]:
    """Files of the package, relative to ROOT, sorted; no caches."""
    out = []
    for dirpath, dirs, names in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for n in sorted(names):
            if n.endswith((".py", ".typed")):
                out.append(os.path.relpath(os.path.join(dirpath, n), ROOT).replace(os.sep, "/"))
    return out


def _timestamp() -> Tuple[int, int, int, int, int, int]:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # default: 1980-01-01
    return time.gmtime(max(epoch, 315532800))[:6]


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, files: List[Tuple[str, bytes]]) -> str:
    project = _project()
    name, version = _dist_name(project)
    dist_info = f"{name}-{version}.dist-info"
    files = files + [
        (f"{dist_info}/METADATA", _metadata(project).encode("utf-8")),
        (f"{dist_info}/WHEEL", (
            "Wheel-Version: 1.0\nGenerator: mllab_build_backend\nRoot-Is-Purelib: true\n"
            f"Tag: {TAG}\n").encode()),
        (f"{dist_info}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    record = "\n".join([_record_line(p, d) for p, d in files] + [f"{dist_info}/RECORD,,"]) + "\n"
    files.append((f"{dist_info}/RECORD", record.encode()))
    filename = f"{name}-{version}-{TAG}.whl"
    os.makedirs(wheel_directory, exist_ok=True)
    stamp = _timestamp()
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.external_attr = (0o100644 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return filename


# --- PEP 517 / PEP 660 hooks ---------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    files = []
    for rel in _package_files():
        with open(os.path.join(ROOT, rel), "rb") as f:
            files.append((rel, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    name, _ = _dist_name(_project())
    return _write_wheel(wheel_directory, [(f"__editable__.{name}.pth", (ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    project = _project()
    name, version = _dist_name(project)
    base = f"{name}-{version}"
    filename = f"{base}.tar.gz"
    os.makedirs(sdist_directory, exist_ok=True)
    mtime = time.mktime(_timestamp() + (0, 0, 0)) if "SOURCE_DATE_EPOCH" in os.environ else time.time()

    def add(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
        info = tarfile.TarInfo(f"{base}/{arcname}")
        info.size, info.mode, info.mtime = len(data), 0o644, int(mtime)
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "PKG-INFO", _metadata(project).encode("utf-8"))
        for part in _SDIST_PARTS:
            full = os.path.join(ROOT, part)
            if os.path.isfile(full):
                with open(full, "rb") as f:
                    add(tar, part, f.read())
                continue
            for dirpath, dirs, names in os.walk(full):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for n in sorted(names):
                    if n.endswith((".pyc", ".pyo")):
                        continue
                    path = os.path.join(dirpath, n)
                    with open(path, "rb") as f:
                        add(tar, os.path.relpath(path, ROOT).replace(os.sep, "/"), f.read())
    return filename
