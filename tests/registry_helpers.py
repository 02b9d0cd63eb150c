"""Shared by the registry tests: a session that counts what it sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    auth: Any
    params: dict[str, str]


class CountingSession(requests.Session):
    """A requests session that remembers every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        self.sent.append(
            Sent(
                method.upper(),
                url,
                dict(kwargs.get("headers") or {}),
                kwargs.get("auth"),
                dict(kwargs.get("params") or {}),
            )
        )
        return super().request(method, url, *args, **kwargs)

    def manifest_requests(self, method: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and "/manifests/" in s.url]

    def forget(self) -> None:
        self.sent.clear()
