"""The image catalog: images to local programs, Docker's command rules, the user's file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flightdeck.kube.manifest import ManifestError
from flightdeck.runtime.catalog import ImageCatalog, ImagePullError, load_config, parse_image


@pytest.mark.parametrize(
    ("image", "repository", "tag"),
    [
        ("jaegertracing/example-hotrod:1.75.0", "jaegertracing/example-hotrod", "1.75.0"),
        ("docker.io/library/busybox", "busybox", "latest"),
        ("localhost:5000/team/app:2", "localhost:5000/team/app", "2"),
        ("localhost:5000/team/app", "localhost:5000/team/app", "latest"),
        ("ghcr.io/x/y@sha256:abcd", "ghcr.io/x/y", ""),
    ],
)
def test_parse_image(image: str, repository: str, tag: str) -> None:
    ref = parse_image(image)
    assert (ref.repository, ref.tag) == (repository, tag)


def test_seed_images() -> None:
    catalog = ImageCatalog()
    hotrod = catalog.resolve("jaegertracing/example-hotrod:1.75.0", None, ["all"])
    assert hotrod.argv == [sys.executable, "-m", "flightdeck.apps.hotrod", "all"]
    assert hotrod.env == {"HOTROD_VERSION": "1.75.0"} and hotrod.cluster_aware
    assert catalog.resolve("jaegertracing/example-hotrod:1.76.0", None, None).argv[-1] == "all"
    collector = catalog.resolve(
        "otel/opentelemetry-collector-contrib:0.142.0", None, ["--config=/conf/c.yaml"]
    )
    assert collector.argv == [
        sys.executable,
        "-m",
        "flightdeck.cli.main",
        "collector",
        "--config=/conf/c.yaml",
    ]
    assert collector.path_flags == ("--config",)
    default = catalog.resolve("otel/opentelemetry-collector:0.142.0", None, None)
    assert default.argv[-2:] == ["--config", "/etc/otelcol/config.yaml"]
    script = ["/bin/sh", "-c", "echo hi"]
    curl = catalog.resolve("curlimages/curl:8.11.1", script, None)
    assert curl.argv == script and not curl.cluster_aware


def test_command_naming_the_image_entrypoint_runs_the_local_program() -> None:
    launch = ImageCatalog().resolve(
        "otel/opentelemetry-collector-contrib:0.142.0", ["/otelcol-contrib"], ["--config", "/c"]
    )
    assert launch.argv[1:] == ["-m", "flightdeck.cli.main", "collector", "--config", "/c"]


def test_curl_entrypoint_semantics() -> None:
    catalog = ImageCatalog()
    flags = catalog.resolve("curlimages/curl:8.11.1", None, ["-s", "http://x"]).argv
    assert flags[:2] == ["/bin/sh", "-c"] and flags[-2:] == ["-s", "http://x"]
    assert catalog.resolve("curlimages/curl:8.11.1", None, None).argv[-1] == "curl"


def test_unmapped_images() -> None:
    catalog = ImageCatalog()
    assert catalog.resolve("acme/tool:1", ["/bin/echo", "x"], ["y"]).argv == ["/bin/echo", "x", "y"]
    assert catalog.resolve("acme/tool:1", None, ["echo", "x"]).argv == ["echo", "x"]
    with pytest.raises(ImagePullError) as info:
        catalog.resolve("acme/tool:1", None, None)
    message = str(info.value)
    assert 'no program for image "acme/tool:1"' in message
    assert "images:\n  - image: acme/tool\n    command: [/path/to/program]" in message


def test_user_file(tmp_path: Path) -> None:
    path = tmp_path / "images.yaml"
    catalog = ImageCatalog(config_path=path)
    with pytest.raises(ImagePullError):
        catalog.resolve("acme/tool:1.2", None, None)
    path.write_text(
        "images:\n"
        "  - image: acme/tool\n"
        "    command: ['{python}', '-m', 'tool']\n"
        "    args: [serve]\n"
        "    env: {TOOL_VERSION: '{tag}'}\n"
        "  - image: acme/tool:0.9\n"
        "    command: [/opt/old-tool]\n"
    )
    launch = catalog.resolve("acme/tool:1.2", None, None)
    assert launch.argv == [sys.executable, "-m", "tool", "serve"] and launch.env == {"TOOL_VERSION": "1.2"}
    assert catalog.resolve("acme/tool:0.9", None, None).argv == ["/opt/old-tool"]
    assert "images.yaml" in (catalog.lookup(parse_image("acme/tool:1")) or catalog.entries()[0]).source


def test_user_file_errors_name_the_line() -> None:
    with pytest.raises(ManifestError) as info:
        load_config("images:\n  - image: a/b\n    comand: [x]\n", "images.yaml")
    assert str(info.value).startswith("images.yaml:3: images[0].comand: unknown key")
    with pytest.raises(ManifestError, match=r"images.yaml:2: images\[0\]: an entry needs a command"):
        load_config("images:\n  - image: a/b\n", "images.yaml")
