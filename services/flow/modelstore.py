"""The model registry of one party: its parts of trained, deployed and imported models.

A train job that succeeds here registers ``(model_id, model_version = job id)`` with a copy of
every model file this party's tasks wrote, under ``<data_dir>/models``. A deploy adds a child
version sharing those files plus the inference DSL. Export writes one party's part as a zip
(``manifest.json`` and the model JSON files); import reads one back. Nothing in an imported
file is trusted as a path: files are stored under names this module makes.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedloom.dsl.deploy import model_id_of
from services.common.contracts import TaskOutputs
from services.flow.models import Job, Model, Task, utcnow

_MODEL_ID = re.compile(r"[A-Za-z0-9_#\-]{1,512}")
_VERSION = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_NAME = re.compile(r"[A-Za-z0-9_\-]{1,128}")
_ROLES = ("guest", "host", "arbiter")
MAX_IMPORT_BYTES = 64 * 1024 * 1024
"""Largest model file accepted by import (zip and unpacked)."""
EXPORT_FORMAT = "fedloom-model/1"


class ModelError(ValueError):
    """A model cannot be stored, found, exported or imported; the message says why."""


def check_model_key(model_id: str, model_version: str) -> None:
    """ModelError unless ``model_id`` and ``model_version`` are well-formed."""
    if not _MODEL_ID.fullmatch(model_id):
        raise ModelError(f"model_id {model_id!r} is not a model id (letters, digits, _ # -)")
    if not _VERSION.fullmatch(model_version):
        raise ModelError(f"model_version {model_version!r} is not a version (letters, digits, _ -)")


class ModelStore:
    """Registry rows in the flow database and model files under ``<data_dir>/models``."""

    def __init__(self, sessions: sessionmaker[Session], data_dir: Path) -> None:
        self._sessions = sessions
        self.root = data_dir.resolve() / "models"

    def get(self, model_id: str, model_version: str) -> Model | None:
        """The model, or None."""
        with self._sessions() as session:
            return session.get(Model, (model_id, model_version))

    def models(self, model_id: str | None = None, limit: int = 100, offset: int = 0) -> list[Model]:
        """Models, newest first, optionally of one model id."""
        query = select(Model).order_by(Model.created_at.desc(), Model.model_version.desc())
        if model_id is not None:
            query = query.where(Model.model_id == model_id)
        with self._sessions() as session:
            return list(session.scalars(query.offset(offset).limit(limit)))

    def for_job(self, job_id: str) -> Model | None:
        """The model a train job registered here, or None."""
        query = select(Model).where(Model.job_id == job_id, Model.kind == "trained")
        with self._sessions() as session:
            return session.scalars(query).first()

    def path(self, model: Model, component: str, role: str) -> Path | None:
        """This party's model file of ``component`` at ``role``, or None when it has none."""
        relative = (model.artifacts.get(component) or {}).get(role)
        return self.root / relative if isinstance(relative, str) else None

    def register_job(self, job: Job, tasks: list[Task]) -> Model | None:
        """Register a successful train job's model files here (None when none were written)."""
        if self.for_job(job.job_id) is not None:
            return None
        model_id = model_id_of(job.role)
        check_model_key(model_id, job.job_id)
        files: dict[tuple[str, str], bytes] = {}
        modules: dict[str, str] = {}
        for task in tasks:
            if task.status != "success" or not task.outputs:
                continue
            outputs = TaskOutputs.model_validate(task.outputs)
            if outputs.model is not None:
                try:
                    files[(task.component, task.role)] = Path(outputs.model.path).read_bytes()
                except OSError as exc:
                    raise ModelError(f"cannot read {task.component}'s model file: {exc}") from exc
                modules[task.component] = task.module
        if not files:
            return None
        artifacts = self._store_files(model_id, job.job_id, files)
        return self._add(
            Model(
                model_id=model_id,
                model_version=job.job_id,
                kind="trained",
                job_id=job.job_id,
                parent_version=None,
                roles=dict(job.role),
                train_dsl=job.dsl,
                train_conf=job.conf,
                inference_dsl=None,
                modules=modules,
                artifacts=artifacts,
                created_at=utcnow(),
            )
        )

    def add_child(self, parent: Model, version: str, inference_dsl: dict[str, Any]) -> Model:
        """A deployed child of ``parent`` holding ``inference_dsl`` (the same model files)."""
        check_model_key(parent.model_id, version)
        if self.get(parent.model_id, version) is not None:
            raise ModelError(f"model {parent.model_id} version {version} already exists")
        return self._add(
            Model(
                model_id=parent.model_id,
                model_version=version,
                kind="deployed",
                job_id=parent.job_id,
                parent_version=parent.model_version,
                roles=dict(parent.roles),
                train_dsl=parent.train_dsl,
                train_conf=parent.train_conf,
                inference_dsl=inference_dsl,
                modules=dict(parent.modules),
                artifacts=dict(parent.artifacts),
                created_at=utcnow(),
            )
        )

    def export(self, model: Model) -> bytes:
        """This party's part of ``model`` as a zip: ``manifest.json`` and its model files."""
        manifest = {
            "format": EXPORT_FORMAT,
            **{key: getattr(model, key) for key in _MANIFEST_KEYS},
            "files": {},
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for component, by_role in sorted(model.artifacts.items()):
                for role, relative in sorted(by_role.items()):
                    name = f"{component}/{role}.json"
                    archive.write(self.root / relative, name)
                    manifest["files"].setdefault(component, {})[role] = name
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        return buffer.getvalue()

    def import_(self, data: bytes) -> Model:
        """Register a model exported by :meth:`export` (ModelError saying what is wrong)."""
        if len(data) > MAX_IMPORT_BYTES:
            raise ModelError(f"the model file is larger than {MAX_IMPORT_BYTES} bytes")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if sum(i.file_size for i in archive.infolist()) > MAX_IMPORT_BYTES:
                    raise ModelError(f"the model unpacks to more than {MAX_IMPORT_BYTES} bytes")
                manifest = _manifest(archive.read("manifest.json"))
                contents = {
                    (component, role): _model_json(archive.read(name), f"{component}/{role}")
                    for component, by_role in manifest["files"].items()
                    for role, name in by_role.items()
                }
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelError(f"not a fedloom model file: {exc}") from None
        model_id, version = manifest["model_id"], manifest["model_version"]
        if self.get(model_id, version) is not None:
            raise ModelError(f"model {model_id} version {version} already exists here")
        artifacts = self._store_files(model_id, version, contents)
        values = {key: manifest[key] for key in _MANIFEST_KEYS}
        values.update(kind="imported", artifacts=artifacts, created_at=utcnow())
        return self._add(Model(**values))

    def _store_files(
        self, model_id: str, version: str, files: dict[tuple[str, str], bytes]
    ) -> dict[str, dict[str, str]]:
        """Write each (component, role) model file under names this module makes; all or none."""
        base = Path(_directory(model_id)) / version
        artifacts: dict[str, dict[str, str]] = {}
        try:
            for (component, role), content in files.items():
                relative = base / component / f"{role}.json"
                (self.root / relative).parent.mkdir(parents=True, exist_ok=True)
                (self.root / relative).write_bytes(content)
                artifacts.setdefault(component, {})[role] = relative.as_posix()
        except OSError as exc:
            shutil.rmtree(self.root / base, ignore_errors=True)
            raise ModelError(f"cannot store the model files: {exc}") from exc
        return artifacts

    def _add(self, model: Model) -> Model:
        with self._sessions.begin() as session:
            session.add(model)
        return model


_MANIFEST_KEYS = (
    "model_id",
    "model_version",
    "job_id",
    "parent_version",
    "roles",
    "train_dsl",
    "train_conf",
    "inference_dsl",
    "modules",
)


def _directory(model_id: str) -> str:
    return model_id.replace("#", "__")


def _manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise ModelError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise ModelError(f"manifest.json is not a {EXPORT_FORMAT} manifest")
    missing = [key for key in (*_MANIFEST_KEYS, "files") if key not in manifest]
    if missing:
        raise ModelError(f"manifest.json lacks {', '.join(missing)}")
    check_model_key(str(manifest["model_id"]), str(manifest["model_version"]))
    for key in ("roles", "train_dsl", "train_conf", "modules", "files"):
        if not isinstance(manifest[key], dict):
            raise ModelError(f"manifest.json: {key} must be an object")
    for component, by_role in manifest["files"].items():
        if not _NAME.fullmatch(str(component)) or not isinstance(by_role, dict):
            raise ModelError(f"manifest.json: bad component {component!r}")
        for role in by_role:
            if role not in _ROLES:
                raise ModelError(f"manifest.json: {component} has an unknown role {role!r}")
    return manifest


def _model_json(raw: bytes, what: str) -> bytes:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ModelError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ModelError(f"{what} must be a JSON object")
    return raw
