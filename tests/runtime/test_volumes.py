"""Volumes as directories, and mount paths mapped into command lines."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from flightdeck.runtime.env import ContainerConfigError, PodFacts
from flightdeck.runtime.volumes import (
    Mount,
    PathMapper,
    VolumeBuilder,
    VolumeError,
    check_path_flags,
    container_mounts,
)

POD: dict[str, Any] = {
    "metadata": {"name": "collector-x", "namespace": "otel", "labels": {"app": "collector"}}
}
OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("ConfigMap", "otel", "collector-config"): {
        "data": {"collector-config.yaml": "receivers: {}\n", "extra": "x"}
    },
    ("Secret", "otel", "tls"): {"data": {"tls.key": base64.b64encode(b"KEY").decode()}},
}


def builder(tmp_path: Path) -> VolumeBuilder:
    return VolumeBuilder(
        tmp_path, PodFacts(POD, "127.10.0.3", "127.0.0.1", "n"), lambda k, ns, n: OBJECTS.get((k, ns, n))
    )


def test_seed_collector_config_volume(tmp_path: Path) -> None:
    paths = builder(tmp_path).setup([{"name": "collector-config", "configMap": {"name": "collector-config"}}])
    root = paths["collector-config"]
    assert (root / "collector-config.yaml").read_text() == "receivers: {}\n"
    assert stat.S_IMODE((root / "extra").stat().st_mode) == 0o644
    # the ConfigMap changes: files follow, removed keys disappear
    OBJECTS[("ConfigMap", "otel", "collector-config")] = {
        "data": {"collector-config.yaml": "receivers: {otlp: {}}\n"}
    }
    try:
        builder(tmp_path).setup([{"name": "collector-config", "configMap": {"name": "collector-config"}}])
        assert (root / "collector-config.yaml").read_text() == "receivers: {otlp: {}}\n"
        assert not (root / "extra").exists()
    finally:
        OBJECTS[("ConfigMap", "otel", "collector-config")] = {
            "data": {"collector-config.yaml": "receivers: {}\n", "extra": "x"}
        }


def test_items_modes_secrets_downward_and_projected(tmp_path: Path) -> None:
    paths = builder(tmp_path).setup(
        [
            {
                "name": "cfg",
                "configMap": {
                    "name": "collector-config",
                    "items": [{"key": "extra", "path": "sub/e.txt", "mode": 0o600}],
                },
            },
            {"name": "tls", "secret": {"secretName": "tls", "defaultMode": 0o400}},
            {
                "name": "info",
                "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]},
            },
            {
                "name": "all",
                "projected": {
                    "sources": [{"secret": {"name": "tls"}}, {"configMap": {"name": "collector-config"}}]
                },
            },
            {"name": "scratch", "emptyDir": {}},
            {"name": "maybe", "configMap": {"name": "absent", "optional": True}},
        ]
    )
    assert (paths["cfg"] / "sub/e.txt").read_text() == "x"
    assert stat.S_IMODE((paths["cfg"] / "sub/e.txt").stat().st_mode) == 0o600
    assert (paths["tls"] / "tls.key").read_bytes() == b"KEY"
    assert stat.S_IMODE((paths["tls"] / "tls.key").stat().st_mode) == 0o400
    assert (paths["info"] / "labels").read_text() == 'app="collector"'
    assert sorted(os.listdir(paths["all"])) == ["collector-config.yaml", "extra", "tls.key"]
    assert paths["scratch"].is_dir() and os.listdir(paths["maybe"]) == []


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            {"name": "collector-config", "configMap": {"name": "collector-config-v2"}},
            'MountVolume.SetUp failed for volume "collector-config" : configmap "collector-config-v2" not found',
        ),
        (
            {"name": "s", "secret": {"secretName": "nope"}},
            'MountVolume.SetUp failed for volume "s" : secret "nope" not found',
        ),
        (
            {"name": "c", "configMap": {"name": "collector-config", "items": [{"key": "k", "path": "k"}]}},
            'MountVolume.SetUp failed for volume "c" : configmap references non-existent configmap key: k',
        ),
        (
            {"name": "d", "persistentVolumeClaim": {"claimName": "x"}},
            "not supported: volume type persistentVolumeClaim",
        ),
    ],
)
def test_volume_errors(tmp_path: Path, volume: dict[str, Any], message: str) -> None:
    with pytest.raises(VolumeError) as info:
        builder(tmp_path).setup([volume])
    assert message in str(info.value)


def test_mounts_and_subpath(tmp_path: Path) -> None:
    paths = builder(tmp_path).setup([{"name": "v", "configMap": {"name": "collector-config"}}])
    container = {
        "volumeMounts": [
            {"name": "v", "mountPath": "/conf/"},
            {"name": "v", "mountPath": "/etc/app.yaml", "subPath": "collector-config.yaml"},
        ]
    }
    mounts = container_mounts(container, paths, {})
    assert Mount("/etc/app.yaml", str(paths["v"] / "collector-config.yaml")) in mounts
    with pytest.raises(ContainerConfigError, match='unable to find volume "w"'):
        container_mounts({"volumeMounts": [{"name": "w", "mountPath": "/w"}]}, paths, {})


def test_path_mapper_rewrites_whole_paths_only() -> None:
    mapper = PathMapper([Mount("/conf", "/state/v"), Mount("/conf/deep", "/state/d")])
    assert mapper.rewrite("--config=/conf/collector-config.yaml") == "--config=/state/v/collector-config.yaml"
    assert mapper.rewrite("/conf") == "/state/v"
    assert mapper.rewrite("file:/conf/x.yaml") == "file:/state/v/x.yaml"
    assert mapper.rewrite("/conf/deep/x") == "/state/d/x"
    assert (
        mapper.rewrite('cat "/conf/a" /conf/b; ls /configs /x/conf/a')
        == 'cat "/state/v/a" /state/v/b; ls /configs /x/conf/a'
    )
    assert mapper.rewrite("http://host/conf/a") == "http://host/conf/a"
    assert mapper.resolve("/conf/a/../b") == "/state/v/b" and mapper.resolve("/etc/x") is None


def test_unmappable_path_flag_is_a_clear_error() -> None:
    mapper = PathMapper([Mount("/conf", "/state/v")])
    argv = ["collector", "--config", "/etc/otelcol-contrib/config.yaml"]
    with pytest.raises(ContainerConfigError) as info:
        check_path_flags(argv, argv, ["--config"], mapper, "collector", exists=lambda p: False)
    assert str(info.value) == (
        'flightdeck cannot map path "/etc/otelcol-contrib/config.yaml" (--config) of container "collector": '
        "it is under no volumeMount (mounted: /conf) and does not exist on this machine"
    )
    mapped = ["collector", "--config=/state/v/c.yaml"]
    check_path_flags(
        ["collector", "--config=/conf/c.yaml"], mapped, ["--config"], mapper, "c", exists=lambda p: False
    )
    check_path_flags(
        ["c", "--config=env:CFG"],
        ["c", "--config=env:CFG"],
        ["--config"],
        mapper,
        "c",
        exists=lambda p: False,
    )
