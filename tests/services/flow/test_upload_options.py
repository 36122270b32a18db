"""The upload REST API with FATE's options (head, extend_sid, id_delimiter, with_meta + meta)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flow_support import AUTH, Site, running_sites, upload

from fedloom.components import InputArtifact, load_table, load_table_with_meta, run_task
from fedloom.federation import Context, InMemoryTransport, JobParties, Messenger, Party
from services.cli.main import _upload_options, build_parser

pytestmark = pytest.mark.unit

SPARSE_META = json.dumps({"input_format": "sparse", "delimiter": " ", "with_label": True})


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with running_sites(tmp_path, (9999,)) as sites:
        yield sites[9999]


def _tables(site: Site) -> Path:
    return site.settings.data_dir / "tables"


def _nothing_left(site: Site, namespace: str, name: str) -> None:
    assert site.client.get(f"/api/v1/tables/{namespace}/{name}", headers=AUTH).status_code == 404
    assert not (_tables(site) / namespace).exists()
    staging = _tables(site) / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


def _context() -> Context:
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    local = Party("guest", 9999)
    return Context(
        local=local, parties=parties, messenger=Messenger(InMemoryTransport(), "j", local)
    ).sub("c")


def _reader_then_transform(meta: dict[str, Any], out: Path, **params: Any) -> Any:
    """Run Reader on a stored table with the artifact meta the flow builds (no format: the
    Reader reads the meta file beside the table), then DataTransform."""
    path = Path(meta.pop("path"))
    table = {"table": InputArtifact("table", path, meta)}
    reader_params = {"table": {"name": "t", "namespace": "n"}}
    read = run_task("Reader", "guest", 9999, _context(), reader_params, table, out / "r")
    data = {"data": InputArtifact("data", read.data["data"])}
    return run_task("DataTransform", "guest", 9999, _context(), params, data, out / "d")


def test_sparse_upload_with_meta_then_reader_and_data_transform(site: Site, tmp_path: Path) -> None:
    text = "id y features\na 1 0:0.5 2:1\nb 0 1:2\n"
    response = upload(site, "exp", "sp", text, with_meta="1", meta=SPARSE_META)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["header"] == ["id", "features"] and body["rows"] == 2
    stored = _tables(site) / "exp" / "sp.csv"
    sidecar = json.loads((_tables(site) / "exp" / "sp.meta.json").read_text())
    assert sidecar["input_format"] == "sparse" and sidecar["with_label"] is True
    assert sidecar["head"] is True and sidecar["id_delimiter"] == " "
    preview = site.client.get("/api/v1/tables/exp/sp/preview", headers=AUTH).json()
    assert preview["rows"] == [["a", "1 0:0.5 2:1"], ["b", "0 1:2"]]
    meta = {"path": str(stored), "id_column": "id", "header": body["header"], "head": True}
    result = _reader_then_transform(meta, tmp_path)
    table = load_table(result.data["data"])
    assert table.header == ["x0", "x1", "x2"] and table.features.tolist() == [
        [0.5, 0, 1],
        [0, 2, 0],
    ]
    assert table.labels is not None and table.labels.tolist() == [1.0, 0.0]


def test_dense_options_extend_sid_and_id_delimiter(site: Site, tmp_path: Path) -> None:
    response = upload(
        site, "exp", "gen", "1;2\n3;NA\n", head="0", extend_sid="1", auto_increasing_sid="1",
        id_delimiter=";",
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["header"] == ["sid", "x0", "x1"]
    assert response.json()["id_column"] == "sid"
    lines = (_tables(site) / "exp" / "gen.csv").read_text().splitlines()
    assert lines == ["sid,x0,x1", "0,1,2", "1,3,NA"]
    meta = {"path": str(_tables(site) / "exp" / "gen.csv"), "id_column": "sid", "header": True}
    result = _reader_then_transform(meta, tmp_path, missing_fill=True, default_value=-1)
    table, _ = load_table_with_meta(result.data["data"])
    assert table.ids == ["0", "1"] and table.features.tolist() == [[1, 2], [3, -1]]


def test_tag_upload_with_label_in_meta(site: Site) -> None:
    meta = json.dumps({"input_format": "tag", "delimiter": ";", "with_label": True})
    response = upload(
        site,
        "exp",
        "tags",
        "u1,1;a;b\nu2,0;c\n",
        head="0",
        id_delimiter=",",
        with_meta="true",
        meta=meta,
    )
    assert response.status_code == 201, response.text
    bad = upload(
        site, "other", "tags2", "u1,3;a\n", head="0", id_delimiter=",", with_meta="1", meta=meta
    )
    assert bad.status_code == 422
    assert bad.json()["detail"] == "line 1, label: label '3' is not 0 or 1"
    _nothing_left(site, "other", "tags2")


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"meta": SPARSE_META}, "meta: is read only with with_meta=1"),
        ({"with_meta": "1"}, "with_meta: needs meta"),
        ({"with_meta": "1", "meta": "{oops"}, "meta: not JSON"),
        ({"with_meta": "1", "meta": "[1]"}, "meta: must be a JSON object"),
        ({"with_meta": "1", "meta": '{"input_format": "svm"}'}, "meta.input_format: expected"),
        ({"with_meta": "1", "meta": '{"id_range": [0, 3]}'}, "meta.id_range: match-id ranges"),
        ({"auto_increasing_sid": "1"}, "auto_increasing_sid: only applies with extend_sid"),
        ({"id_delimiter": "::"}, "id_delimiter: must be one character"),
        ({"extend_sid": "1", "id_column": "id"}, "id_column: with extend_sid"),
    ],
)
def test_bad_options_are_422_naming_the_parameter(
    site: Site, params: dict[str, str], fragment: str
) -> None:
    response = upload(site, "exp", "bad", "id,x\na,1\n", **params)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
    _nothing_left(site, "exp", "bad")


@pytest.mark.parametrize("param", ["head", "extend_sid", "with_meta", "auto_increasing_sid"])
def test_bad_flag_values_are_422_naming_the_parameter(site: Site, param: str) -> None:
    response = upload(site, "exp", "bad", "id,x\na,1\n", **{param: "maybe"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", param]


def test_failed_upload_leaves_nothing_and_keeps_the_old_table(site: Site) -> None:
    response = upload(site, "new", "t", "id,x\na,1\nb,oops\n")
    assert response.status_code == 422 and "line 3, column 'x'" in response.json()["detail"]
    _nothing_left(site, "new", "t")
    assert upload(site, "exp", "t", "id,x\na,1\n").status_code == 201
    again = upload(site, "exp", "t", "id,x\na,oops\n", overwrite="true")
    assert again.status_code == 422
    assert (_tables(site) / "exp" / "t.csv").read_text().splitlines() == ["id,x", "a,1"]
    assert (
        json.loads((_tables(site) / "exp" / "t.meta.json").read_text())["input_format"] == "dense"
    )
    assert site.client.delete("/api/v1/tables/exp/t", headers=AUTH).status_code == 204
    assert not (_tables(site) / "exp").exists()


def test_cli_flags_become_query_options() -> None:
    args = build_parser().parse_args(
        ["table", "upload", "ns", "t", "f.txt", "--head", "0", "--extend-sid",
         "--auto-increasing-sid", "--id-delimiter", " ", "--meta", SPARSE_META]
    )  # fmt: skip
    assert _upload_options(args) == {
        "head": "0",
        "extend_sid": "1",
        "auto_increasing_sid": "1",
        "id_delimiter": " ",
        "with_meta": "1",
        "meta": SPARSE_META,
    }
    plain = build_parser().parse_args(["table", "upload", "ns", "t", "f.csv", "--label", "y"])
    assert _upload_options(plain) == {"head": "1"} and plain.label == "y"
