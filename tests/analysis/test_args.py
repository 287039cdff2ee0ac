from __future__ import annotations

import pytest

from flightdeck.analysis.args import (
    ArgumentError,
    build_rollout_args,
    flatten_args,
    merge_args,
    resolve_metric,
    substitute,
)
from flightdeck.analysis.secrets import SecretStore
from flightdeck.analysis.types import Argument, Metric


def metric(**raw: object) -> Metric:
    return Metric.from_dict({"name": "m", **raw})


def test_substitutes_into_every_field_and_trims_spaces() -> None:
    m = metric(
        count="{{args.count}}",
        interval="{{ args.interval }}",
        provider={"prometheus": {"query": 'up{ns="{{args.ns}}"}'}},
    )
    resolved = resolve_metric(
        m, [Argument("count", "3"), Argument("interval", "10s"), Argument("ns", "hotrod")]
    )
    assert resolved.count == 3
    assert resolved.interval == "10s"
    assert resolved.provider["prometheus"]["query"] == 'up{ns="hotrod"}'


def test_values_are_escaped_like_go_quote() -> None:
    m = metric(provider={"prometheus": {"query": "{{args.q}}"}})
    resolved = resolve_metric(m, [Argument("q", 'a "quoted"\nline\\')])
    assert resolved.provider["prometheus"]["query"] == 'a "quoted"\nline\\'


def test_last_unresolved_tag_in_json_order_is_reported() -> None:
    # Argo's TestResolveMetricArgsUnableToSubstitute: successCondition precedes provider.
    m = metric(
        successCondition="{{args.does-not-exist}}", provider={"prometheus": {"query": "{{args.metric-name}}"}}
    )
    with pytest.raises(ArgumentError, match=r"^failed to resolve \{\{args.metric-name\}\}$"):
        resolve_metric(m, [])


def test_filters_are_not_supported() -> None:
    with pytest.raises(ArgumentError, match=r"failed to resolve \{\{args.name \| upper\}\}"):
        substitute("x{{args.name | upper}}", {"args.name": "v"})


def test_unclosed_tag() -> None:
    with pytest.raises(ArgumentError, match=r'Cannot find end tag="\}\}"'):
        substitute("x{{args.name", {"args.name": "v"})


def test_valueless_arg_is_an_error_even_if_unused() -> None:
    with pytest.raises(ArgumentError, match='argument "unused" was not supplied'):
        resolve_metric(
            metric(provider={"prometheus": {"query": "{{args.x}}"}}), [Argument("x", "1"), Argument("unused")]
        )


def test_merge_args_overrides_and_requires_values() -> None:
    merged = merge_args(
        [Argument("a", "new"), Argument("undeclared", "x")], [Argument("a", "old"), Argument("b", "2")]
    )
    assert merged == [Argument("a", "new"), Argument("b", "2")]
    with pytest.raises(ArgumentError, match=r"^args.b was not resolved$"):
        merge_args([], [Argument("b")])


def test_flatten_args_conflict() -> None:
    with pytest.raises(
        ArgumentError, match="Argument `a` specified multiple times with different values: '1', '2'"
    ):
        flatten_args([[Argument("a", "1")], [Argument("a", "2")]])
    assert flatten_args([[Argument("a")], [Argument("a", "2")]]) == [Argument("a", "2")]


ROLLOUT = {
    "metadata": {"name": "hotrod", "namespace": "prod", "labels": {"team": "x"}},
    "spec": {"replicas": 3, "template": {"metadata": {"labels": {"version": "v2"}}}, "weights": [1.5, 1e6]},
}


def test_rollout_args() -> None:
    args = build_rollout_args(
        [
            {"name": "ns", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "team", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['team']"}}},
            {"name": "missing", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['nope']"}}},
            {"name": "canary", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": "stable", "valueFrom": {"podTemplateHashValue": "Stable"}},
            {
                "name": "version",
                "valueFrom": {"fieldRef": {"fieldPath": "spec.template.metadata.labels.version"}},
            },
            {"name": "replicas", "valueFrom": {"fieldRef": {"fieldPath": "spec.replicas"}}},
            {"name": "w", "valueFrom": {"fieldRef": {"fieldPath": "spec.weights[1]"}}},
            {"name": "plain", "value": "v"},
        ],
        ROLLOUT,
        stable_hash="s1",
        latest_hash="c2",
    )
    assert [(a.name, a.value) for a in args] == [
        ("ns", "prod"),
        ("team", "x"),
        ("missing", ""),
        ("canary", "c2"),
        ("stable", "s1"),
        ("version", "v2"),
        ("replicas", "3"),
        ("w", "1e+06"),
        ("plain", "v"),
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("spec.nope", "invalid path spec.nope in rollout"),
        ("spec.template", "path spec.template in rollout must terminate in a primitive value"),
        ("spec.weights[5]", "index 5 out of range"),
        ("spec.weights[x]", "invalid index 'x'"),
        ("metadata.bogus", "unsupported fieldPath: metadata.bogus"),
    ],
)
def test_rollout_arg_errors(path: str, message: str) -> None:
    with pytest.raises(ArgumentError) as info:
        build_rollout_args(
            [{"name": "a", "valueFrom": {"fieldRef": {"fieldPath": path}}}],
            ROLLOUT,
            stable_hash="",
            latest_hash="",
        )
    assert str(info.value) == message


def test_secret_store_texts() -> None:
    store = SecretStore()
    store.add("default", "creds", {"token": "s3cr3t"})
    assert store("default", "creds", "token") == "s3cr3t"
    with pytest.raises(ArgumentError, match=r'^secrets "x" not found$'):
        store("default", "x", "token")
    with pytest.raises(ArgumentError, match=r"^key 'k' does not exist in secret 'creds'$"):
        store("default", "creds", "k")
