"""Fetching an http(s) file a user names (a mask file's URL) without letting the user reach the
server's own network.

The host is resolved once and every address it has must be public (``ipaddress``' ``is_global``: no
loopback, private, link-local such as cloud metadata at 169.254.169.254, carrier-grade NAT, multicast or
reserved ranges; an IPv4 address inside IPv6 is judged as IPv4), unless it lies in a network the
administrator allowed (``LABELPORT_HTTP_ALLOW_NETWORKS``). The connection goes to that checked address (a
second resolution could answer differently), https verifying the certificate for the host name. Redirects
are not followed (their target would need the same checks; the error names the status). The answer must be
200, arrive within ``TIMEOUT_SECONDS`` in all and hold at most ``max_bytes``. Errors name the URL and the
reason, never the bytes that came back.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from labelport.errors import ValidationError

TIMEOUT_SECONDS = 30.0
SCHEMES = {"http": 80, "https": 443}
_BLOCK = 1 << 16

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _refuse(what: str, url: str, reason: str) -> ValidationError:
    shown = url if len(url) <= 200 else url[:200] + "..."
    return ValidationError(f"{what} {shown!r} {reason}", field="uri", value=shown)


def _networks(allowed: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for text in allowed:
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            continue  # a bad entry allows nothing
    return out


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet (not the server's own or a private network)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def checked_addresses(host: str, port: int, allowed: Sequence[str], what: str, url: str) -> list[str]:
    """The addresses of ``host``, all of them permitted, or a ValidationError naming why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise _refuse(what, url, f"cannot be fetched: its host does not resolve ({exc.__class__.__name__})") from None
    networks = _networks(allowed)
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%")[0]
        address = ipaddress.ip_address(text)
        if not (is_public(address) or any(address in n for n in networks)):
            raise _refuse(
                what,
                url,
                "is refused: its host is not a public address (loopback, private, link-local or reserved); "
                "an administrator may allow a network with LABELPORT_HTTP_ALLOW_NETWORKS",
            )
        addresses.append(text)
    if not addresses:
        raise _refuse(what, url, "cannot be fetched: its host has no address")
    return addresses


class _Pinned(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTls(_Pinned):
    """HTTPS to a checked address; the certificate must be valid for the host name."""

    def connect(self) -> None:
        super().connect()
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


def fetch(
    url: str, what: str, *, max_bytes: int, networks: Sequence[str] = (), timeout: float = TIMEOUT_SECONDS
) -> bytes:
    """The body of a 200 answer to GET ``url`` (see the module's rules); ValidationError otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(what, url, f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _refuse(what, url, f"has scheme {scheme!r}; only http and https are fetched")
    host = parts.hostname
    if not host:
        raise _refuse(what, url, "has no host")
    port = port or SCHEMES[scheme]
    [address, *_] = checked_addresses(host, port, networks, what, url)
    deadline = time.monotonic() + timeout
    kind = _PinnedTls if scheme == "https" else _Pinned
    connection = kind(host, port, address, timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request("GET", target, headers={"Accept": "image/png, */*", "User-Agent": "labelport"})
        sock = connection.sock  # the response keeps reading from it after the connection lets go of it
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise _refuse(what, url, f"answered HTTP {response.status} (a redirect); redirects are not followed")
        if response.status != 200:
            raise _refuse(what, url, f"answered HTTP {response.status}")
        length = response.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise _refuse(what, url, f"is larger than {max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _refuse(what, url, f"took longer than {timeout:g} s to fetch")
            if sock is not None:
                sock.settimeout(left)  # a server dripping bytes still ends at the deadline
            block = response.read1(_BLOCK)
            if not block:
                break
            size += len(block)
            if size > max_bytes:
                raise _refuse(what, url, f"is larger than {max_bytes} bytes")
            chunks.append(block)
        return b"".join(chunks)
    except ValidationError:
        raise
    except TimeoutError:
        raise _refuse(what, url, f"took longer than {timeout:g} s to fetch") from None
    except ssl.SSLError as exc:
        raise _refuse(what, url, f"cannot be fetched: TLS failed ({exc.reason or exc.__class__.__name__})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _refuse(what, url, f"cannot be fetched ({exc.__class__.__name__})") from None
    finally:
        connection.close()


__all__ = ["SCHEMES", "TIMEOUT_SECONDS", "checked_addresses", "fetch", "is_public"]
