"""deploy/: the Dockerfile, compose file, nginx configs, Helm chart and example configs, read
as helhet understands them: every YAML parses, the commands they run exist in the `helhet` CLI,
the HELHET_* variables they set are real Settings keys, the example configs load as production
configurations, and the Helm templates reference values that exist. (test_deploy_tools.py runs
hadolint, the Compose schema, Helm and the Kubernetes schemas over the same files.)
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from gateway.api.routers import health
from gateway.cli import cli
from gateway.config.settings import Settings, load_settings
from gateway.intake.pipeline import PURPOSE
from schemas import Agency
from tests.helpers.deploy import (
    CHART,
    DEPLOY,
    ROOT,
    compose,
    dockerfile,
    load_yaml,
    with_defaults,
)

HELHET_SERVICES = ("migrate", "gateway", "relay")
SETTINGS_ENV = {f"HELHET_{name.upper()}" for name in Settings.model_fields} - {"HELHET_CONFIG_FILE"}
# HELHET_CONFIG names the file (read by the CLI and load_settings), not a Settings key.
KNOWN_ENV = SETTINGS_ENV | {"HELHET_CONFIG"}
EXAMPLES = {"oslo-0301.toml": ("0301", "NO"), "aarhus-751.toml": ("751", "DK")}
ANY_ADDRESS = "0.0.0.0"  # noqa: S104  (inside a container, behind the proxy)
TEMPLATE_EXPR = re.compile(r"{{-?(.*?)-?}}", re.S)


@pytest.fixture(autouse=True)
def _no_helhet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own HELHET_* variables must not leak into these checks."""
    import os

    for name in list(os.environ):
        if name.startswith("HELHET_"):
            monkeypatch.delenv(name)


def resolve_cli(args: list[str]) -> tuple[click.Command, list[str]]:
    """The `helhet` command that `args` name, and the arguments left for it."""
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group) and rest:
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"`helhet {' '.join(args)}`: no command {rest[0]!r}"
        command, rest = sub, rest[1:]
    assert not isinstance(command, click.Group), f"`helhet {' '.join(args)}` names a group"
    return command, rest


def assert_cli_args(args: list[str]) -> None:
    command, rest = resolve_cli(args)
    options = {opt for param in command.params for opt in param.opts}
    for arg in rest:
        if arg.startswith("--"):
            assert arg in options, f"`helhet {' '.join(args)}`: unknown option {arg}"
    # click parses it without running it
    command.make_context(command.name or "helhet", list(rest), resilient_parsing=True)


# --- YAML --------------------------------------------------------------------------------


def strip_templates(text: str) -> str:
    """Helm template text -> plain YAML: control lines dropped, expressions replaced by x."""
    lines = []
    for line in text.splitlines():
        if TEMPLATE_EXPR.fullmatch(line.strip()):
            continue  # {{- if }}, {{- include … | nindent }}, {{- end }}
        lines.append(TEMPLATE_EXPR.sub("x", line))
    return "\n".join(lines) + "\n"


def chart_templates() -> list[Path]:
    return sorted((CHART / "templates").glob("*.yaml"))


def test_every_yaml_file_parses() -> None:
    plain = [DEPLOY / "compose.yaml", CHART / "Chart.yaml", CHART / "values.yaml"]
    for path in plain:
        assert load_yaml(path) is not None, path
    templates = chart_templates()
    assert {p.name for p in templates} >= {
        "configmap.yaml",
        "deployment-gateway.yaml",
        "deployment-relay.yaml",
        "job-migrate.yaml",
        "service.yaml",
    }
    for path in templates:
        text = path.read_text(encoding="utf-8")
        assert text.count("{{") == text.count("}}"), path
        docs = [d for d in yaml.safe_load_all(strip_templates(text)) if d is not None]
        assert docs, path
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= set(doc), path


# --- compose -----------------------------------------------------------------------------


def test_compose_services_and_pinned_images() -> None:
    services = compose()["services"]
    assert {"kafka", "postgres", "proxy", *HELHET_SERVICES} <= set(services)
    for name, service in services.items():
        image = with_defaults(service["image"])
        repository, _, tag = image.rpartition(":")
        assert repository and re.match(r"^\d", tag), f"{name}: image {image} is not pinned"
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].startswith("postgres:")


def test_compose_kafka_is_kraft_single_node() -> None:
    env = compose()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "ZOOKEEPER" not in json.dumps(env).upper()
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"


def test_compose_helhet_commands_exist_in_the_cli() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["gateway"]["command"][0] == "serve"
    assert services["relay"]["command"] == ["relay"]
    for name in HELHET_SERVICES:
        assert_cli_args(services[name]["command"])


