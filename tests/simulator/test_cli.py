"""The CLI: --jobs loading and its errors, option checks, the subprocess lifecycle, TLS."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drs_pause_operator.dev.simulator.cli import SetupError, build_parser, load_jobs, main
from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from .helpers import JOB_A, JOB_B, PROJECT, TOKEN, pause_body


def write(tmp_path: Path, content: str, name: str = "jobs.json") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_load_jobs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        json.dumps(
            [
                {"id": JOB_A, "status": "INCRE_TRANSFER_STARTED"},
                {"id": JOB_B, "status": "FULL_TRANSFER_COMPLETE", "project_id": PROJECT},
            ]
        ),
    )
    seeds = load_jobs(path)
    assert [(s.id, s.status, s.project_id) for s in seeds] == [
        (JOB_A, "INCRE_TRANSFER_STARTED", None),
        (JOB_B, "FULL_TRANSFER_COMPLETE", PROJECT),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("{not json", "is not valid JSON"),
        ('{"id": "x"}', "must hold a JSON list"),
        ('[{"status": "PAUSING"}]', "item 0: id: Field required"),
        ('[{"id": "a"}, {"id": "b", "status": "paused"}]', "item 1: status"),
        ('[{"id": "a", "extra": 1}]', "item 0: extra"),
        ('["a"]', "item 0"),
    ],
)
def test_load_jobs_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "missing.json" if content is None else write(tmp_path, content)
    with pytest.raises(SetupError, match=message):
        load_jobs(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--jobs", "/nonexistent/jobs.json"], "--jobs: file not found: /nonexistent/jobs.json"),
        (["--access-key", "AK"], "--access-key and --secret-key must be given in pairs"),
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key must be given together"),
        (["--user", "only-a-name"], "--user: a user must be given as NAME:PASSWORD:DOMAIN"),
        (["--project", "eu-de"], "--project expects NAME=ID"),
        (["--rate-limit", "-1"], "invalid setting rate_limit_per_second"),
        (["--tls-cert", "/nonexistent/c", "--tls-key", "/nonexistent/k"], "cannot load"),
    ],
)
def test_main_reports_setup_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"error: {message}" in err
    assert "Traceback" not in err


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_parser_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.token, args.no_admin) == ("127.0.0.1", 8080, [], False)


def test_subprocess_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    jobs = write(tmp_path, json.dumps([{"id": JOB_A, "status": "INCRE_TRANSFER_STARTED"}]))
    secret = "sk-subprocess-secret-42"
    args = ["--jobs", str(jobs), "--token", TOKEN, "--access-key", "AKX", "--secret-key", secret]
    args += ["--user", "u:pw-secret-77:d", "--pause-delay", "0", "--seed", "1"]
    proc = SimulatorProcess(args)
    with proc:
        assert proc.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=proc.url, timeout=5.0) as client:
            response = client.post(
                f"/v3/{PROJECT}/jobs/batch-pause-task",
                json=pause_body(JOB_A),
                headers={"X-Auth-Token": TOKEN},
            )
            assert response.json()["results"] == [{"id": JOB_A, "status": "success"}]
        assert proc.tasks()[0]["status"] == "PAUSING"
        assert proc.calls("pause")[0]["status"] == 200
        proc.add_fault(kind="http_error", status=503)
        assert proc.configure(latency_ms=1)["latency_ms"] == 1
        proc.reset()
        assert proc.tasks()[0]["status"] == "INCRE_TRANSFER_STARTED"
        assert proc.expire_tokens() == 0
    assert proc.returncode == 0  # SIGTERM is a clean stop
    output = "\n".join(proc.output)
    for leaked in (TOKEN, secret, "pw-secret-77"):
        assert leaked not in output


def test_open_mode_says_so() -> None:
    code = "import sys; from drs_pause_operator.dev.simulator.cli import main; sys.exit(main())"
    with subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("DRS simulator listening on http://127.0.0.1:")
        child.terminate()
        _, err = child.communicate(timeout=10)
    assert child.returncode == 0
    assert "accepting any token" in err


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with SimulatorProcess(["--tls-cert", str(cert), "--tls-key", str(key)]) as proc:
        assert proc.url.startswith("https://127.0.0.1:")
        with httpx.Client(base_url=proc.url, verify=False, timeout=5.0) as client:
            assert client.get("/healthz").json() == {"status": "ok"}


def test_resume_and_list_options_in_a_subprocess(tmp_path: Path) -> None:
    jobs = write(
        tmp_path,
        json.dumps(
            [
                {"id": JOB_A, "status": "PAUSING", "name": "orders", "tags": {"env": "prod"}},
                {"id": JOB_B, "db_use_type": "sync", "create_time": "2024-01-01 00:00:00"},
            ]
        ),
    )
    args = ["--jobs", str(jobs), "--token", TOKEN, "--resume-delay", "30"]
    args += ["--not-found-body", "results-only"]
    with SimulatorProcess(args) as proc, httpx.Client(base_url=proc.url, timeout=5.0) as client:
        headers = {"X-Auth-Token": TOKEN}
        config = proc.admin("GET", "/admin/config")
        assert (config["resume_delay_seconds"], config["not_found_body"]) == (30, "results-only")
        resumed = client.post(
            f"/v3/{PROJECT}/jobs/batch-retry-task",
            json={"jobs": [{"job_id": JOB_A, "is_sync_re_edit": True}]},
            headers=headers,
        )
        assert resumed.json()["results"] == [{"id": JOB_A, "status": "success"}]
        task = proc.admin("GET", f"/admin/tasks/{JOB_A}")
        assert (task["status"], task["pending_status"]) == ("PAUSING", "INCRE_TRANSFER_STARTED")
        assert [c["job_ids"] for c in proc.calls("resume")] == [[JOB_A]]
        assert len(proc.calls(job_id=JOB_A)) == 1
        listed = client.post(
            f"/v3/{PROJECT}/jobs",
            json={"cur_page": 1, "per_page": 10, "db_use_type": "migration", "name": "ORD"},
            headers=headers,
        ).json()
        assert [(j["id"], j["name"]) for j in listed["jobs"]] == [(JOB_A, "orders")]
        ids = proc.seed_many(250, fields={"db_use_type": "sync"})
        assert len(ids) == 250
        synced = client.post(
            f"/v3/{PROJECT}/jobs",
            json={"cur_page": 3, "per_page": 100, "db_use_type": "sync"},
            headers=headers,
        ).json()
        assert synced["total_record"] == 251 and len(synced["jobs"]) == 51
        assert synced["jobs"][-1]["id"] == JOB_B  # the oldest
    assert proc.returncode == 0
