"""Go's json.Marshal of a corev1.PodTemplateSpec, as Argo Rollouts hashes it.

Each expected string is what Go (>= 1.24) prints for the input decoded into k8s.io/api v0.34.1's PodTemplateSpec
and marshalled again; the rules they show are encoding/json's documented ones (declaration order, omitempty never
dropping structs, sorted map keys, HTML-safe escapes) and the custom marshalers of Quantity, IntOrString and Time.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.kube import gostruct
from flightdeck.kube.gomarshal import go_float, go_string, marshal

GO_OUTPUT: list[tuple[str, dict[str, Any], str]] = [
    (
        "metadata is a struct: never omitted; creationTimestamp is omitzero; containers has no omitempty",
        {},
        '{"metadata":{},"spec":{"containers":null}}',
    ),
    (
        "Container.name and resources are always written",
        {"spec": {"containers": [{}]}},
        '{"metadata":{},"spec":{"containers":[{"name":"","resources":{}}]}}',
    ),
    (
        "omitempty drops empty strings, empty and nil slices, false",
        {
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "",
                        "command": [],
                        "args": None,
                        "stdin": False,
                        "workingDir": "",
                        "ports": [],
                        "env": None,
                    }
                ]
            }
        },
        '{"metadata":{},"spec":{"containers":[{"name":"c","resources":{}}]}}',
    ),
    (
        "fields without omitempty: EnvVar.name, containerPort, fieldPath, VolumeMount name/mountPath",
        {
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "env": [{"name": "X"}, {"name": "Y", "value": "", "valueFrom": {"fieldRef": {}}}],
                        "ports": [{}],
                        "volumeMounts": [{}],
                    }
                ]
            }
        },
        '{"metadata":{},"spec":{"containers":[{"name":"c","ports":[{"containerPort":0}],'
        '"env":[{"name":"X"},{"name":"Y","valueFrom":{"fieldRef":{"fieldPath":""}}}],'
        '"resources":{},"volumeMounts":[{"name":"","mountPath":""}]}]}}',
    ),
    (
        "set pointers are written even when zero; a nil pointer is dropped",
        {
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "automountServiceAccountToken": False,
                "hostNetwork": False,
                "securityContext": {},
                "containers": [{"name": "c", "securityContext": {"runAsNonRoot": False, "privileged": None}}],
            }
        },
        '{"metadata":{},"spec":{"containers":[{"name":"c","resources":{},"securityContext":{"runAsNonRoot":false}}],'
        '"terminationGracePeriodSeconds":0,"automountServiceAccountToken":false,"securityContext":{}}}',
    ),
    (
        "quantities in canonical form, resource names sorted",
        {
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "resources": {
                            "requests": {"memory": "1024Mi", "cpu": 0.5},
                            "limits": {"cpu": "1000m", "memory": "1.5Gi"},
                        },
                    }
                ],
                "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1000Mi"}}],
            }
        },
        '{"metadata":{},"spec":{"volumes":[{"name":"scratch","emptyDir":{"sizeLimit":"1000Mi"}}],'
        '"containers":[{"name":"c","resources":{"limits":{"cpu":"1","memory":"1536Mi"},'
        '"requests":{"cpu":"500m","memory":"1Gi"}}}]}}',
    ),
    (
        "probe handler promoted inline; IntOrString as string or 0; grpc.service has no omitempty",
        {
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "livenessProbe": {
                            "periodSeconds": 10,
                            "httpGet": {"path": "/healthz", "port": "http"},
                        },
                        "readinessProbe": {"tcpSocket": {}},
                        "startupProbe": {"grpc": {"port": 9000}},
                    }
                ]
            }
        },
        '{"metadata":{},"spec":{"containers":[{"name":"c","resources":{},'
        '"livenessProbe":{"httpGet":{"path":"/healthz","port":"http"},"periodSeconds":10},'
        '"readinessProbe":{"tcpSocket":{"port":0}},"startupProbe":{"grpc":{"port":9000,"service":null}}}]}}',
    ),
    (
        "HTML-safe escapes and the JS line separators; other UTF-8 raw",
        {"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": 'a<b>&c\u2028\u2029é"\\'}]}]}},
        '{"metadata":{},"spec":{"containers":[{"name":"c","env":[{"name":"A",'
        '"value":"a\\u003cb\\u003e\\u0026c\\u2028\\u2029é\\"\\\\"}],"resources":{}}]}}',
    ),
    (
        "map keys sorted bytewise; empty and null maps omitted",
        {
            "metadata": {"labels": {"b": "2", "a": "1", "B": "0"}, "annotations": {}},
            "spec": {"nodeSelector": None},
        },
        '{"metadata":{"labels":{"B":"0","a":"1","b":"2"}},"spec":{"containers":null}}',
    ),
    (
        "volume sources promoted inline, in declaration order",
        {
            "spec": {
                "volumes": [
                    {
                        "configMap": {"defaultMode": 420, "name": "cm", "items": [{"path": "p", "key": "k"}]},
                        "name": "v",
                    },
                    {"name": "s", "secret": {"secretName": "s", "optional": False}},
                ]
            }
        },
        '{"metadata":{},"spec":{"volumes":[{"name":"v","configMap":{"name":"cm","items":[{"key":"k","path":"p"}],'
        '"defaultMode":420}},{"name":"s","secret":{"secretName":"s","optional":false}}],"containers":null}}',
    ),
    (
        "metav1.Time: RFC 3339 in UTC, fractions dropped",
        {"metadata": {"creationTimestamp": "2020-01-02T03:04:05.5+02:00"}},
        '{"metadata":{"creationTimestamp":"2020-01-02T01:04:05Z"},"spec":{"containers":null}}',
    ),
    (
        "affinity, tolerations and spread constraints",
        {
            "spec": {
                "affinity": {
                    "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 100,
                                "podAffinityTerm": {
                                    "topologyKey": "kubernetes.io/hostname",
                                    "labelSelector": {
                                        "matchLabels": {"app": "x"},
                                        "matchExpressions": [{"key": "k", "operator": "In"}],
                                    },
                                },
                            }
                        ]
                    }
                },
                "tolerations": [{"operator": "Exists"}],
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
                ],
            }
        },
        '{"metadata":{},"spec":{"containers":null,"affinity":{"podAntiAffinity":'
        '{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"podAffinityTerm":'
        '{"labelSelector":{"matchLabels":{"app":"x"},"matchExpressions":[{"key":"k","operator":"In"}]},'
        '"topologyKey":"kubernetes.io/hostname"}}]}},"tolerations":[{"operator":"Exists"}],'
        '"topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}]}}',
    ),
]


@pytest.mark.parametrize(("template", "expected"), [c[1:] for c in GO_OUTPUT], ids=[c[0] for c in GO_OUTPUT])
def test_matches_go_json_marshal(template: dict[str, Any], expected: str) -> None:
    result = marshal(template)
    assert result.data.decode("utf-8") == expected
    assert result.issues == ()


def test_before_go_1_24_creation_timestamp_is_null() -> None:
    # Without omitzero (Go < 1.24, or apimachinery < v0.34 as in Argo Rollouts <= v1.8) the zero Time is null.
    assert (
        marshal({}, omitzero=False).data
        == b'{"metadata":{"creationTimestamp":null},"spec":{"containers":null}}'
    )
    zero = {"metadata": {"creationTimestamp": "0001-01-01T00:00:00Z"}}
    assert marshal(zero).data == b'{"metadata":{},"spec":{"containers":null}}'


def test_null_is_the_same_as_absent() -> None:
    explicit = {
        "metadata": {"labels": None, "creationTimestamp": None},
        "spec": {"containers": [{"name": "c", "resources": None, "ports": [{"containerPort": None}]}]},
    }
    implicit = {"spec": {"containers": [{"name": "c", "ports": [{}]}]}}
    assert marshal(explicit).data == marshal(implicit).data


def test_integral_floats_are_integers() -> None:
    a = marshal({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080.0}]}]}})
    b = marshal({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]}})
    assert a.data == b.data and a.issues == ()


def test_unknown_fields_are_appended_sorted_and_reported() -> None:
    template = {
        "spec": {"containers": [{"zeta": 1, "name": "c", "alpha": {"y": 1.5, "x": "<"}}], "futureField": True}
    }
    result = marshal(template)
    assert result.data == (
        b'{"metadata":{},"spec":{"containers":[{"name":"c","resources":{},'
        b'"alpha":{"x":"\\u003c","y":1.5},"zeta":1}],"futureField":true}}'
    )
    assert result.issues == (
        f"spec.containers[0].alpha: unknown field (not in Container, {gostruct.SOURCE})",
        f"spec.containers[0].zeta: unknown field (not in Container, {gostruct.SOURCE})",
        f"spec.futureField: unknown field (not in PodSpec, {gostruct.SOURCE})",
    )
    dropped = marshal(template, unknown="drop")
    assert dropped.data == b'{"metadata":{},"spec":{"containers":[{"name":"c","resources":{}}]}}'
    assert dropped.issues == result.issues
    # Editing an unknown field still changes the bytes, so a hash of them notices.
    edited = {"spec": {**template["spec"], "futureField": False}}
    assert marshal(edited).data != result.data


@pytest.mark.parametrize(
    ("template", "issue"),
    [
        ({"spec": {"containers": [{"name": 7}]}}, "spec.containers[0].name: expected a string, got number"),
        ({"spec": {"hostNetwork": "yes"}}, "spec.hostNetwork: expected a boolean, got string"),
        ({"spec": {"priority": "high"}}, "spec.priority: expected an integer, got string"),
        ({"spec": {"containers": {"name": "c"}}}, "spec.containers: expected an array, got object"),
        ({"metadata": {"labels": ["a"]}}, "metadata.labels: expected an object, got array"),
        (
            {"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": True}}}]}},
            "spec.containers[0].livenessProbe.httpGet.port: expected an integer or a string, got bool",
        ),
        (
            {"spec": {"overhead": {"cpu": "1K"}}},
            "spec.overhead[cpu]: invalid quantity '1K': unable to parse quantity's suffix",
        ),
        (
            {"metadata": {"creationTimestamp": "yesterday"}},
            "metadata.creationTimestamp: expected an RFC 3339 time",
        ),
    ],
)
def test_values_go_cannot_decode_are_reported(template: dict[str, Any], issue: str) -> None:
    issues = marshal(template).issues
    assert len(issues) == 1 and issues[0].startswith(issue)


def test_go_string_and_float_forms() -> None:
    assert go_string("plain-name_1.2") == '"plain-name_1.2"'
    assert go_string("<&>") == '"\\u003c\\u0026\\u003e"'
    assert go_string("\x01\t\n") == '"\\u0001\\t\\n"'
    assert go_string("😀") == '"😀"'
    assert [go_float(v) for v in (1.5, 2.0, 1e-7, 1.5e-7, 1e21, 123456789.0, 1e20)] == [
        "1.5",
        "2",
        "1e-7",
        "1.5e-7",
        "1e+21",
        "123456789",
        "100000000000000000000",
    ]


def test_tables_are_closed_and_compile() -> None:
    scalars = {"string", "int", "bool", "quantity", "intorstr", "time", "raw"}

    def check(kind: str) -> None:
        while kind.startswith(("*", "[]", "map[string]")):
            kind = (
                kind[1:]
                if kind[0] == "*"
                else kind[2:]
                if kind.startswith("[]")
                else kind[len("map[string]") :]
            )
        assert kind in scalars or kind in gostruct.GO_TYPES, kind

    for fields in gostruct.GO_TYPES.values():
        for name, kind, options in fields:
            assert set(filter(None, options.split(","))) <= {"omitempty", "omitzero", "inline"}
            assert bool(name) != (options == "inline")
            check(kind)
    for name in gostruct.GO_TYPES:
        assert marshal({}, name).data.startswith(b"{")


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = [(k, _shuffled(v, rng)) for k, v in value.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


_RICH = {
    "metadata": {"labels": {"app": "a", "tier": "web"}, "annotations": {"x/y": "1"}},
    "spec": {
        "volumes": [{"name": "v", "configMap": {"name": "cm", "defaultMode": 420}}],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [
                    {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}}
                ],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "readinessProbe": {
                    "httpGet": {"path": "/", "port": 8080, "httpHeaders": [{"name": "h", "value": "v"}]}
                },
                "volumeMounts": [{"name": "v", "mountPath": "/etc/v", "readOnly": True}],
                "securityContext": {
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            }
        ],
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}
        },
        "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
        "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["a"]}],
        "futureField": {"b": 1, "a": 2},
    },
}


@given(
    st.randoms(use_true_random=False), st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=5)
)
def test_key_order_never_changes_the_bytes(rng: random.Random, labels: dict[str, str]) -> None:
    template = {**_RICH, "metadata": {**_RICH["metadata"], "labels": labels}}
    assert marshal(_shuffled(template, rng)).data == marshal(template).data