def test_compose_ordering_migrate_first() -> None:
    services = compose()["services"]
    for name in ("gateway", "relay"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["kafka"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["relay"]["healthcheck"] == {"disable": True}


def test_compose_environment_keys_are_settings() -> None:
    services = compose()["services"]
    for name in HELHET_SERVICES:
        env = services[name]["environment"]
        helhet_keys = {key for key in env if key.startswith("HELHET_")}
        assert helhet_keys <= KNOWN_ENV, f"{name}: {helhet_keys - KNOWN_ENV}"
        assert env["HELHET_CONFIG"] == "/etc/helhet/helhet.toml"
        assert env["HELHET_DATABASE_URL"].startswith("postgresql://")
        assert "${POSTGRES_PASSWORD" in env["HELHET_DATABASE_URL"]  # never a literal one
        assert env["HELHET_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert services["gateway"]["environment"]["HELHET_RELAY_ENABLED"] == "false"


def test_compose_mounts_exist_and_keys_are_read_only() -> None:
    services = compose()["services"]
    for name in (*HELHET_SERVICES, "proxy"):
        for volume in services[name]["volumes"]:
            source, target, *mode = with_defaults(volume).split(":")
            if source.startswith(("./config/", "./proxy/")):
                assert (DEPLOY / source).exists(), f"{name}: {source} is missing"
            if name in HELHET_SERVICES:
                assert mode == ["ro"], f"{name}: {target} must be read-only"
                assert target.startswith("/etc/helhet/")


def test_compose_settings_overrides_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """The overrides compose sets are accepted and win over the example config."""
    gateway = compose()["services"]["gateway"]
    env = {
        key: with_defaults(value)
        for key, value in gateway["environment"].items()
        if key.startswith("HELHET_") and key not in ("HELHET_CONFIG", "HELHET_DATABASE_URL")
    }
    env["HELHET_DATABASE_URL"] = "postgresql://helhet:pw@postgres:5432/helhet"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(DEPLOY / "config" / "oslo-0301.toml")
    assert settings.database_url == env["HELHET_DATABASE_URL"]
    assert settings.kafka_replication_factor == 1
    assert settings.relay_enabled is False


# --- example municipality configs -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_config_loads_as_production(name: str) -> None:
    municipality, jurisdiction = EXAMPLES[name]
    path = DEPLOY / "config" / name
    settings = load_settings(path)
    assert settings.municipality == municipality
    assert settings.jurisdiction == jurisdiction
    assert settings.environment == "production"
    assert settings.allow_synthetic_ids is False
    assert settings.demo_keys is False
    assert set(settings.agencies) == {a.value for a in Agency}
    assert settings.statutory_bases, "an example statutory basis is expected"
    for basis in settings.statutory_bases:
        assert basis.purpose in ("*", PURPOSE), "a purpose the pipeline never decides for"
        assert basis.recipients == [Agency.CHILD_WELFARE]
    assert settings.age_of_self_determination
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    # Relative key paths: they resolve against /etc/helhet where the deployments mount them.
    assert raw["signing_key_file"] == "keys/gateway-signing.pem"
    assert raw["pseudonym_key_file"] == "keys/pseudonym.key"
    assert raw["agency_keys_dir"] == "agency-keys"


def test_example_statutes_name_the_law() -> None:
    oslo = load_settings(DEPLOY / "config" / "oslo-0301.toml").statutory_bases[0]
    assert (oslo.law, oslo.section) == ("Barnevernsloven", "§ 13-2")
    aarhus = load_settings(DEPLOY / "config" / "aarhus-751.toml").statutory_bases[0]
    assert (aarhus.law, aarhus.section) == ("Barnets lov", "§ 133")


# --- Dockerfile --------------------------------------------------------------------------


def instruction(name: str) -> list[str]:
    """The arguments of each `NAME …` instruction, with continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile())
    return [
        line.split(None, 1)[1].strip()
        for line in joined.splitlines()
        if line.strip().upper().startswith(name + " ")
    ]


def test_dockerfile_entrypoint_command_and_user() -> None:
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile()
    assert instruction("FROM")[-1] == "${PYTHON_IMAGE}"
    assert json.loads(instruction("ENTRYPOINT")[-1]) == ["helhet"]
    command = json.loads(instruction("CMD")[-1])
    assert command == ["serve", "--host", ANY_ADDRESS]
    assert_cli_args(command)
    user = instruction("USER")[-1]
    assert user.split(":")[0] not in ("0", "root")
    assert "HELHET_CONFIG=/etc/helhet/helhet.toml" in " ".join(instruction("ENV"))
    assert any("pip install ." in run for run in instruction("RUN"))


def test_dockerfile_copies_what_exists() -> None:
    for copy in instruction("COPY"):
        if copy.startswith("--from"):
            continue
        *sources, _target = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_dockerfile_healthcheck_uses_a_real_route() -> None:
    healthcheck = instruction("HEALTHCHECK")[-1]
    routes = {getattr(route, "path", None) for route in health.router.routes}
    assert {"/healthz", "/readyz"} <= routes
    assert "/healthz" in healthcheck
    assert "HELHET_HTTP_PORT" in healthcheck


# --- nginx -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nginx.conf", "nginx-mtls.conf"])
def test_nginx_configs_terminate_tls(name: str) -> None:
    text = (DEPLOY / "proxy" / name).read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert code.count("{") == code.count("}")
    assert "listen 8443 ssl;" in code
    assert "server gateway:8080;" in code
    assert "proxy_pass http://helhet_gateway;" in code
    assert "ssl_certificate_key /etc/nginx/certs/server.key;" in code
    if name == "nginx-mtls.conf":
        assert "ssl_verify_client on;" in code
        assert "proxy_set_header X-Client-Cert-Subject $ssl_client_s_dn;" in code
    else:
        assert "ssl_verify_client" not in code
        assert 'proxy_set_header X-Client-Cert-Subject "";' in code


# --- Helm --------------------------------------------------------------------------------


def helm_values() -> dict[str, Any]:
    data = load_yaml(CHART / "values.yaml")
    assert isinstance(data, dict)
    return data


def test_chart_metadata() -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "helhet"
    assert chart["appVersion"] == "0.1.0"


def test_helm_templates_reference_existing_values() -> None:
    values = helm_values()
    sources = [*chart_templates(), CHART / "templates" / "_helpers.tpl"]
    referenced = set()
    for path in sources:
        referenced |= set(re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", path.read_text()))
    assert referenced
    for ref in sorted(referenced):
        node: Any = values
        for part in ref.strip(".").split("."):
            assert isinstance(node, dict) and part in node, f".Values{ref} is not in values.yaml"
            node = node[part]


def test_helm_includes_are_defined() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    defined = set(re.findall(r'define "([^"]+)"', helpers))
    for path in [*chart_templates(), CHART / "templates" / "NOTES.txt"]:
        for name in re.findall(r'include "([^"]+)"', path.read_text()):
            assert name in defined, f"{path.name}: include {name!r} is not defined"


def test_helm_commands_probes_and_hooks() -> None:
    templates = {p.name: p.read_text() for p in chart_templates()}
    gateway = templates["deployment-gateway.yaml"]
    assert 'args: ["serve", "--host", "0.0.0.0", "--port",' in gateway
    assert_cli_args(["serve", "--host", ANY_ADDRESS, "--port", "8080"])
    assert "livenessProbe" in gateway and "readinessProbe" in gateway
    probes = helm_values()["probes"]
    assert probes["liveness"]["path"] == "/healthz"
    assert probes["readiness"]["path"] == "/readyz"
    assert 'args: ["relay"]' in templates["deployment-relay.yaml"]
    assert "replicas: {{ .Values.relay.replicas }}" in templates["deployment-relay.yaml"]
    job = templates["job-migrate.yaml"]
    assert 'args: ["db", "upgrade"]' in job
    assert_cli_args(["db", "upgrade"])
    assert job.count('"helm.sh/hook": pre-install,pre-upgrade') == 2  # ConfigMap + Job


def test_helm_environment_keys_are_settings() -> None:
    text = "\n".join(
        p.read_text() for p in [*chart_templates(), CHART / "templates" / "_helpers.tpl"]
    )
    names = set(re.findall(r"- name: (HELHET_[A-Z_]+)", text))
    assert {"HELHET_CONFIG", "HELHET_DATABASE_URL", "HELHET_KAFKA_BOOTSTRAP_SERVERS"} <= names
    assert names <= KNOWN_ENV, names - KNOWN_ENV
    for key in helm_values()["env"]:
        assert key in SETTINGS_ENV


def test_helm_values_config_is_a_valid_configuration(tmp_path: Path) -> None:
    config = tmp_path / "helhet.toml"
    config.write_text(helm_values()["config"], encoding="utf-8")
    settings = load_settings(config)
    assert settings.environment == "production"


def test_helm_mounts_match_the_image_layout() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    for path in ("/etc/helhet/helhet.toml", "/etc/helhet/keys", "/etc/helhet/agency-keys"):
        assert f"mountPath: {path}" in helpers
        assert path in dockerfile()
