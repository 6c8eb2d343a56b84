"""A local certificate authority and a server certificate for ``--tls``.

The official SDKs always use https when built ``from_connection_string``. To serve them
unchanged, the emulator presents a certificate for ``localhost``, ``127.0.0.1`` and ``::1``
signed by a CA of its own; clients trust that CA through ``SSL_CERT_FILE`` (ssl, aiohttp) and
``REQUESTS_CA_BUNDLE`` (requests). The files are kept in a directory and reused while they
are valid, so the CA path a user exported stays good across restarts. ``--recording-host``
names one more host the certificate must cover (recording downloads go there); files without
it are made anew.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"
DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")
CA_LIFETIME = timedelta(days=3650)
# Shorter than the CA, and under the 398 days that clients accept for server certificates.
SERVER_LIFETIME = timedelta(days=397)
# Regenerate a little before expiry so a running emulator does not cross it.
RENEW_MARGIN = timedelta(days=7)


@dataclass(frozen=True)
class TlsFiles:
    """Where the PEM files are, and a server context loaded with them."""

    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def default_directory() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "roombot" / "emulator-tls"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "roombot ACS emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _make_ca(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("roombot ACS emulator local CA"))
        .issuer_name(_name("roombot ACS emulator local CA"))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server(
    now: datetime, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, dns_names: tuple[str, ...]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in IP_ADDRESSES]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + SERVER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _still_good(files: TlsFiles, now: datetime, dns_names: tuple[str, ...]) -> bool:
    """Whether existing files form a chain that is valid now and for the renewal margin, for
    every name in ``dns_names``."""
    try:
        ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        server = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
        files.server_context()
    except (OSError, ValueError, ssl.SSLError):
        return False
    try:
        server.verify_directly_issued_by(ca)
        covered = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    if not set(dns_names) <= set(covered.get_values_for_type(x509.DNSName)):
        return False
    return all(now + RENEW_MARGIN < cert.not_valid_after_utc for cert in (ca, server))


def _write(path: Path, data: bytes, mode: int) -> None:
    # Created with its final mode, so the private keys are never readable by others.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.chmod(path, mode)  # an older file keeps its mode through O_TRUNC


def ensure_tls_files(
    directory: Path | None = None, *, now: datetime | None = None, extra_names: tuple[str, ...] = ()
) -> TlsFiles:
    """Reuse the CA and server certificate in ``directory``, or create them there; the
    certificate names ``localhost``, the loopback addresses and ``extra_names``."""
    directory = directory or default_directory()
    files = TlsFiles(directory, directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE)
    now = now or datetime.now(UTC)
    dns_names = tuple(dict.fromkeys((*DNS_NAMES, *extra_names)))
    if _still_good(files, now, dns_names):
        return files
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key, ca_cert = _make_ca(now)
    server_key, server_cert = _make_server(now, ca_key, ca_cert, dns_names)
    _write(files.ca_file, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(files.cert_file, server_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(files.key_file, _pem_key(server_key), 0o600)
    # The CA key is not kept: nothing else is ever signed with it, and it cannot leak.
    return files
