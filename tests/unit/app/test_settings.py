"""Operator settings: flags over environment over defaults; every bad value named at start."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drs_pause_operator.app.settings import Settings, SettingsError, add_arguments, env_name, load

ROOT = Path(__file__).resolve().parents[3]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_the_documented_ones() -> None:
    s = load(_args(), {})
    assert s.namespaces == ()
    assert s.default_credentials_secret is None
    assert s.endpoint_template == "https://drs.{region}.otc.t-systems.com"
    assert s.iam_endpoint_template == "https://iam.{region}.otc.t-systems.com"
    assert s.default_region == "eu-de"
    assert s.allowed_endpoints is None
    assert s.allow_insecure_http is False
    assert s.ca_bundle is None
    assert (s.batch_size, s.max_concurrency) == (100, 10)
    assert (s.request_timeout, s.verify_timeout) == (30.0, 600.0)
    assert s.metrics_port == 9090
    assert (s.log_format, s.log_level) == ("text", "INFO")
    assert load(None, {}) == s


def test_load_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRS_PAUSE_BATCH_SIZE", "7")
    assert load().batch_size == 7


def test_environment_over_defaults_and_flags_over_environment() -> None:
    env = {
        "DRS_PAUSE_NAMESPACES": " team-a, ,team-b ",
        "DRS_PAUSE_BATCH_SIZE": "50",
        "DRS_PAUSE_VERIFY_TIMEOUT": "0",
        "DRS_PAUSE_DEFAULT_CREDENTIALS_SECRET": "drs-system/creds",
        "DRS_PAUSE_ALLOW_INSECURE_HTTP": "yes",
        "DRS_PAUSE_LOG_FORMAT": "json",
        "DRS_PAUSE_METRICS_PORT": "0",
    }
    s = load(_args(), env)
    assert s.namespaces == ("team-a", "team-b")
    assert s.batch_size == 50 and s.verify_timeout == 0
    assert s.default_credentials_secret == "drs-system/creds"
    assert s.allow_insecure_http is True
    assert s.log_format == "json" and s.metrics_port == 0
    s = load(
        _args(
            "--namespace",
            "ops",
            "-n",
            "dev",
            "--batch-size",
            "70",
            "--verify-timeout",
            "30",
            "--log-format",
            "text",
        ),
        env,
    )
    assert s.namespaces == ("ops", "dev")
    assert s.batch_size == 70 and s.verify_timeout == 30
    assert s.log_format == "text"
    assert s.default_credentials_secret == "drs-system/creds"  # not given as a flag: env stays
    assert load(_args("--all-namespaces"), env).namespaces == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("", False),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
    ],
)
def test_boolean_environment_values(value: str, expected: bool) -> None:
    s = load(None, {"DRS_PAUSE_ALLOW_INSECURE_HTTP": value})
    assert s.allow_insecure_http is expected


@pytest.mark.parametrize(
    ("argv", "env", "names"),
    [
        (["--namespace", "Team_A"], {}, ["--namespace: ", "Team_A"]),  # the real flag name
        ([], {"DRS_PAUSE_NAMESPACES": "ok,-bad"}, ["DRS_PAUSE_NAMESPACES"]),
        (["--namespace", "a" * 64], {}, ["--namespace: "]),
        (["--default-credentials-secret", "just-a-name"], {}, ["--default-credentials-secret"]),
        (["--default-credentials-secret", "ns/Name"], {}, ["--default-credentials-secret"]),
        (
            [],
            {"DRS_PAUSE_DEFAULT_CREDENTIALS_SECRET": "a/b/c"},
            ["DRS_PAUSE_DEFAULT_CREDENTIALS_SECRET"],
        ),
        (["--endpoint-template", "drs.{region}.example"], {}, ["--endpoint-template"]),
        (
            ["--endpoint-template", "https://drs.{region}.{zone}.example"],
            {},
            ["--endpoint-template", "{region}"],
        ),
        (["--iam-endpoint-template", "ftp://iam.example"], {}, ["--iam-endpoint-template"]),
        (
            ["--endpoint-template", "http://drs.{region}.example"],
            {},
            ["--endpoint-template", "--allow-insecure-http"],
        ),
        (
            [],
            {"DRS_PAUSE_IAM_ENDPOINT_TEMPLATE": "HTTP://iam.{region}.example"},
            ["--iam-endpoint-template", "DRS_PAUSE_IAM_ENDPOINT_TEMPLATE", "--allow-insecure-http"],
        ),
        (
            ["--allowed-endpoints", "https://(drs"],
            {},
            ["--allowed-endpoints", "regular expression"],
        ),
        (["--ca-bundle", "/nonexistent/ca.pem"], {}, ["--ca-bundle", "/nonexistent/ca.pem"]),
        (["--batch-size", "0"], {}, ["--batch-size", "greater than or equal to 1"]),
        ([], {"DRS_PAUSE_BATCH_SIZE": "0"}, ["environment variable DRS_PAUSE_BATCH_SIZE"]),
        (["--batch-size", "many"], {}, ["--batch-size", "integer"]),
        (["--max-concurrency", "0"], {}, ["--max-concurrency"]),
        (["--request-timeout", "-1"], {}, ["--request-timeout"]),
        (["--request-timeout", "0"], {}, ["--request-timeout"]),
        (["--verify-timeout", "-1"], {}, ["--verify-timeout"]),
        (["--verify-timeout", "inf"], {}, ["--verify-timeout"]),
        (["--verify-timeout", "nan"], {}, ["--verify-timeout"]),
        (["--verify-timeout", "1e12"], {}, ["--verify-timeout"]),  # would overflow datetimes
        (["--rate-limit", "inf"], {}, ["--rate-limit"]),
        (["--metrics-port", "70000"], {}, ["--metrics-port"]),
        (["--log-format", "xml"], {}, ["--log-format"]),
        (["--log-level", "TRACE"], {}, ["--log-level"]),
        ([], {"DRS_PAUSE_ALLOW_INSECURE_HTTP": "maybe"}, ["DRS_PAUSE_ALLOW_INSECURE_HTTP"]),
    ],
)
def test_every_invalid_value_names_its_setting(
    argv: list[str], env: dict[str, str], names: list[str]
) -> None:
    with pytest.raises(SettingsError) as err:
        load(_args(*argv), env)
    for name in names:
        assert name in str(err.value)


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(SettingsError) as err:
        load(_args("--batch-size", "0", "--metrics-port", "-1"), {})
    assert "--batch-size" in str(err.value) and "--metrics-port" in str(err.value)


def test_http_templates_with_allow_insecure_http(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = load(
        _args(
            "--allow-insecure-http",
            "--endpoint-template",
            "http://127.0.0.1:8080/",
            "--ca-bundle",
            str(ca),
        ),
        {},
    )
    assert s.endpoint_template == "http://127.0.0.1:8080"  # no trailing slash
    assert s.endpoint_for("eu-nl") == "http://127.0.0.1:8080"
    assert s.ca_bundle == str(ca)


def test_endpoint_and_iam_endpoint_for_a_region() -> None:
    s = Settings(default_region="eu-nl")
    assert s.endpoint_for(None) == "https://drs.eu-nl.otc.t-systems.com"
    assert s.endpoint_for("eu-de") == "https://drs.eu-de.otc.t-systems.com"
    assert s.iam_endpoint_for(None) == "https://iam.eu-nl.otc.t-systems.com"


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://drs.eu-de.otc.t-systems.com", True),
        ("https://drs.eu-de.otc.t-systems.com/", True),
        ("https://drs.region-9.otc.t-systems.com", True),
        ("https://drs..otc.t-systems.com", False),
        ("https://drs.eu.de.otc.t-systems.com", False),
        ("https://drs.eu-de.otc.t-systems.com/v3", False),
        ("https://drs.eu-de.otc.t-systems.com.evil", False),
        ("https://drs.eu-de.otc.t-systems.com\n", False),
        ("http://drs.eu-de.otc.t-systems.com", False),
        ("https://drs.{region}.otc.t-systems.com", False),
    ],
)
def test_default_allowed_endpoint_pattern(endpoint: str, allowed: bool) -> None:
    assert Settings().endpoint_allowed(endpoint) is allowed


def test_env_names() -> None:
    assert env_name("batch_size") == "DRS_PAUSE_BATCH_SIZE"
    assert env_name("allow_insecure_http") == "DRS_PAUSE_ALLOW_INSECURE_HTTP"


def test_the_command_stops_with_exit_code_2_naming_the_setting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRS_PAUSE_")}
    env["PYTHONPATH"] = str(ROOT / "operator")
    proc = subprocess.run(
        [sys.executable, "-m", "drs_pause_operator", "run", "--batch-size", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("drs-pause-operator: invalid operator configuration")
    assert "--batch-size" in proc.stderr
    assert "greater than or equal to 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_empty_environment_variables_mean_not_set() -> None:
    from drs_pause_operator.app.settings import load

    settings = load(None, {"DRS_PAUSE_BATCH_SIZE": "", "DRS_PAUSE_CA_BUNDLE": " ",
                           "DRS_PAUSE_NAMESPACES": ""})
    assert settings.batch_size == 100 and settings.ca_bundle is None and settings.namespaces == ()


def test_only_upper_case_prefixed_variables_count() -> None:
    env = {"drs_pause_batch_size": "7", "DRS_PAUSE_Batch_Size": "8", "BATCH_SIZE": "9",
           "DRS_PAUSE_NOT_A_SETTING": "x"}
    assert load(None, env) == Settings()


def test_a_bad_variable_overridden_by_its_flag_is_not_an_error() -> None:
    env = {"DRS_PAUSE_BATCH_SIZE": "0", "DRS_PAUSE_ALLOW_INSECURE_HTTP": "maybe"}
    s = load(_args("--batch-size", "5", "--allow-insecure-http"), env)
    assert s.batch_size == 5 and s.allow_insecure_http is True


def test_environment_and_flag_problems_are_reported_together() -> None:
    env = {"DRS_PAUSE_ALLOW_INSECURE_HTTP": "maybe", "DRS_PAUSE_NAMESPACES": "ok,Bad",
           "DRS_PAUSE_RATE_LIMIT": "0"}
    with pytest.raises(SettingsError) as err:
        load(_args("--batch-size", "0"), env)
    message = str(err.value)
    assert message.startswith("invalid operator configuration: ")
    for where in ("environment variable DRS_PAUSE_ALLOW_INSECURE_HTTP: ",
                  "environment variable DRS_PAUSE_NAMESPACES: ",
                  "environment variable DRS_PAUSE_RATE_LIMIT: ", "--batch-size: "):
        assert where in message


def test_environment_values_are_not_json() -> None:
    """A comma list, not a JSON array (what pydantic-settings would expect by default)."""
    assert load(None, {"DRS_PAUSE_NAMESPACES": "a"}).namespaces == ("a",)
    with pytest.raises(SettingsError, match="DRS_PAUSE_NAMESPACES"):
        load(None, {"DRS_PAUSE_NAMESPACES": '["a", "b"]'})


def test_run_has_no_standalone_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """Standalone is what kopf does without --peering; a flag for it did nothing."""
    from drs_pause_operator.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", "--standalone"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --standalone" in capsys.readouterr().err
