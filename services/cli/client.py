"""A small REST client of a site's flow, used by the CLI, the demo and the e2e tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

TERMINAL = frozenset({"success", "failed", "canceled", "timeout"})


class FlowError(RuntimeError):
    """A flow answered with an error; the message carries its status code and detail."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class FlowClient:
    """Calls one site's REST API with its bearer token."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise FlowError(response.status_code, detail)
        return response.json() if response.content else None

    def upload_table(
        self, namespace: str, name: str, csv_path: Path, label_column: str | None = None
    ) -> dict[str, Any]:
        """Upload a CSV as table namespace/name (header on, id in the first column)."""
        params = {"label_column": label_column} if label_column else {}
        result: dict[str, Any] = self._call(
            "POST",
            f"/api/v1/tables/{namespace}/{name}",
            params={**params, "overwrite": "true"},
            content=csv_path.read_bytes(),
            headers={"Content-Type": "text/csv"},
        )
        return result

    def submit(self, dsl: dict[str, Any], conf: dict[str, Any]) -> str:
        """Submit a FATE DSL v2 job; returns its id."""
        result = self._call("POST", "/api/v1/jobs", json={"dsl": dsl, "conf": conf})
        return str(result["job_id"])

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's status document."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/jobs/{job_id}")
        return result

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Ask the initiator to cancel the job at every party."""
        result: dict[str, Any] = self._call("POST", f"/api/v1/jobs/{job_id}/cancel")
        return result

    def metrics(self, job_id: str, component: str) -> dict[str, Any]:
        """Metrics a component produced at this party."""
        result: dict[str, Any] = self._call(
            "GET", f"/api/v1/jobs/{job_id}/components/{component}/metrics"
        )
        return result

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.5) -> dict[str, Any]:
        """Poll until the job is terminal (or raise TimeoutError naming the job)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.job(job_id)
            if status.get("status") in TERMINAL:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {status.get('status')} after {timeout:g} s")
            time.sleep(poll)
