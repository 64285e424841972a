"""TLS: the simulator over HTTPS with a freshly generated CA."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drs_pause_operator.dev.simulator.app import create_app
from drs_pause_operator.dev.simulator.core import Simulator
from drs_pause_operator.dev.simulator.state import TaskSeed
from drs_pause_operator.drs import (
    DrsClient,
    DrsTLSError,
    PauseInfo,
    TokenAuth,
    make_http_client,
)

from .conftest import FAST, PROJECT, job_ids

TOKEN = "t0k3n-tls-tests"


@dataclass
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path
    other_ca_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _ca("drs-pause-operator test CA")
    _, other_ca = _ca("some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(
        ca_file=folder / "ca.pem",
        cert_file=folder / "server.pem",
        key_file=folder / "server.key",
        other_ca_file=folder / "other-ca.pem",
    )
    pki.ca_file.write_bytes(_pem(ca_cert))
    pki.other_ca_file.write_bytes(_pem(other_ca))
    pki.cert_file.write_bytes(_pem(cert))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


@dataclass
class HttpsSim:
    url: str
    core: Simulator


@pytest.fixture
async def https_sim(pki: Pki) -> AsyncIterator[HttpsSim]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    core = Simulator(tokens=[TOKEN])
    runner = web.AppRunner(
        create_app(core), access_log=None, handle_signals=False, shutdown_timeout=0.5
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = runner.addresses[0][1]
        yield HttpsSim(url=f"https://127.0.0.1:{port}", core=core)
    finally:
        await runner.cleanup()


def _pause_one(core: Simulator) -> list[PauseInfo]:
    (job,) = job_ids(1)
    core.store.seed([TaskSeed(id=job)])
    return [PauseInfo(job_id=job, pause_mode="target")]


async def test_unknown_ca_raises_tls_error(https_sim: HttpsSim) -> None:
    http = make_http_client(timeouts=FAST)
    try:
        client = DrsClient(http, https_sim.url, PROJECT, TokenAuth(TOKEN))
        with pytest.raises(DrsTLSError) as caught:
            await client.pause(_pause_one(https_sim.core))
    finally:
        await http.aclose()
    assert not caught.value.transient
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert https_sim.core.calls.list() == []


async def test_wrong_ca_bundle_raises_tls_error(https_sim: HttpsSim, pki: Pki) -> None:
    http = make_http_client(timeouts=FAST, ca_bundle=str(pki.other_ca_file))
    try:
        client = DrsClient(http, https_sim.url, PROJECT, TokenAuth(TOKEN))
        with pytest.raises(DrsTLSError):
            await client.batch_status(job_ids(1))
    finally:
        await http.aclose()


async def test_ca_bundle_makes_it_work(https_sim: HttpsSim, pki: Pki) -> None:
    http = make_http_client(timeouts=FAST, ca_bundle=str(pki.ca_file))
    try:
        client = DrsClient(http, https_sim.url, PROJECT, TokenAuth(TOKEN))
        (outcome,) = await client.pause(_pause_one(https_sim.core))
        # the host name must match too: "localhost" is in the certificate as well
        localhost = DrsClient(
            http, https_sim.url.replace("127.0.0.1", "localhost"), PROJECT, TokenAuth(TOKEN)
        )
        statuses = await localhost.batch_status([outcome.job_id])
    finally:
        await http.aclose()
    assert outcome.succeeded
    assert statuses[outcome.job_id].paused


async def test_verify_off_accepts_any_certificate(https_sim: HttpsSim) -> None:
    http = make_http_client(timeouts=FAST, verify=False)
    try:
        client = DrsClient(http, https_sim.url, PROJECT, TokenAuth(TOKEN))
        (outcome,) = await client.pause(_pause_one(https_sim.core))
    finally:
        await http.aclose()
    assert outcome.succeeded


async def test_https_to_a_plain_http_port_is_a_tls_error(sim, http) -> None:
    client = DrsClient(http, sim.url.replace("http://", "https://"), PROJECT, TokenAuth(TOKEN))
    with pytest.raises(DrsTLSError):
        await client.batch_status(job_ids(1))


def test_missing_ca_bundle_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CA bundle"):
        make_http_client(ca_bundle=str(tmp_path / "nope.pem"))
