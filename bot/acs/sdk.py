"""The official SDK clients of the facade, on one lean azure-core pipeline and one HTTP session.

What azure-core does by default, and what the facade does instead:

- **Environment settings.** By default (``use_env_settings=True``) the aiohttp transport's session
  trusts the environment: on every request aiohttp reads the proxy variables and looks up
  ``.netrc`` in a thread pool, about a third of an action's CPU. The transport here is built with
  ``use_env_settings=False``; a proxy is configured explicitly instead (``ROOMBOT_HTTPS_PROXY``),
  through azure-core's own ``ProxyPolicy``, for HTTPS requests only (ACS is only reached by HTTPS;
  the emulator, over plain HTTP on this machine, never goes through it).
- **One transport** (one aiohttp session, one connection pool) serves the Call Automation and the
  Rooms clients alike; its first request opens it, closing either client closes it.
- **Only the policies the bot needs**, in the SDK's own order: the client request id
  (``x-ms-client-request-id``, a random UUID: azure-core's time-based one carries the host's MAC
  address and costs five times as much to make), the SDK's own user agent (azure-core's
  ``AZURE_HTTP_USER_AGENT`` read once, not on every request), the proxy when one is set,
  the response decoding the SDK's deserializer reads, the SDK's own HMAC signature, a GET sent
  without the empty body that signature gives it (`BodilessReads`), and azure-core's
  HTTP logging (one ``isEnabledFor`` while the ``azure`` loggers stay quiet). Left out: azure-core's
  retry (``bot.acs.retry`` is the one retry layer; the SDK's was already at ``retry_total=0``),
  redirects (ACS answers none, and an HMAC-signed request is not replayed at another address),
  the header clean-up that only serves redirects, custom hooks, network trace logging and
  distributed tracing (the bot configures neither). They run as one link of the pipeline
  (`OneLink`) rather than one each.

What changes in the Call Automation SDK's generated (de)serializer, the same models on the wire:

- **Request bodies** are serialized from the models the SDK builds, without its detour: its
  ``Serializer.body`` first runs every body through a new ``Deserializer`` (to accept a plain dict
  for a model), and a Deserializer is a reference cycle of its own (it keeps bound methods of
  itself): one per play, recognize or dial-out, left for the cyclic garbage collector, whose
  pauses are what a busy bot's slowest answers wait on. For a model the detour returns the very
  model it was given; other data still takes it.
- **Answers** are read without collecting the fields the model does not declare
  (``additional_properties``): the facade reads only declared fields, and the collection is a
  set of every key of every object of every answer.
- **One JSON parse per answer.** azure-core's ``ContentDecodePolicy`` parses every answer into
  the pipeline's context, where the SDK reads error bodies and listing pages; but most of the
  generated operations (``get_call``, ``add_participant``, ...) deserialize from the HTTP response
  instead, which parses the text a second time. Here the policy keeps azure-core's own cached
  ``response.json()`` in the context and the deserializer reads that same parse from the
  response; anything that is not a JSON body (empty, another content type, invalid JSON) takes
  the SDK's own path, with its own errors.
- **Each model read by a plan** made on its first answer instead of the generated code's general
  field-by-field machinery (`bot.acs.answers`, which says what takes the SDK's own path).

The HMAC policies and user-agent monikers are the SDKs' own, imported from their packages
(``_shared``, ``_version``: not public, hence the pinned major versions in ``pyproject.toml``);
every request still carries the headers it carried before (the e2e and conformance suites run the
facade against the emulator, which checks the signature).
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from azure.communication.callautomation._generated._utils.serialization import Model, Serializer
from azure.communication.callautomation._shared.auth_policy_utils import (
    get_authentication_policy as calls_authentication_policy,
)
from azure.communication.callautomation._version import SDK_MONIKER as CALLS_MONIKER
from azure.communication.callautomation.aio import CallAutomationClient
from azure.communication.rooms._shared.auth_policy_utils import (
    get_authentication_policy as rooms_authentication_policy,
)
from azure.communication.rooms._version import SDK_MONIKER as ROOMS_MONIKER
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.pipeline import PipelineRequest, PipelineResponse, policies
from azure.core.pipeline.transport import AioHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest

from bot.acs.answers import ParsedAnswers, json_body

# Bounded waits for one HTTP exchange; the retry policy bounds the whole action.
CONNECTION_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 30
CLIENT_REQUEST_ID = "x-ms-client-request-id"
# azure-core's variable of a text for the end of every request's User-Agent.
ADDED_USER_AGENT = "AZURE_HTTP_USER_AGENT"


class RandomRequestIds(policies.RequestIdPolicy):
    """azure-core's RequestIdPolicy with a version-4 UUID for each request that names none. Its own
    ``uuid1`` embeds the MAC address of the host in every request and goes through libuuid's clock
    (12 µs against 2, some 5% of an action's CPU). A ``request_id`` option still goes through
    azure-core's own policy (None: no header); a request whose headers carry an id keeps it. The
    header is looked for once: azure-core's header dictionary answers a missing key with a
    KeyError raised and caught inside, which the base policy would raise a second time."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        if "request_id" in request.context.options:
            super().on_request(request)
            return
        headers = request.http_request.headers
        if CLIENT_REQUEST_ID not in headers:
            headers[CLIENT_REQUEST_ID] = str(uuid.uuid4())


class Utf8Responses(policies.SansIOHTTPPolicy[HttpRequest, AsyncHttpResponse]):
    """Names the answer's encoding: JSON is UTF-8 (RFC 8259 §8.1), as ACS declares. Otherwise
    `text()` works it out from the Content-Type's charset with `email.message` on every answer
    that the SDK's generated code deserializes from the raw response (most operations do)."""

    def on_response(
        self,
        request: PipelineRequest[HttpRequest],
        response: PipelineResponse[HttpRequest, AsyncHttpResponse],
    ) -> None:
        response.http_response.encoding = "utf-8"


class BodilessReads(policies.SansIOHTTPPolicy[HttpRequest, AsyncHttpResponse]):
    """Sends a GET as the bodiless request it is. The SDKs' HMAC policy, to hash "no body", sets
    the body of every request without one to an empty string, which aiohttp then sends as a
    payload of its own: a ``Content-Length: 0`` header and a task per request that writes it. The
    signature is over the date, the host and the body's hash, which stay as signed; only a GET's
    empty body goes (a POST keeps its ``Content-Length``, which servers may require of it)."""

    def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
        sent = request.http_request
        # azure-core's backward-compatible `body`: the very attribute the HMAC policy set.
        if sent.method == "GET" and sent.body in ("", b""):
            sent.body = None


class ModelBodies(Serializer):
    """The SDK's serializer, with a model body serialized as it stands (see the module's text), and
    a plain string written as it is: the generated ``serialize_unicode`` first tries the value as
    an enum (``data.value``) and then Python 2's ``unicode``, an AttributeError and a NameError
    raised and caught for every string of every body, to return ``str(data)``, the same string."""

    def body(self, data: Any, data_type: str, **kwargs: Any) -> Any:
        if isinstance(data, Model):
            return self._serialize(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        return super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]

    @classmethod
    def serialize_unicode(cls, data: Any) -> Any:
        if type(data) is str:
            return data
        return super().serialize_unicode(data)  # type: ignore[no-untyped-call]


class DecodeOnce(policies.ContentDecodePolicy):
    """azure-core's decoding policy, with a JSON answer's parse the response's own cached
    ``json()`` (see the module's text)."""

    # azure-core types the policy for both of its request and response families: Any here.
    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        answer = response.http_response
        if (
            not response.context.options.get("stream", True)
            and "response_encoding" not in request.context
            and json_body(answer)
        ):
            try:
                response.context[self.CONTEXT_NAME] = answer.json()
                return
            except ValueError:
                pass  # azure-core's own parse below raises its DecodeError
        super().on_response(request, response)


def _lean_models(client: CallAutomationClient) -> CallAutomationClient:
    """The client with the (de)serializer settings of the module's text. Its operation groups share
    the generated client's Serializer and Deserializer, so setting them there sets them for all."""
    generated = client._client
    generated._serialize.__class__ = ModelBodies
    generated._deserialize.__class__ = ParsedAnswers
    generated._deserialize.additional_properties_detection = False
    return client


class OneLink(policies.AsyncHTTPPolicy[HttpRequest, AsyncHttpResponse]):
    """SansIO policies run as one link of the pipeline, with azure-core's semantics: ``on_request``
    in their order, ``on_response`` in the reverse order, and when the exchange or a later hook
    fails, ``on_exception`` of each policy whose request hook ran, innermost first.

    azure-core wraps every SansIO policy in a link of its own: one more coroutine per policy and
    request, and for each hook an ``isinstance(result, typing.Awaitable)`` (an ABC check through
    typing's alias), which a hook returning None never needs. Here a hook is a plain call, and
    only what it returns, if anything, is awaited: no coroutine per hook either."""

    def __init__(self, chain: Sequence[policies.SansIOHTTPPolicy[HttpRequest, AsyncHttpResponse]]) -> None:
        super().__init__()
        self._chain = tuple(chain)

    async def send(
        self, request: PipelineRequest[HttpRequest]
    ) -> PipelineResponse[HttpRequest, AsyncHttpResponse]:
        chain = self._chain
        entered = 0
        try:
            for policy in chain:
                if (pending := _pending(policy.on_request(request))) is not None:
                    await pending
                entered += 1
            response = await self.next.send(request)
            while entered:
                entered -= 1
                if (pending := _pending(chain[entered].on_response(request, response))) is not None:
                    await pending
        except Exception:
            for policy in reversed(chain[:entered]):
                # Typed as returning None; azure-core awaits what it returns all the same.
                on_exception: Callable[[PipelineRequest[HttpRequest]], object] = policy.on_exception
                if (pending := _pending(on_exception(request))) is not None:
                    await pending
            raise
        return response


def _pending(result: object) -> Awaitable[object] | None:
    """What a SansIO hook returned, when it is to be awaited: azure-core allows a hook to return an
    awaitable; none of the facade's does."""
    return result if result is not None and inspect.isawaitable(result) else None


def user_agent(sdk_moniker: str) -> policies.UserAgentPolicy:
    """The SDK's user agent, with azure-core's ``AZURE_HTTP_USER_AGENT`` appended as azure-core
    appends it, read once here rather than from the environment on every request."""
    policy = policies.UserAgentPolicy(sdk_moniker=sdk_moniker, user_agent_use_env=False)
    added = os.environ.get(ADDED_USER_AGENT)
    if added is not None:
        policy.add_user_agent(added)
    return policy


def _policies(authentication: Any, sdk_moniker: str, proxy: str | None) -> list[Any]:
    chosen: list[Any] = [RandomRequestIds(), user_agent(sdk_moniker)]
    if proxy is not None:
        chosen.append(policies.ProxyPolicy(proxies={"https": proxy}))
    # Answers pass the policies in reverse order: Utf8Responses names the encoding before the
    # decoding policy reads the text, whose parse then stays cached for the SDK's deserializer.
    # BodilessReads comes after the signature, which hashed the empty body it then takes away.
    chosen += [DecodeOnce(), Utf8Responses(), authentication, BodilessReads(), policies.HttpLoggingPolicy()]
    return [OneLink(chosen)]


def transport() -> AioHttpTransport:
    """The one HTTP transport of the facade's clients; it opens its session on first use."""
    return AioHttpTransport(
        use_env_settings=False,
        connection_timeout=CONNECTION_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )


def call_automation_client(
    endpoint: str, access_key: str, shared: AioHttpTransport, *, proxy: str | None = None
) -> CallAutomationClient:
    credential = AzureKeyCredential(access_key)
    authentication = calls_authentication_policy(endpoint, credential, is_async=True)
    return _lean_models(
        CallAutomationClient(
            endpoint, credential, transport=shared, policies=_policies(authentication, CALLS_MONIKER, proxy)
        )
    )


def rooms_client(
    endpoint: str, access_key: str, shared: AioHttpTransport, *, proxy: str | None = None
) -> RoomsClient:
    credential = AzureKeyCredential(access_key)
    # As the Rooms client signs: with the URL decoded (its room ids go into the path).
    authentication = rooms_authentication_policy(endpoint, credential, decode_url=True, is_async=True)
    return RoomsClient(
        endpoint, credential, transport=shared, policies=_policies(authentication, ROOMS_MONIKER, proxy)
    )
