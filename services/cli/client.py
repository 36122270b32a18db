"""A small REST client of a site's flow, used by the CLI, the demo and the e2e tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
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
            raise FlowError(response.status_code, _detail(response))
        return response.json() if response.content else None

    def upload_table(
        self,
        namespace: str,
        name: str,
        csv_path: Path,
        label_column: str | None = None,
        options: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Upload a file as table namespace/name (replacing it); ``options`` are the upload's
        query options (FATE's head, extend_sid, meta, ...; default: header on, id first)."""
        params = {"label_column": label_column} if label_column else {}
        result: dict[str, Any] = self._call(
            "POST",
            f"/api/v1/tables/{namespace}/{name}",
            params={**params, **(options or {}), "overwrite": "true"},
            content=csv_path.read_bytes(),
            headers={"Content-Type": "text/csv"},
        )
        return result

    def submit(self, dsl: dict[str, Any], conf: dict[str, Any]) -> str:
        """Submit a FATE DSL v2 job; returns its id."""
        return str(self.submit_job(dsl, conf)["job_id"])

    def submit_job(self, dsl: dict[str, Any] | None, conf: dict[str, Any]) -> dict[str, Any]:
        """Submit a job (a predict job: conf only); returns job_id, status and model_info."""
        body: dict[str, Any] = {"conf": conf} if dsl is None else {"dsl": dsl, "conf": conf}
        result: dict[str, Any] = self._call("POST", "/api/v1/jobs", json=body)
        return result

    def models(self, model_id: str | None = None) -> list[dict[str, Any]]:
        """This site's models."""
        params = {"model_id": model_id} if model_id else {}
        result: list[dict[str, Any]] = self._call("GET", "/api/v1/models", params=params)
        return result

    def deploy(
        self,
        model_id: str,
        model_version: str,
        cpn_list: list[str] | None = None,
        predict_dsl: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Deploy a model at every party; returns the child model_id / model_version."""
        body: dict[str, Any] = {"model_id": model_id, "model_version": model_version}
        if cpn_list is not None:
            body["cpn_list"] = cpn_list
        if predict_dsl is not None:
            body["predict_dsl"] = predict_dsl
        result: dict[str, Any] = self._call("POST", "/api/v1/models/deploy", json=body)
        return result

    def export_model(self, model_id: str, model_version: str) -> bytes:
        """This party's part of a model as zip bytes."""
        response = self._http.get(
            "/api/v1/models/export",
            params={"model_id": model_id, "model_version": model_version},
        )
        if response.status_code >= 400:
            raise FlowError(response.status_code, _detail(response))
        return response.content

    def import_model(self, path: Path) -> dict[str, Any]:
        """Register a model file made by export at this site."""
        files = {"file": (path.name, path.read_bytes(), "application/zip")}
        result: dict[str, Any] = self._call("POST", "/api/v1/models/import", files=files)
        return result

    def download_csv(self, job_id: str, component: str, role: str | None = None) -> Iterator[str]:
        """A component's whole data output at this party, as CSV text chunks."""
        params = {"role": role} if role else {}
        path = f"/api/v1/jobs/{job_id}/components/{component}/output/data/download"
        with self._http.stream("GET", path, params=params) as response:
            if response.status_code >= 400:
                response.read()
                raise FlowError(response.status_code, _detail(response))
            yield from response.iter_text()

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


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return body.get("detail", response.text) if isinstance(body, dict) else body
