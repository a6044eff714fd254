"""`helhet serve` terminates TLS itself, and mutual TLS when a client CA is configured."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.cli import cli
from gateway.kafka.broker import free_port


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_serve_with_mutual_tls(tmp_path: Path, kafka_bootstrap: str) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("helhet test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    _write(tmp_path / "ca", ca, ca_key)
    _write(
        tmp_path / "server",
        _issue("127.0.0.1", server_key, (ca.subject, ca_key), server=True),
        server_key,
    )
    _write(tmp_path / "client", _issue("nav-system", client_key, (ca.subject, ca_key)), client_key)

    result = CliRunner().invoke(
        cli,
        [
            "init",
            str(tmp_path / "inst"),
            "--municipality",
            "0301",
            "--test",
            "--kafka",
            kafka_bootstrap,
        ],
    )
    assert result.exit_code == 0, result.output
    config = tmp_path / "inst" / "helhet.toml"
    config.write_text(  # top-level keys go before the [agencies.*] tables
        f'tls_certfile = "{tmp_path / "server.crt"}"\ntls_keyfile = "{tmp_path / "server.key"}"\n'
        f'tls_client_ca_file = "{tmp_path / "ca.crt"}"\n' + config.read_text()
    )
    env = {**os.environ, "HELHET_CONFIG": str(config)}
    upgrade = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"https://127.0.0.1:{port}/healthz"
    trust = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    with_cert = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    with_cert.load_cert_chain(str(tmp_path / "client.crt"), str(tmp_path / "client.key"))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(url, verify=with_cert, timeout=2)
                break
            except httpx.ConnectError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "serve did not answer over TLS"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        with pytest.raises(httpx.HTTPError):  # no client certificate: the handshake is refused
            httpx.get(url, verify=trust, timeout=5).raise_for_status()
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).raise_for_status()
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_tls_settings_go_together(tmp_path: Path) -> None:
    from gateway.config.settings import load_settings
    from gateway.errors import ConfigError

    config = tmp_path / "h.toml"
    config.write_text('municipality = "0301"\ntls_certfile = "a.crt"\n')
    with pytest.raises(ConfigError, match="tls_certfile"):
        load_settings(config)
    config.write_text('municipality = "0301"\ntls_client_ca_file = "ca.crt"\n')
    with pytest.raises(ConfigError, match="tls_client_ca_file"):
        load_settings(config)
