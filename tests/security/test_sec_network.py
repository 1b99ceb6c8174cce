"""Network: can the code reach the host's loopback, the Docker bridge gateway, a DNS resolver?"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker_fixtures import TcpServer
from tests.security.harness import check_common, replies_for, run_probe
from tests.security.probes import record

ANSWER_IP = "10.9.8.7"


class DnsServer:
    """A UDP resolver answering every A query with ANSWER_IP; counts the queries."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.queries = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                return
            self.queries += 1
            header = query[:2] + b"\x81\x80" + query[4:6] + b"\x00\x01\x00\x00\x00\x00"
            answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(ANSWER_IP)
            self.sock.sendto(header + query[12:] + answer, peer)

    def close(self) -> None:
        self.sock.close()


def docker_gateway() -> str | None:
    """The host's address on Docker's default bridge network (its gateway)."""
    proc = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if proc.returncode != 0 or not proc.stdout.strip().startswith("["):
        return None
    config = json.loads(proc.stdout)[0]
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


@pytest.fixture
def gateway() -> str:
    address = docker_gateway()
    if address is None:
        problem = "PROBE NOT RUN: no Docker bridge network on this host (needs a Docker engine)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so this is a failure. {problem}")
        pytest.skip(problem)
    return address


@pytest.fixture
def tcp_server() -> Iterator[TcpServer]:
    server = TcpServer("127.0.0.1")
    yield server
    server.close()


@pytest.fixture
def gateway_server(gateway: str) -> Iterator[TcpServer]:
    server = TcpServer(gateway)
    yield server
    server.close()


CONNECT = """
import socket
for host, port in TARGETS:
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            print(host, "answered", conn.recv(5).decode())
    except OSError as exc:
        print(host, "unreachable:", exc.strerror or exc)
"""


def test_tcp_to_the_hosts_loopback(executor: str, tmp_path: Path, tcp_server: TcpServer) -> None:
    server = tcp_server
    code = CONNECT.replace("TARGETS", repr([(server.host, server.port)]))
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    if executor == "local":
        assert server.accepted == 1 and "answered hello" in run.output()
        record("net.localhost", executor, "allowed", "the host's network, as the user")
    else:
        assert server.accepted == 0 and "unreachable" in run.output()
        record("net.localhost", executor, "blocked", "no network: 127.0.0.1 is the sandbox's own")


def test_tcp_to_the_docker_bridge_gateway(executor: str, tmp_path: Path, gateway_server: TcpServer) -> None:
    server = gateway_server
    code = CONNECT.replace("TARGETS", repr([(server.host, server.port)]))
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    if executor == "local":
        assert server.accepted == 1
        record("net.gateway", executor, "allowed", "the host's network, as the user")
    else:
        assert server.accepted == 0 and "unreachable" in run.output()
        record("net.gateway", executor, "blocked", "no network interface but loopback")


DNS_QUERY = """
import socket, struct
query = b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00"
query += b"".join(bytes([len(p)]) + p.encode() for p in "probe.autorun.test".split(".")) + b"\\x00\\x00\\x01\\x00\\x01"
for host, port in TARGETS:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    try:
        sock.sendto(query, (host, port))
        reply = sock.recv(512)
        print(host, "resolved to", socket.inet_ntoa(reply[-4:]))
    except OSError as exc:
        print(host, "no answer:", exc.strerror or exc)
"""


def test_dns_query_to_a_resolver_the_test_runs(executor: str, tmp_path: Path, gateway: str) -> None:
    servers = [DnsServer("127.0.0.1"), DnsServer(gateway)]
    try:
        code = DNS_QUERY.replace("TARGETS", repr([(s.host, s.port) for s in servers]))
        run = run_probe(executor, tmp_path, replies_for([code]))
    finally:
        for server in servers:
            server.close()
    check_common(run)
    answered = run.output().count(f"resolved to {ANSWER_IP}")
    if executor == "local":
        assert answered == 2 and all(s.queries == 1 for s in servers)
        record("net.dns", executor, "allowed", "the host's resolvers (and any other) are reachable")
    else:
        assert answered == 0 and sum(s.queries for s in servers) == 0
        record("net.dns", executor, "blocked", "no network, so no resolver")


def test_dns_answer_format() -> None:
    """The fake resolver's reply decodes as the probe expects."""
    server = DnsServer("127.0.0.1")
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2)
        query = struct.pack(">HHHHHH", 1, 256, 1, 0, 0, 0) + b"\x01a\x00\x00\x01\x00\x01"
        sock.sendto(query, (server.host, server.port))
        assert socket.inet_ntoa(sock.recv(512)[-4:]) == ANSWER_IP
    finally:
        server.close()
