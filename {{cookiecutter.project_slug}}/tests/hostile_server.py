"""A misbehaving HTTP server on 127.0.0.1: what the API must survive from its auth server.

``HostileServer(document)`` answers every request with ``document`` (the JSON a good
authorization server would send), spoiled by one fault chosen by ``behaviour``. Each
fault differs from a good answer in that fault alone (the JSON stays valid where it can),
so a client that accepts the answer missed exactly that fault::

    with HostileServer(good_document, behaviour="header_trickle") as server:
        ...  # point the API at server.url and expect a 500 within the timeout

Raw sockets, one thread per connection, at most ``MAX_CONNECTIONS`` at a time; every
fault ends by itself within a few seconds, and ``stop()`` ends them all at once.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MIB = 1024 * 1024
MAX_CONNECTIONS = 32
#: How long the trickling faults take to send a whole answer (far past any test timeout).
TRICKLE_SECONDS = 3.0

#: Every fault the server can commit, each a function of this module's ``_answer``.
BEHAVIOURS = (
    "garbage_status",  # a status line that is not HTTP
    "header_flood",  # more than 100 header lines
    "huge_header",  # one header line over 64 KiB
    "bad_chunking",  # chunked encoding with a chunk size that is not hex
    "header_trickle",  # header lines a few at a time, each well within a socket timeout
    "body_trickle",  # the body one byte at a time
    "redirect",  # 302 to ``redirect_to``, with the good document as its body
    "oversize_body",  # the good document followed by spaces, over 1 MiB in all
    "oversize_chunked",  # the same, chunked, without a Content-Length
    "wrong_content_type",  # the good document as text/html
    "close_mid_body",  # Content-Length promises more than the good document, then close
)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


class HostileServer:
    """Serves ``document`` spoiled by ``behaviour`` ("ok": not spoiled) on a free port."""

    def __init__(
        self,
        document: Any = None,
        behaviour: str = "ok",
        *,
        redirect_to: str = "http://127.0.0.1:9/elsewhere",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if behaviour != "ok" and behaviour not in BEHAVIOURS:
            raise ValueError(behaviour)
        self.document = {} if document is None else document
        self.behaviour = behaviour
        self.redirect_to = redirect_to
        self.requests: list[SeenRequest] = []
        self._tls = tls
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.02)
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def count(self) -> int:
        """How many requests reached the server."""
        with self._lock:
            return len(self.requests)

    def stop(self) -> None:
        self._stopped.set()
        self._acceptor.join(timeout=2)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if not self._slots.acquire(blocking=False):
                connection.close()  # bounded: no thread for a connection past the limit
                continue
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.settimeout(2)
            if self._tls is not None:
                connection = self._tls.wrap_socket(connection, server_side=True)
            request = _read_request(connection)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            for part, pause in _answer(self.behaviour, self.document, self.redirect_to):
                if self._stopped.is_set():
                    return
                connection.sendall(part)
                time.sleep(pause)
        except (OSError, ValueError):
            pass  # the client gave up or refused the certificate: that is its right
        finally:
            connection.close()
            self._slots.release()


def _read_request(connection: socket.socket) -> SeenRequest | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > MIB:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return SeenRequest(method, path, headers, body)


def _answer(behaviour: str, document: Any, redirect_to: str) -> list[tuple[bytes, float]]:
    """The bytes to send, as (part, pause after it) pairs."""
    body = json.dumps(document).encode()
    padded = body + b" " * (MIB + 1 - len(body))  # still valid JSON: only the size is wrong
    status = b"HTTP/1.1 200 OK\r\n"
    json_type = b"Content-Type: application/json\r\n"
    chunked = b"Transfer-Encoding: chunked\r\n"

    def rest(*lines: bytes, length: int | None = len(body)) -> bytes:
        """Header lines, Content-Length unless None, and the blank line ending them."""
        sized = [b"Content-Length: %d\r\n" % length] if length is not None else []
        return b"".join([*lines, *sized]) + b"Connection: close\r\n\r\n"

    if behaviour == "ok":
        return [(status + rest(json_type) + body, 0)]
    if behaviour == "garbage_status":
        return [(b"HTTP/1.1 2OO OK\r\n" + rest(json_type) + body, 0)]
    if behaviour == "header_flood":
        flood = [b"X-Flood-%d: 1\r\n" % i for i in range(101)]
        return [(status + rest(json_type, *flood) + body, 0)]
    if behaviour == "huge_header":
        huge = b"X-Huge: " + b"a" * (64 * 1024 + 1) + b"\r\n"
        return [(status + rest(json_type, huge) + body, 0)]
    if behaviour == "bad_chunking":
        return [(status + rest(json_type, chunked, length=None) + b"zz\r\n" + body, 0)]
    if behaviour == "header_trickle":
        lines = 90  # fewer than http.client's 100-header limit: only a deadline stops it
        pause = TRICKLE_SECONDS / lines
        trickle = [(b"X-Trickle-%d: 1\r\n" % i, pause) for i in range(lines)]
        return [(status, pause), *trickle, (rest(json_type) + body, 0)]
    if behaviour == "body_trickle":
        pause = TRICKLE_SECONDS / len(body)
        return [(status + rest(json_type), 0), *((bytes([byte]), pause) for byte in body)]
    if behaviour == "redirect":
        location = b"Location: " + redirect_to.encode() + b"\r\n"
        return [(b"HTTP/1.1 302 Found\r\n" + rest(json_type, location) + body, 0)]
    if behaviour == "oversize_body":
        return [(status + rest(json_type, length=len(padded)) + padded, 0)]
    if behaviour == "oversize_chunked":
        step = 65536
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(padded[i : i + step]), padded[i : i + step])
            for i in range(0, len(padded), step)
        )
        return [(status + rest(json_type, chunked, length=None) + chunks + b"0\r\n\r\n", 0)]
    if behaviour == "wrong_content_type":
        return [(status + rest(b"Content-Type: text/html\r\n") + body, 0)]
    if behaviour == "close_mid_body":
        return [(status + rest(json_type, length=len(body) + 100) + body, 0)]
    raise ValueError(behaviour)


# -- TLS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    """A CA made for one test, and a server certificate it issued for 127.0.0.1."""

    ca_file: Path
    server_context: ssl.SSLContext


def make_certificates(directory: Path) -> Certificates:
    """A fresh CA and a certificate for 127.0.0.1 signed by it, written to ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, key: Any, issuer: x509.Name, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca_cert = build("test CA", ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = build("127.0.0.1", server_key, ca_name, ca_key, ca=False)

    pem = serialization.Encoding.PEM
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    chain_file = directory / "server.pem"
    chain_file.write_bytes(server_cert.public_bytes(pem))
    key_file = directory / "server-key.pem"
    key_file.write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_file, key_file)
    return Certificates(ca_file, context)


#: A name whose lookup answers 127.0.0.1, but only after ``SLOW_LOOKUP_SECONDS``.
SLOW_NAME = "slow-dns.test"
SLOW_LOOKUP_SECONDS = 3.0


def slow_name_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the lookup of ``SLOW_NAME`` as slow as a resolver that does not answer in time.

    ``getaddrinfo`` is the one thing replaced: the connection that follows is a real one.
    """
    real_lookup = socket.getaddrinfo

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == SLOW_NAME:
            time.sleep(SLOW_LOOKUP_SECONDS)
            host = "127.0.0.1"
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
