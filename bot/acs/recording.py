"""Recording actions of the ACS facade: start, state, pause, resume, stop, and downloading a file.

Start carries a Repeatability-Request-ID (the SDK makes one per call; the retry policy keeps it
across attempts), so a retried start never starts two recordings.

Downloads go through the SDK's ``download_recording``, which sends its HMAC-signed request only
to an https location on an ACS storage host (``*.asm.skype.com``; a guard against sending the
credential elsewhere). A location on the bot's own ACS endpoint (an emulator serving its files
itself over plain http) is refused by that guard although the credential goes where it belongs:
for that case alone the request is signed here, as the SDK signs (HMAC-SHA256 over verb, path,
date, host and body hash, the ACS authentication scheme).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from azure.communication.callautomation import RecordingProperties
from azure.communication.callautomation.aio import CallAutomationClient

from bot.acs.retry import Headers
from bot.acs.types import AcsNotFound, AcsRejected, ActionRunner, text_value

DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


@dataclass(frozen=True)
class RecordingInfo:
    recording_id: str
    state: str


def recording_info(properties: RecordingProperties) -> RecordingInfo:
    if not properties.recording_id:
        raise AcsRejected(502, None, "ACS answered a recording without a recordingId")
    return RecordingInfo(properties.recording_id, text_value(properties.recording_state or "unknown"))


async def _body(stream: Any) -> bytes:
    # Typed as an async iterable of bytes; in SDK 1.6 it is the HTTP response itself
    # (azure-sdk-for-python#42835). Both are read here.
    if hasattr(stream, "read"):
        data: bytes = await stream.read()
        return data
    return b"".join([piece async for piece in stream])


def signed_headers(access_key: str, method: str, url: str, body: bytes = b"") -> dict[str, str]:
    """The ACS HMAC headers for one request, as the SDKs compute them."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    date = formatdate(usegmt=True)
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    to_sign = f"{method}\n{path}\n{date};{parts.netloc};{content_hash}"
    digest = hmac.new(base64.b64decode(access_key), to_sign.encode(), hashlib.sha256).digest()
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={base64.b64encode(digest).decode()}",
    }


class RecordingActions:
    def __init__(
        self, runner: ActionRunner, client: CallAutomationClient, endpoint: str, access_key: str
    ) -> None:
        self._runner = runner
        self._client = client
        self._endpoint = endpoint
        self._access_key = access_key

    async def start(
        self,
        call_connection_id: str,
        *,
        state_callback_url: str,
        content_type: str = "audio",
        channel_type: str = "mixed",
        format_type: str = "wav",
    ) -> RecordingInfo:
        """Record the call of ``call_connection_id``; its state events go to ``state_callback_url``."""

        async def action(headers: Headers) -> RecordingProperties:
            return await self._client.start_recording(
                call_connection_id=call_connection_id,
                recording_state_callback_url=state_callback_url,
                recording_content_type=content_type,
                recording_channel_type=channel_type,
                recording_format_type=format_type,
                headers=headers,
            )

        description = f"start recording call {call_connection_id}"
        return recording_info(await self._runner.run_action(description, action, idempotent=False))

    async def get(self, recording_id: str) -> RecordingInfo:
        async def action(headers: Headers) -> RecordingProperties:
            return await self._client.get_recording_properties(recording_id)

        return recording_info(
            await self._runner.run_action(f"get recording {recording_id}", action, repeatability=False)
        )

    async def pause(self, recording_id: str) -> None:
        async def action(headers: Headers) -> None:
            await self._client.pause_recording(recording_id)

        await self._runner.run_action(f"pause recording {recording_id}", action, repeatability=False)

    async def resume(self, recording_id: str) -> None:
        async def action(headers: Headers) -> None:
            await self._client.resume_recording(recording_id)

        await self._runner.run_action(f"resume recording {recording_id}", action, repeatability=False)

    async def stop(self, recording_id: str) -> None:
        async def action(headers: Headers) -> None:
            await self._client.stop_recording(recording_id)

        await self._runner.run_action(f"stop recording {recording_id}", action, repeatability=False)

    async def download(self, location: str) -> bytes:
        """The file at ``location`` (a ``contentLocation`` of RecordingFileStatusUpdated)."""

        async def action(headers: Headers) -> bytes:
            return await _body(await self._client.download_recording(location))

        try:
            return await self._runner.run_action(f"download {location}", action, repeatability=False)
        except ValueError:
            if urlsplit(location).netloc != urlsplit(self._endpoint).netloc:
                raise AcsRejected(400, None, f"{location} is no ACS recording location") from None

        async def signed(headers: Headers) -> bytes:
            return await self._signed_get(location)

        return await self._runner.run_action(f"download {location}", signed, repeatability=False)

    async def _signed_get(self, location: str) -> bytes:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                location, headers=signed_headers(self._access_key, "GET", location), timeout=DOWNLOAD_TIMEOUT
            ) as response,
        ):
            body = await response.read()
            if response.status == 404:
                raise AcsNotFound(f"download {location}: not found", status=404)
            if response.status >= 300:
                raise AcsRejected(response.status, None, f"download {location}: HTTP {response.status}")
            return body
