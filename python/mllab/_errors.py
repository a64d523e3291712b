"""The one exception type of the ML Lab client."""

from __future__ import annotations

from typing import Optional

__all__ = ["MLLabError"]


class MLLabError(Exception):
    """An error whose message says what went wrong and what to do about it.

    Attributes:
        message: the sentence shown to a person (also ``str(error)``).
        code: the backend's error code (e.g. ``"not_found"``), or a client-side code
            such as ``"no_home"``, ``"not_running"``, ``"unsafe_package"``.
        status: the HTTP status of the backend's answer, ``None`` when the error
            did not come from an HTTP answer.
    """

    def __init__(self, message: str, *, code: Optional[str] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
