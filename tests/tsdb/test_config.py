"""prometheus.yml: Prometheus' error texts, its rendering of the loaded config, and the challenge's
Kubernetes pod relabeling applied unchanged to pods fed through the discovery interface — compared
with the real Prometheus (the same label sets through file_sd, since Debian's build has no
Kubernetes discovery)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from flightdeck.tsdb.api import PrometheusAPI
from flightdeck.tsdb.scrape.config import ConfigError, load_config, parse_config
from flightdeck.tsdb.scrape.discovery import DiscoveryHub, pod_target_group
from flightdeck.tsdb.scrape.fetch import FetchError, FetchResult
from flightdeck.tsdb.scrape.manager import ScrapeManager
from flightdeck.tsdb.storage import Storage
from tests.support.prometheus import free_port

VALUES = Path("/work/shared/challenge/prometheus-standalone-values.yaml")
if not VALUES.exists():
    VALUES = Path(__file__).resolve().parents[3] / "shared/challenge/prometheus-standalone-values.yaml"

# (config, Prometheus' error) — each pinned by running Debian's promtool 2.42 on it.
CONFIG_ERRORS = [
    (
        "global:\n  bogus: 1\n",
        "yaml: unmarshal errors:\n  line 2: field bogus not found in type config.plain",
    ),
    ("bogus: 1\n", "yaml: unmarshal errors:\n  line 1: field bogus not found in type config.plain"),
    (
        "scrape_configs:\n- job_name: a\n  bogus: 1\n",
        "yaml: unmarshal errors:\n  line 3: field bogus not found in type config.ScrapeConfig",
    ),
    (
        "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: [a]\n    bogus: 1\n",
        'yaml: unmarshal errors:\n  line 5: field bogus not found in type struct { Targets []string "yaml:\\"targets\\""; Labels model.LabelSet "yaml:\\"labels\\"" }',
    ),
    (
        "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - bogus: 1\n",
        "yaml: unmarshal errors:\n  line 4: field bogus not found in type relabel.plain",
    ),
    (
        "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [a.json]\n    bogus: 1\n",
        "yaml: unmarshal errors:\n  line 5: field bogus not found in type file.plain",
    ),
    (
        "scrape_configs:\n- job_name: a\n  http_sd_configs:\n  - url: http://a/\n    bogus: 1\n",
        "yaml: unmarshal errors:\n  line 5: field bogus not found in type http.plain",
    ),
    ("scrape_configs:\n- job_name: a\n  scrape_interval: 5x\n", 'not a valid duration string: "5x"'),
    (
        "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [a.txt]\n",
        'path name "a.txt" is not valid for file discovery',
    ),
    (
        "scrape_configs:\n- job_name: a\n  http_sd_configs:\n  - url: ftp://a/\n",
        "URL scheme must be 'http' or 'https'",
    ),
    (
        "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['http://a']\n",
        '"http://a" is not a valid hostname',
    ),
    (
        "scrape_configs:\n- job_name: a\n  static_configs:\n  - labels: {1a: x}\n",
        '"1a" is not a valid label name',
    ),
    (
        "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: replace\n",
        "relabel configuration for replace action requires 'target_label' value",
    ),
    (
        "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: nope\n",
        'unknown relabel action "nope"',
    ),
    (
        "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - regex: '('\n",
        "error parsing regexp: missing closing ): `^(?:()$`",
    ),
    ("scrape_configs:\n- job_name: a\n- job_name: a\n", 'found multiple scrape configs with job name "a"'),
    ("scrape_configs:\n- scrape_interval: 1s\n", "job_name is empty"),
    (
        "scrape_configs:\n- job_name: a\n  honor_labels: maybe\n",
        "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `maybe` into bool",
    ),
    (
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 2s\n",
        "global scrape timeout greater than scrape interval",
    ),
    (
        "scrape_configs:\n- job_name: a\n  scrape_interval: 1s\n  scrape_timeout: 2s\n",
        'scrape timeout greater than scrape interval for scrape config with job name "a"',
    ),
    (
        "scrape_configs: 5\n",
        "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!int `5` into []*config.ScrapeConfig",
    ),
    (
        "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: a\n",
        "yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `a` into []string",
    ),
]

ACCEPTED = [
    "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['a b']\n",
    "scrape_configs:\n- job_name: a\n  metrics_path: x\n  scheme: ftp\n",
    "global:\n  scrape_interval: 15s\n  external_labels: {env: test}\nscrape_configs:\n- job_name: h\n  honor_labels: true\n"
    "  params: {x: ['1', '2']}\n  http_sd_configs:\n  - url: http://127.0.0.1:1/sd\n  relabel_configs:\n"
    "  - {action: labelmap, regex: __meta_(.+)}\n  - {source_labels: [a, b], separator: '-', target_label: c, replacement: '${1}x'}\n"
    "  - {action: hashmod, source_labels: [a], modulus: 4, target_label: shard}\n",
    "storage:\n  tsdb:\n    out_of_order_time_window: 10m\nscrape_configs:\n- job_name: s\n  scrape_interval: 1m\n  scrape_timeout: 20s\n  sample_limit: 100\n  static_configs: [{targets: []}]\n",
]


@pytest.mark.parametrize(("text", "error"), CONFIG_ERRORS)
def test_config_errors(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert str(exc.value) == error


@pytest.mark.parametrize("text", ACCEPTED)
def test_config_accepted(text: str) -> None:
    parse_config(text)


def test_unsupported_constructs_are_named(tmp_path: Path) -> None:
    for text, fragment in (
        ("rule_files: [a.yml]\n", "not supported by flightdeck: rule_files"),
        (
            "scrape_configs:\n- job_name: a\n  basic_auth: {username: u}\n",
            "not supported by flightdeck: basic_auth",
        ),
        (
            "scrape_configs:\n- job_name: a\n  consul_sd_configs: [{server: x}]\n",
            "not supported by flightdeck: consul_sd_configs",
        ),
        (
            "scrape_configs:\n- job_name: a\n  kubernetes_sd_configs: [{role: node}]\n",
            'kubernetes_sd_configs role "node"',
        ),
    ):
        with pytest.raises(ConfigError, match=fragment):
            parse_config(text)
    path = tmp_path / "p.yml"
    path.write_text("bogus: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"parsing YAML file {path}: yaml: unmarshal errors:")


# -- the challenge's Kubernetes pod relabeling --------------------------------------------------------
def _challenge_config(keep_refresh_interval: bool = False) -> str:
    values = yaml.safe_load(VALUES.read_text())
    server = values["server"]
    jobs = yaml.safe_load(server["extraScrapeConfigs"])
    if not keep_refresh_interval:
        for job in jobs:
            for sd in job.get("kubernetes_sd_configs", []):
                sd.pop("refresh_interval", None)
    return yaml.safe_dump({"global": server["global"], "scrape_configs": jobs}, sort_keys=False)


def _pod(
    name: str,
    ip: str,
    *,
    scrape: bool,
    hash_: str,
    ns: str = "hotrod",
    ports: tuple[int, ...] = (8080, 8081, 8083),
) -> dict[str, Any]:
    annotations = {"prometheus.io/port": str(ports[0] if ports else 80), "prometheus.io/path": "/metrics"}
    if scrape:
        annotations["prometheus.io/scrape"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"uid-{name}",
            "labels": {"app": "hotrod", "rollouts-pod-template-hash": hash_},
            "annotations": annotations,
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"hotrod-{hash_}", "controller": True}],
        },
        "spec": {
            "nodeName": "flightdeck",
            "containers": [
                {
                    "name": "hotrod",
                    "image": "jaegertracing/example-hotrod:1.75.0",
                    "ports": [{"containerPort": p, "name": f"p{p}"} for p in ports],
                }
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "hostIP": "127.0.0.1",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "hotrod", "containerID": f"local://{name}"}],
        },
    }


PODS = [
    _pod("hotrod-6d4b9-abcde", "127.0.0.2", scrape=True, hash_="6d4b9"),
    _pod("hotrod-7f8c1-fghij", "127.0.0.3", scrape=True, hash_="7f8c1"),
    _pod("loadgen-1", "127.0.0.4", scrape=False, hash_="x1", ports=(9000,)),
    {**_pod("pending", "", scrape=True, hash_="p"), "status": {"phase": "Pending"}},
]


def test_refresh_interval_is_refused_like_prometheus() -> None:
    # The values file sets refresh_interval under kubernetes_sd_configs; Prometheus' Kubernetes
    # discovery has no such field, so Prometheus (any version) refuses the file with this error.
    with pytest.raises(ConfigError, match=r"field refresh_interval not found in type kubernetes\.plain"):
        parse_config(_challenge_config(keep_refresh_interval=True))


def _flightdeck_targets(config_text: str) -> dict[str, Any]:
    hub = DiscoveryHub()
    hub.set_pods(PODS)

    def refuse(url: str, timeout: float, limit: int) -> FetchResult:
        raise FetchError("not scraped in this test")

    cfg = parse_config(config_text)
    mgr = ScrapeManager(Storage(), cfg, fetch=refuse, discovery=hub, workers=0)
    api = PrometheusAPI(Storage(), scrape=mgr, config=cfg, listen_address="127.0.0.1:9090")
    status, _, body = api.handle("GET", "/api/v1/targets")
    assert status == 200
    return dict(json.loads(body)["data"])


def test_challenge_relabeling_applies_unchanged() -> None:
    data = _flightdeck_targets(_challenge_config())
    active = data["activeTargets"]
    # One target per pod: its three container ports relabel to the same address and are merged.
    assert sorted(t["labels"]["kubernetes_pod_name"] for t in active) == [
        "hotrod-6d4b9-abcde",
        "hotrod-7f8c1-fghij",
    ]
    first = next(t for t in active if t["labels"]["kubernetes_pod_name"] == "hotrod-6d4b9-abcde")
    assert first["labels"] == {
        "instance": "127.0.0.2:8080",
        "job": "kubernetes-pods",
        "kubernetes_namespace": "hotrod",
        "kubernetes_pod_name": "hotrod-6d4b9-abcde",
        "rollouts_pod_template_hash": "6d4b9",
    }
    assert first["scrapeUrl"] == "http://127.0.0.2:8080/metrics"
    assert first["scrapeInterval"] == "10s" and first["scrapeTimeout"] == "9s"
    discovered = first["discoveredLabels"]
    assert discovered["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] == "true"
    assert discovered["__meta_kubernetes_pod_label_rollouts_pod_template_hash"] == "6d4b9"
    assert discovered["__meta_kubernetes_pod_labelpresent_app"] == "true"
    assert discovered["__meta_kubernetes_pod_container_port_number"] == "8080"
    assert discovered["__meta_kubernetes_pod_controller_kind"] == "ReplicaSet"
    assert discovered["__meta_kubernetes_pod_ready"] == "true"
    assert discovered["__address__"] == "127.0.0.2:8080"
    dropped = [d["discoveredLabels"]["__meta_kubernetes_pod_name"] for d in data["droppedTargets"]]
    assert dropped == ["loadgen-1"]


def test_pod_without_ports_and_init_containers() -> None:
    pod = _pod("p", "10.1.2.3", scrape=True, hash_="h", ports=())
    pod["spec"]["containers"][0].pop("ports")
    pod["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    group = pod_target_group(pod)
    assert group.source == "pod/hotrod/p"
    assert [dict(t)["__address__"] for t in group.targets] == ["10.1.2.3", "10.1.2.3"]
    assert [dict(t)["__meta_kubernetes_pod_container_init"] for t in group.targets] == ["false", "true"]
    assert pod_target_group({**pod, "status": {}}).targets == ()


# -- against the real Prometheus -------------------------------------------------------------------
def _file_sd_equivalent(work: Path) -> str:
    """The challenge job with the pods' discovered label sets served through file_sd."""
    groups = []
    for pod in PODS:
        g = pod_target_group(pod)
        for target in g.targets:
            labels = {**dict(g.labels), **dict(target)}
            address = labels.pop("__address__")
            groups.append({"targets": [address], "labels": {k: v for k, v in labels.items() if v}})
    (work / "pods.json").write_text(json.dumps(groups))
    values = yaml.safe_load(_challenge_config())
    job = values["scrape_configs"][0]
    job.pop("kubernetes_sd_configs")
    job["file_sd_configs"] = [{"files": [str(work / "pods.json")]}]
    full = yaml.safe_load(ACCEPTED[2])
    values["scrape_configs"].append(full["scrape_configs"][0])
    values["global"]["external_labels"] = {"env": "test"}
    return yaml.safe_dump(values, sort_keys=False)


