"""A small private CA for proxy mTLS: one CA, one certificate per party (``party-<id>``).

For tests, the docker-compose deployment (``make compose-certs``) and small federations. In
production each party keeps its private key at home: it sends a CSR to whoever runs the
federation's CA, and only certificates travel.

``python -m services.proxy.pki --out DIR --parties 9999,10000,10001`` writes ``DIR/ca.crt``,
``DIR/ca.key`` (reused when present) and ``DIR/<party>/{tls.crt,tls.key,ca.crt}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.proxy.tls import party_name

__all__ = ["Pem", "issue_party_cert", "new_ca", "write_party_files"]


@dataclass(frozen=True)
class Pem:
    """A certificate and its private key, PEM-encoded."""

    cert: bytes
    key: bytes


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _validity(days: int) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)


def new_ca(common_name: str = "fedloom federation CA", days: int = 3650) -> Pem:
    """A self-signed CA (EC P-256) that may sign party certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start, end = _validity(days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def issue_party_cert(
    ca: Pem, party_id: int, *, extra_names: Sequence[str] = (), days: int = 825
) -> Pem:
    """A certificate for server and client auth naming ``party-<id>`` (CN and DNS SAN).

    ``extra_names`` adds DNS names or IP addresses to the SAN (not needed by fedloom's proxies,
    which verify the party name, but by other TLS clients that check host names).
    """
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key (as new_ca makes)")
    key = ec.generate_private_key(ec.SECP256R1())
    name = party_name(party_id)
    start, end = _validity(days)
    sans = [x509.DNSName(name), *(_general_name(n) for n in extra_names)]
    usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)


def write_party_files(directory: Path, ca: Pem, party: Pem, *, key_mode: int = 0o600) -> None:
    """``tls.crt``, ``tls.key`` (``key_mode``) and ``ca.crt`` of one party into ``directory``."""
    _write(directory / "tls.crt", party.cert, 0o644)
    _write(directory / "tls.key", party.key, key_mode)
    _write(directory / "ca.crt", ca.cert, 0o644)


def main(argv: list[str] | None = None) -> int:
    """Command line: a CA (kept when present) and one certificate per party."""
    parser = argparse.ArgumentParser(prog="python -m services.proxy.pki", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--parties", required=True, help="comma-separated party ids")
    parser.add_argument("--days", type=int, default=825, help="validity of party certificates")
    args = parser.parse_args(argv)
    out: Path = args.out
    ca_cert, ca_key = out / "ca.crt", out / "ca.key"
    if ca_cert.exists() and ca_key.exists():
        ca = Pem(ca_cert.read_bytes(), ca_key.read_bytes())
    else:
        ca = new_ca()
        _write(ca_cert, ca.cert, 0o644)
        _write(ca_key, ca.key, 0o600)
    for text in args.parties.split(","):
        party_id = int(text)
        write_party_files(out / str(party_id), ca, issue_party_cert(ca, party_id, days=args.days))
        print(f"{out / str(party_id)}: certificate for {party_name(party_id)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
