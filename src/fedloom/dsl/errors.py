"""The error of an invalid job, and the collector that gathers every problem before raising it."""

from __future__ import annotations

from collections.abc import Iterable


def join_path(*parts: object) -> str:
    """``"conf", "role", 0`` → ``"conf.role.0"`` (empty parts are skipped)."""
    return ".".join(str(p) for p in parts if str(p) != "")


class DslError(ValueError):
    """A job's DSL or runtime conf is invalid.

    ``path`` names the first offending field (``conf.component_parameters.common.hetero_lr_0.
    alpah``) and ``message`` says what is wrong with it; ``errors`` lists every problem found,
    as ``(path, message)`` pairs, so that a client can be told about all of them at once.
    """

    def __init__(
        self, path: str, message: str, errors: Iterable[tuple[str, str]] | None = None
    ) -> None:
        self.errors: list[tuple[str, str]] = list(errors) if errors is not None else []
        if not self.errors:
            self.errors = [(path, message)]
        self.path = path
        self.message = message
        lines = [f"{p}: {m}" for p, m in self.errors]
        summary = lines[0] if len(lines) == 1 else f"{len(lines)} errors: " + "; ".join(lines)
        super().__init__(summary)


class ErrorCollector:
    """Accumulates ``(path, message)`` problems, each once, in the order they were found."""

    def __init__(self) -> None:
        self._errors: list[tuple[str, str]] = []
        self._seen: set[str] = set()

    def add(self, path: str, message: str) -> None:
        """Record one problem; a second problem at the same path is dropped."""
        if path not in self._seen:
            self._seen.add(path)
            self._errors.append((path, message))

    def __bool__(self) -> bool:
        return bool(self._errors)

    @property
    def errors(self) -> list[tuple[str, str]]:
        """The problems recorded so far."""
        return list(self._errors)

    def raise_if_any(self) -> None:
        """Raise a :class:`DslError` carrying every recorded problem, if there is one."""
        if self._errors:
            path, message = self._errors[0]
            raise DslError(path, message, self._errors)