@pytest.fixture(scope="module")
def real_prometheus() -> Iterator[tuple[str, str]]:
    from tests.support.prometheus import prometheus_binary

    binary = prometheus_binary()
    work = Path(tempfile.mkdtemp(prefix="flightdeck-cfg-"))
    config = _file_sd_equivalent(work)
    (work / "prometheus.yml").write_text(config)
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    data = httpx.get(f"{url}/api/v1/targets").json()["data"]
                    if data["activeTargets"]:
                        break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("prometheus did not start")
            time.sleep(0.2)
        yield url, config
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _strip(target: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: target[k]
        for k in ("labels", "scrapeUrl", "scrapePool", "scrapeInterval", "scrapeTimeout")
        if k in target
    }
    out["discoveredLabels"] = {
        k: v for k, v in target["discoveredLabels"].items() if k != "__meta_filepath" and v
    }
    return out


@pytest.mark.prometheus
def test_relabeling_matches_real_prometheus(real_prometheus: tuple[str, str]) -> None:
    url, _ = real_prometheus
    expected = httpx.get(f"{url}/api/v1/targets").json()["data"]
    actual = _flightdeck_targets(_challenge_config())
    exp_active = sorted(
        (_strip(t) for t in expected["activeTargets"] if t["scrapePool"] == "kubernetes-pods"), key=str
    )
    act_active = sorted((_strip(t) for t in actual["activeTargets"]), key=str)
    # Prometheus keeps the first of the identical targets (port 8080); so does flightdeck.
    assert [t["labels"] for t in exp_active] == [t["labels"] for t in act_active]
    assert [t["scrapeUrl"] for t in exp_active] == [t["scrapeUrl"] for t in act_active]
    exp_dropped = sorted(
        str({k: v for k, v in d["discoveredLabels"].items() if k != "__meta_filepath" and v})
        for d in expected["droppedTargets"]
        if d["discoveredLabels"].get("job") == "kubernetes-pods"
    )
    act_dropped = sorted(
        str({k: v for k, v in d["discoveredLabels"].items() if v}) for d in actual["droppedTargets"]
    )
    assert exp_dropped == act_dropped


@pytest.mark.prometheus
def test_status_config_yaml_matches_real_prometheus(real_prometheus: tuple[str, str]) -> None:
    url, config = real_prometheus
    expected = httpx.get(f"{url}/api/v1/status/config").json()["data"]["yaml"]
    api = PrometheusAPI(Storage(), config=parse_config(config))
    status, _, body = api.handle("GET", "/api/v1/status/config")
    assert status == 200
    assert json.loads(body)["data"]["yaml"] == expected


@pytest.mark.prometheus
@pytest.mark.parametrize("text", ACCEPTED)
def test_promtool_accepts_what_flightdeck_accepts(text: str, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is needed")
    parse_config(text)
    path = tmp_path / "prometheus.yml"
    path.write_text(text)
    proc = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.prometheus
def test_promtool_refuses_what_flightdeck_refuses(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is needed")
    for i, (text, error) in enumerate(CONFIG_ERRORS):
        path = tmp_path / f"c{i}.yml"
        path.write_text(text)
        proc = subprocess.run(
            [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode != 0
        assert f"parsing YAML file {path}: {error}" in proc.stdout + proc.stderr, (
            text,
            proc.stdout + proc.stderr,
        )
