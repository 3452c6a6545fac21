"""Errors raised by model backends. `retryable` tells callers whether trying again may help."""

from __future__ import annotations


class ModelError(Exception):
    """Base of every error a model backend raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class ModelNotFoundError(ModelError):
    """A configured model file, folder or package is not installed."""


class BackendConfigError(ModelError):
    """A backend name or option in the configuration is invalid."""


class BackendUnavailableError(ModelError):
    """A remote engine could not be reached (connection refused, timeout)."""

    retryable = True


class BackendResponseError(ModelError):
    """A remote engine answered with an error (HTTP status or malformed stream)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
