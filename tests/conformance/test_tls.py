"""``--tls``: a local CA, a certificate for the loopback names, and unmodified SDK apps over https."""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509

from emulator.config import EmulatorConfig
from emulator.server import RunningEmulator, start_emulator
from emulator.tls import TlsFiles, ensure_tls_files
from tests.conformance.conftest import signed_request
from tests.conformance.emulator_process import emulator_cli
from tests.support.cli_process import run_to_completion

# An app that knows nothing of the emulator: connection string in, official clients out.
CLIENT_APP = """
import asyncio, json, os
from azure.communication.callautomation import CallAutomationClient
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.identity.aio import CommunicationIdentityClient as AsyncIdentityClient
from azure.communication.rooms import RoomsClient

cs = os.environ["APP_CONNECTION_STRING"]
CallAutomationClient.from_connection_string(cs)
identity = CommunicationIdentityClient.from_connection_string(cs)
user, token = identity.create_user_and_token(["voip"])
identity.get_token(user, ["chat"])
rooms = RoomsClient.from_connection_string(cs)
room = rooms.create_room()
fetched = rooms.get_room(room.id)

async def async_user():
    async with AsyncIdentityClient.from_connection_string(cs) as client:
        return (await client.create_user()).raw_id

result = {"room": room.id, "fetched": fetched.id, "user": user.raw_id}
print(json.dumps({**result, "async_user": asyncio.run(async_user())}))
"""


def san(cert_file: Path) -> x509.SubjectAlternativeName:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


@pytest.fixture
async def https_emulator(tmp_path: Path) -> AsyncIterator[tuple[RunningEmulator, TlsFiles]]:
    files = ensure_tls_files(tmp_path)
    running = await start_emulator(
        EmulatorConfig(), ssl_context=files.server_context(), public_host="localhost"
    )
    try:
        yield running, files
    finally:
        await running.close()


def test_certificate_names_every_loopback_address(tmp_path: Path) -> None:
    files = ensure_tls_files(tmp_path)
    names = san(files.cert_file)
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert files.key_file.stat().st_mode & 0o077 == 0


def test_files_are_reused_while_valid(tmp_path: Path) -> None:
    first = ensure_tls_files(tmp_path)
    ca = first.ca_file.read_bytes()
    assert ensure_tls_files(tmp_path).ca_file.read_bytes() == ca


def test_broken_or_expiring_files_are_replaced(tmp_path: Path) -> None:
    files = ensure_tls_files(tmp_path)
    original = files.ca_file.read_bytes()
    files.cert_file.write_text("not a certificate")
    repaired = ensure_tls_files(tmp_path)
    repaired_ca = repaired.ca_file.read_bytes()
    assert repaired_ca != original
    repaired.server_context()
    near_expiry = datetime.now(UTC) + timedelta(days=396)
    assert ensure_tls_files(tmp_path, now=near_expiry).ca_file.read_bytes() != repaired_ca


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_https_is_trusted_with_the_ca(
    https_emulator: tuple[RunningEmulator, TlsFiles], host: str
) -> None:
    running, files = https_emulator
    trusting = ssl.create_default_context(cafile=files.ca_file)
    port = running.url.rsplit(":", 1)[1]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"https://{host}:{port}/calling/keys", ssl=trusting) as response,
    ):
        assert response.url.scheme == "https"
    for _ in range(2):
        answer = await signed_request(
            running, "POST", "/rooms?api-version=2025-03-13", {}, ssl_context=trusting
        )
        assert answer.status == 201
    # Links the emulator builds name the scheme it serves.
    listed = await signed_request(
        running, "GET", "/rooms?api-version=2025-03-13&maxpagesize=1", ssl_context=trusting
    )
    assert listed.body["nextLink"].startswith("https://localhost:")


async def test_https_is_refused_without_the_ca(https_emulator: tuple[RunningEmulator, TlsFiles]) -> None:
    running, _ = https_emulator
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await signed_request(
            running, "GET", "/rooms?api-version=2025-03-13", ssl_context=ssl.create_default_context()
        )


async def test_unmodified_sdk_app_works_against_roombot_emulator_tls(tmp_path: Path) -> None:
    async with emulator_cli("--tls", "--port", "0", "--tls-dir", str(tmp_path)) as emulator:
        assert emulator.connection_string.startswith("endpoint=https://localhost:")
        ca_file = emulator.ca_file
        assert Path(ca_file) == tmp_path / "ca.pem"
        assert any(
            f"SSL_CERT_FILE={ca_file}" in line and "REQUESTS_CA_BUNDLE" in line for line in emulator.banner
        )
        trust = {"SSL_CERT_FILE": ca_file, "REQUESTS_CA_BUNDLE": ca_file}
        code, out, err = await run_to_completion(
            sys.executable,
            "-c",
            CLIENT_APP,
            env={**os.environ, **trust, "APP_CONNECTION_STRING": emulator.connection_string},
        )
        assert code == 0, err
        result = json.loads(out)
        assert result["room"] == result["fetched"]
        assert result["user"].startswith("8:acs:")
        assert result["async_user"].startswith("8:acs:")
        assert await emulator.stop() == 0


def test_a_recording_host_is_added_to_the_certificate_and_kept(tmp_path: Path) -> None:
    plain = ensure_tls_files(tmp_path)
    first = plain.cert_file.read_bytes()
    files = ensure_tls_files(tmp_path, extra_names=("recordings.emulator.asm.skype.com",))
    assert files.cert_file.read_bytes() != first
    assert "recordings.emulator.asm.skype.com" in san(files.cert_file).get_values_for_type(x509.DNSName)
    again = ensure_tls_files(tmp_path, extra_names=("recordings.emulator.asm.skype.com",))
    assert again.cert_file.read_bytes() == files.cert_file.read_bytes()
