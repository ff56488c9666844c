"""Imported by every Python process started with this folder on PYTHONPATH: records each outgoing connection
and name lookup into $NETWORK_LOG, so a test can prove the deployer talks only to the endpoints it was given."""

import os
import socket

_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo


def _record(what):
    with open(os.environ["NETWORK_LOG"], "a", encoding="utf-8") as log:
        log.write(f"python {what}\n")


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record(f"connect {address[0]}:{address[1]}")
    return _connect(self, address)


def getaddrinfo(host, *args, **kwargs):
    _record(f"lookup {host}")
    return _getaddrinfo(host, *args, **kwargs)


if os.environ.get("NETWORK_LOG"):
    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo
