"""The ASGI ``tls`` scope extension, read from a connection's SSL object."""

from __future__ import annotations

import ssl

# TLS protocol versions as the ASGI TLS extension numbers them (the wire values).
_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(ssl_object) -> dict | None:
    if ssl_object is None:
        return None
    try:
        peer = ssl_object.getpeercert(binary_form=True)
    except (ValueError, ssl.SSLError):
        peer = None
    chain = [ssl.DER_cert_to_PEM_cert(peer)] if peer else []
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _VERSIONS.get(ssl_object.version()),
        "cipher_suite": None,  # the stdlib names the cipher but not its number
    }
