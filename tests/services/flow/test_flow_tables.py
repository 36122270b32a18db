"""Flow REST API: auth, health, docs, and the tables API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from flow_support import AUTH, GUEST_CSV, Site, running_sites, upload

pytestmark = pytest.mark.unit


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with running_sites(tmp_path, (9999,)) as sites:
        yield sites[9999]


@pytest.fixture
def client(site: Site) -> TestClient:
    return site.client


def test_health_and_docs_are_open(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "party_id": 9999}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/jobs" in paths and "/internal/v1/control" in paths


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/tables"),
        ("post", "/api/v1/tables/exp/t"),
        ("get", "/api/v1/jobs"),
        ("post", "/api/v1/jobs"),
        ("get", "/api/v1/jobs/x/logs"),
        ("post", "/internal/v1/control"),
        ("post", "/internal/v1/tasks/t/events"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_token_required(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_upload_csv_body(site: Site) -> None:
    response = upload(site, "exp", "guest", GUEST_CSV, label_column="y")
    assert response.status_code == 201, response.text
    meta = response.json()
    assert {k: meta[k] for k in ("namespace", "name", "rows", "columns", "header")} == {
        "namespace": "exp",
        "name": "guest",
        "rows": 4,
        "columns": 4,
        "header": ["id", "y", "x0", "x1"],
    }
    assert meta["id_column"] == "id" and meta["label_column"] == "y"
    stored = site.settings.data_dir / "tables" / "exp" / "guest.csv"
    assert stored.read_text().splitlines()[1] == "a,1,0.5,1.5"
    got = site.client.get("/api/v1/tables/exp/guest", headers=AUTH).json()
    assert got["rows"] == 4 and got["label_column"] == "y"


def test_upload_multipart_and_options(site: Site) -> None:
    text = "u1, 3 ,0\nu2,4,1\n"
    response = site.client.post(
        "/api/v1/tables/exp/nohead",
        params={"head": "false", "label_column": "x1"},
        files={"file": ("t.csv", text.encode(), "text/csv")},
        headers=AUTH,
    )
    assert response.status_code == 201, response.text
    assert response.json()["header"] == ["id", "x0", "x1"]
    preview = site.client.get("/api/v1/tables/exp/nohead/preview", headers=AUTH).json()
    assert preview["header"] == ["id", "x0", "x1"]
    assert preview["rows"] == [["u1", "3", "0"], ["u2", "4", "1"]]


def test_id_column_may_be_any_column(site: Site) -> None:
    response = upload(site, "exp", "byname", "x0,uid\n1.5,a\n2,b\n", id_column="uid")
    assert response.status_code == 201, response.text
    assert response.json()["id_column"] == "uid"


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        ("id,x0,x1\na,1,2\nb,1,oops\n", {}, "line 3, column 'x1': 'oops' is not a number"),
        ("id,x0\na,1\nb,2\na,3\n", {}, "line 4, column 'id': duplicate id 'a' (first on line 2)"),
        ("id,x0\na,1\n", {"label_column": "y"}, "no label column 'y'"),
        ("id,y,x0\na,2,1\n", {"label_column": "y"}, "line 2, column 'y': label '2' is not 0 or 1"),
        ("id,x0\na,1,3\n", {}, "line 2 has 3 fields, the header has 2"),
        ("id,x0\na,inf\n", {}, "line 2, column 'x0': 'inf' is not finite"),
        ("id,x0\n", {}, "no data rows"),
        ("", {}, "the file is empty"),
        ("id,x0\n,1\n", {}, "line 2, column 'id': empty id"),
        ("id,x0\na,1\n", {"id_column": "uid"}, "no id column 'uid'"),
    ],
)
def test_upload_errors_name_line_and_column(
    site: Site, text: str, params: dict[str, str], expected: str
) -> None:
    response = upload(site, "exp", "bad", text, **params)
    assert response.status_code == 422
    assert expected in response.json()["detail"]
    assert site.client.get("/api/v1/tables/exp/bad", headers=AUTH).status_code == 404
    staging = site.settings.data_dir / "tables" / ".staging"
    assert not any(staging.iterdir())


def test_bad_names_rejected(site: Site) -> None:
    response = upload(site, "..", "t", GUEST_CSV)
    assert response.status_code in (404, 422)
    response = upload(site, "exp", ".hidden", GUEST_CSV)
    assert response.status_code == 422 and "name '.hidden'" in response.json()["detail"]


def test_conflict_overwrite_list_delete(site: Site) -> None:
    assert upload(site, "exp", "t", GUEST_CSV).status_code == 201
    conflict = upload(site, "exp", "t", GUEST_CSV)
    assert conflict.status_code == 409 and "exp/t" in conflict.json()["detail"]
    replaced = upload(site, "exp", "t", "id,x0\nz,1\n", overwrite="true")
    assert replaced.status_code == 201 and replaced.json()["rows"] == 1
    assert upload(site, "other", "u", GUEST_CSV).status_code == 201
    listed = site.client.get("/api/v1/tables", headers=AUTH).json()
    assert [(t["namespace"], t["name"]) for t in listed] == [("exp", "t"), ("other", "u")]
    only = site.client.get("/api/v1/tables", params={"namespace": "other"}, headers=AUTH).json()
    assert [t["name"] for t in only] == ["u"]
    preview = site.client.get("/api/v1/tables/other/u/preview?limit=2", headers=AUTH).json()
    assert preview["rows"] == [["a", "1", "0.5", "1.5"], ["b", "0", "1.0", "2.0"]]
    assert site.client.delete("/api/v1/tables/exp/t", headers=AUTH).status_code == 204
    assert not (site.settings.data_dir / "tables" / "exp" / "t.csv").exists()
    assert site.client.delete("/api/v1/tables/exp/t", headers=AUTH).status_code == 404
    assert site.client.get("/api/v1/tables/exp/t/preview", headers=AUTH).status_code == 404
