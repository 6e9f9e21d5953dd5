"""DNS rebinding: a web page may point a name of its own at 127.0.0.1 and have the browser call the API.

The browser then sends that name in the Host header, so a request is answered only when its Host
names this server: `localhost`, a loopback address, or what `--host` names (on a wildcard address,
any address of this machine, or its name). An address cannot be rebound, only a name can; a request
without a Host header (HTTP/1.0) comes from no browser.
"""

from __future__ import annotations

import ipaddress
import socket

from starlette.types import ASGIApp, Receive, Scope, Send

from app.interfaces.api.errors import message_response


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def host_name(header: str) -> str:
    """The name or address a Host header gives, without its port or brackets, lower case."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:8787
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:
        value = value.rsplit(":", 1)[0]
    return value.rstrip(".")


class HostCheck:
    """421 for a request whose Host header names another server than the one bound to `host`."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self.app = app
        self.bound = host_name(host)
        bound_address = _address(self.bound)
        self.wildcard = bound_address is not None and bound_address.is_unspecified
        self.names = {"localhost", self.bound}
        if self.wildcard:
            self.names |= {socket.gethostname().lower(), socket.getfqdn().lower()}

    def allowed(self, name: str) -> bool:
        if name in self.names:
            return True
        address = _address(name)
        return address is not None and (address.is_loopback or self.wildcard or address == _address(self.bound))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"host")
            if given is not None and not self.allowed(host_name(given.decode("latin-1"))):
                shown = given.decode("latin-1")[:100]
                message = f"the Host header {shown!r} does not name this server: call it by its address ({self.bound})"
                await message_response(421, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)
