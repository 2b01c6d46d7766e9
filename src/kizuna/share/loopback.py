"""Running nodes on this machine: key and certificate material for a test coalition, and uvicorn servers
in threads (used by `kizuna serve`, the demo, the tests and the benchmark).

Mutual TLS: a test CA (X.509 via `cryptography`) issues one server+client certificate per node with the
node id as common name; uvicorn runs with ``ssl_cert_reqs=CERT_REQUIRED`` and a small H11 protocol
subclass copies the verified peer's common name into the ASGI ``state`` so the app can bind the TLS
identity to the request signature.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from uvicorn.protocols.http.h11_impl import H11Protocol

from kizuna.share.signing import generate_keys

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kizuna.share.node import TlsFiles

NODE_PROFILES = {
    # nation: (clearance granted, caveat accesses)
    "JPN": ("SECRET", ["ORCON"]),
    "USA": ("TOP SECRET", ["ORCON", "PROPIN", "IMCON", "SI", "TK", "HCS"]),
    "UKR": ("SECRET", []),
    "GBR": ("TOP SECRET", ["ORCON", "SI"]),
    "IND": ("SECRET", []),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_test_ca(directory: Path, node_ids: Sequence[str]) -> dict[str, dict[str, Path]]:
    """A CA and, per node, a certificate usable as TLS server (127.0.0.1) and client (CN = node id)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kizuna test coalition CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out: dict[str, dict[str, Path]] = {}
    for node in node_ids:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = directory / f"{node}.crt.pem", directory / f"{node}.tls.key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        out[node] = {"ca": ca_path, "cert": cert_path, "key": key_path}
    return out


def write_coalition(
    directory: Path,
    ports: dict[str, int],
    *,
    tls: bool = False,
    profiles: dict[str, tuple[str, list[str]]] | None = None,
) -> dict[str, Path]:
    """Keys, optional TLS material and one config file per node (each node trusts all the others).

    Returns the config path per node. Users: ``analyst-<node>`` with token ``token-<node>`` holding the
    node's clearance and the publisher, auditor and downgrader roles.
    """
    profiles = profiles or NODE_PROFILES
    keys_dir = directory / "keys"
    for node in ports:
        if not (keys_dir / f"{node}.key.pem").exists():
            generate_keys(keys_dir, node)
    certs = make_test_ca(directory / "tls", list(ports)) if tls else {}
    scheme = "https" if tls else "http"
    paths = {}
    for node in ports:
        clearance, accesses = profiles[node]
        cfg: dict[str, object] = {
            "node": {"id": node, "nation": node, "clearance": clearance, "accesses": accesses},
            "partners": [
                {
                    "id": p,
                    "nation": p,
                    "url": f"{scheme}://127.0.0.1:{port}",
                    "public_key": f"keys/{p}.pub.pem",
                    "clearance": profiles[p][0],
                    "accesses": profiles[p][1],
                }
                for p, port in ports.items()
                if p != node
            ],
            "users": [
                {
                    "name": f"analyst-{node}",
                    "token": f"token-{node}",
                    "nationality": node,
                    "clearance": clearance,
                    "accesses": accesses,
                    "roles": ["publisher", "auditor", "downgrader"],
                }
            ],
        }
        if tls:
            cfg["tls"] = {k: str(v.relative_to(directory)) for k, v in certs[node].items()}
        else:
            cfg["insecure"] = True  # a loopback coalition without TLS says so (nodes refuse http otherwise)
        path = directory / f"{node}.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
        paths[node] = path
    return paths


class PeerCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the verified client certificate's CN as ``scope["state"]["peer_node"]``."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object is not None else None
        if cert:
            cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), None)
            # A per-connection copy: the state dict is shared across connections otherwise.
            self.app_state = {**self.app_state, "peer_node": cn}


@dataclass
class ServerThread:
    """A uvicorn server for one node app, in a daemon thread on 127.0.0.1."""

    app: FastAPI
    port: int
    tls: TlsFiles | None = None

    def start(self, timeout_s: float = 15.0) -> ServerThread:
        import uvicorn

        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            kwargs = {
                "ssl_certfile": str(self.tls.cert),
                "ssl_keyfile": str(self.tls.key),
                "ssl_ca_certs": str(self.tls.ca),
                "ssl_cert_reqs": ssl.CERT_REQUIRED,
                "http": PeerCertH11Protocol,
            }
        else:
            kwargs = {"http": "h11"}
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
            **kwargs,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        state = getattr(self.app, "state", None)
        if state is not None and hasattr(state, "stopping"):
            state.stopping.set()
        self.server.should_exit = True
        self.thread.join(timeout_s)
