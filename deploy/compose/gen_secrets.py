"""Secrets of the docker-compose deployment (``make compose-certs``), under ``secrets/``.

- ``ca.crt`` / ``ca.key``: a private CA for the proxies' mTLS (``services.proxy.pki``);
- ``<party>/tls/{tls.crt,tls.key,ca.crt}``: the party's proxy certificate (``party-<id>``);
- ``<party>/site.env``: ``FEDLOOM_TOKEN``, ``DATABASE_URL``, ``REDIS_URL`` of the party's
  proxy, flow and executor; ``<party>/postgres.env``, ``<party>/redis.env`` and
  ``<party>/redis.conf`` for its PostgreSQL and Redis.

Existing files are kept (``--force`` regenerates everything). ``secrets/`` is gitignored and
``0700``; the files containers read are world-readable inside it (bind mounts keep the host's
owner, and the containers run as other users), the proxy key is given to uid 10001 (the
image's user) when this runs as root.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.proxy.pki import Pem, issue_party_cert, new_ca, write_party_files  # noqa: E402

PARTIES = (9999, 10000, 10001)
IMAGE_UID = 10001  # the fedloom image's user


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _party(out: Path, ca: Pem, party: int) -> None:
    """Certificate, tokens and passwords of one party (kept when present)."""
    party_dir = out / str(party)
    party_dir.mkdir(parents=True, exist_ok=True)
    party_dir.chmod(0o755)
    tls_dir = party_dir / "tls"
    if not (tls_dir / "tls.key").exists():
        write_party_files(tls_dir, ca, issue_party_cert(ca, party), key_mode=0o600)
        tls_dir.chmod(0o755)
        if os.geteuid() == 0:
            os.chown(tls_dir / "tls.key", IMAGE_UID, IMAGE_UID)
        else:  # the container user must read it; secrets/ itself is 0700
            (tls_dir / "tls.key").chmod(0o644)
    if (party_dir / "site.env").exists():
        return
    token, db_password, redis_password = (secrets.token_hex(24) for _ in range(3))
    _write(
        party_dir / "site.env",
        f"FEDLOOM_TOKEN={token}\n"
        f"DATABASE_URL=postgresql+psycopg://fedloom:{db_password}@postgres:5432/fedloom\n"
        f"REDIS_URL=redis://:{redis_password}@redis:6379/0\n",
        0o600,
    )
    _write(
        party_dir / "postgres.env",
        f"POSTGRES_USER=fedloom\nPOSTGRES_PASSWORD={db_password}\nPOSTGRES_DB=fedloom\n",
        0o600,
    )
    _write(party_dir / "redis.env", f"REDIS_PASSWORD={redis_password}\n", 0o600)
    _write(
        party_dir / "redis.conf",
        f"bind 0.0.0.0\nport 6379\nrequirepass {redis_password}\ndir /data\nappendonly yes\n",
    )


def main(argv: list[str] | None = None) -> int:
    """Generate what is missing; print where it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "secrets")
    parser.add_argument("--force", action="store_true", help="regenerate everything")
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.force and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    if (out / "ca.key").exists():
        ca = Pem((out / "ca.crt").read_bytes(), (out / "ca.key").read_bytes())
    else:
        ca = new_ca("fedloom compose CA")
        _write(out / "ca.crt", ca.cert.decode())
        _write(out / "ca.key", ca.key.decode(), 0o600)
    for party in PARTIES:
        _party(out, ca, party)
    print(f"compose secrets in {out} (parties {', '.join(map(str, PARTIES))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
