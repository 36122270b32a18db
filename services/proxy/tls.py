"""mTLS between proxies: credentials from PEM files and the party a peer's certificate names.

Every proxy holds a certificate (``FEDLOOM_TLS_CERT`` + ``FEDLOOM_TLS_KEY``) issued by the
federation's CA (``FEDLOOM_TLS_CA``) whose subject CN or a DNS subject alternative name is
``party-<party_id>``. Both directions are checked:

- the public listener requires a client certificate from the CA, and the party it names must be
  the ``src`` that each envelope or control message claims (:func:`peer_parties`);
- an outgoing connection to party N verifies that the server's certificate names ``party-N``
  (``grpc.ssl_target_name_override``), whatever host name or IP the route table uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import grpc

__all__ = [
    "TlsConfig",
    "TlsError",
    "channel_credentials",
    "load_tls",
    "party_name",
    "peer_channel_options",
    "peer_parties",
    "server_credentials",
]

_PARTY_NAME = re.compile(r"party-([1-9][0-9]*)")


class TlsError(ValueError):
    """A TLS file is missing or unreadable; the message names the setting and the path."""


@dataclass(frozen=True)
class TlsConfig:
    """PEM bytes of this party's certificate chain, its private key and the trusted CA(s)."""

    cert: bytes
    key: bytes
    ca: bytes


def _read(path: Path, setting: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TlsError(f"{setting}: cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN " not in data:
        raise TlsError(f"{setting}: {path} is not a PEM file")
    return data


def load_tls(cert: Path | None, key: Path | None, ca: Path | None) -> TlsConfig | None:
    """Read the three PEM files; ``None`` when none is set, :class:`TlsError` if some are."""
    given = {"FEDLOOM_TLS_CERT": cert, "FEDLOOM_TLS_KEY": key, "FEDLOOM_TLS_CA": ca}
    missing = [name for name, path in given.items() if path is None]
    if len(missing) == len(given):
        return None
    if missing:
        raise TlsError(f"TLS needs all of FEDLOOM_TLS_CERT/KEY/CA; missing {', '.join(missing)}")
    assert cert is not None and key is not None and ca is not None
    return TlsConfig(
        cert=_read(cert, "FEDLOOM_TLS_CERT"),
        key=_read(key, "FEDLOOM_TLS_KEY"),
        ca=_read(ca, "FEDLOOM_TLS_CA"),
    )


def party_name(party_id: int) -> str:
    """The name a party's certificate carries (CN or DNS SAN): ``party-<party_id>``."""
    return f"party-{party_id}"


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """Server side of mTLS: present our certificate, require one from the CA of every client."""
    return grpc.ssl_server_credentials(
        [(tls.key, tls.cert)], root_certificates=tls.ca, require_client_auth=True
    )


def channel_credentials(tls: TlsConfig) -> grpc.ChannelCredentials:
    """Client side of mTLS: trust only the CA, present our certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=tls.ca, private_key=tls.key, certificate_chain=tls.cert
    )


def peer_channel_options(party_id: int) -> list[tuple[str, str]]:
    """Channel options that make the client verify the server's certificate names the party."""
    return [("grpc.ssl_target_name_override", party_name(party_id))]


def peer_parties(context: grpc.ServicerContext) -> frozenset[int]:
    """Party ids named (``party-<id>``) by the client certificate of an mTLS call.

    Empty when the call carries no verified client certificate (plaintext listener).
    """
    auth = context.auth_context()
    if auth.get("transport_security_type") != [b"ssl"]:
        return frozenset()
    names = [*auth.get("x509_common_name", []), *auth.get("x509_subject_alternative_name", [])]
    parties: set[int] = set()
    for raw in names:
        match = _PARTY_NAME.fullmatch(raw.decode("utf-8", errors="replace"))
        if match:
            parties.add(int(match.group(1)))
    return frozenset(parties)
