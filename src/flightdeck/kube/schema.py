"""Structural schemas of the kinds flightdeck reads, and a validator that reports every problem
with its field path (like the API server's strict decoding, but all at once)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flightdeck.kube.durations import DurationError, parse_duration_seconds, parse_go_duration
from flightdeck.kube.manifest import PathKey, format_path


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    path: PathKey
    message: str
    show_path: bool = True
    """False when the message names the field itself (unknown fields)."""


class Schema:
    """Base: accepts anything."""

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class Scalar(Schema):
    def __init__(self, *kinds: str, enum: tuple[str, ...] = ()) -> None:
        self.kinds = kinds
        self.enum = enum

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        actual = _type_name(value)
        allowed = set(self.kinds)
        if "number" in allowed:
            allowed.add("integer")
        if actual not in allowed:
            wanted = " or ".join(self.kinds)
            out.append(Problem(path, f"expected {wanted}, got {actual} {_show(value)}".rstrip()))
        elif self.enum and value not in self.enum:
            choices = ", ".join(f'"{e}"' for e in self.enum)
            out.append(Problem(path, f"Unsupported value: {_show(value)}: supported values: {choices}"))


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict | list):
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


class GoDuration(Schema):
    """A Go duration string (``30s``, ``1h30m``); ``{{args.x}}`` is checked after substitution."""

    def __init__(self, seconds_allowed: bool = False) -> None:
        self.seconds_allowed = seconds_allowed

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        if self.seconds_allowed and isinstance(value, int) and not isinstance(value, bool):
            return
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A bare number is the classic mistake (``interval: 10``): Go durations need a unit.
            out.append(Problem(path, f'invalid duration "{value}"'))
            return
        if not isinstance(value, str):
            out.append(Problem(path, f"expected string, got {_type_name(value)} {_show(value)}".rstrip()))
            return
        if "{{" in value:
            return
        try:
            if self.seconds_allowed:
                parse_duration_seconds(value)
            else:
                parse_go_duration(value)
        except DurationError:
            out.append(Problem(path, f'invalid duration "{value}"'))


class IntOrString(Schema):
    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if (
            value is None
            or isinstance(value, str)
            or (isinstance(value, int) and not isinstance(value, bool))
        ):
            return
        out.append(
            Problem(path, f"expected integer or string, got {_type_name(value)} {_show(value)}".rstrip())
        )


class Obj(Schema):
    def __init__(
        self,
        fields: Mapping[str, Schema],
        required: tuple[str, ...] = (),
        *,
        open_fields: bool = False,
    ) -> None:
        self.fields = fields
        self.required = required
        self.open_fields = open_fields

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            out.append(Problem(path, f"expected object, got {_type_name(value)} {_show(value)}".rstrip()))
            return
        for key in self.required:
            if value.get(key) in (None, "", [], {}):
                out.append(Problem((*path, key), "Required value"))
        for key, item in value.items():
            schema = self.fields.get(str(key))
            if schema is None:
                if not self.open_fields:
                    out.append(
                        Problem((*path, str(key)), f'unknown field "{format_path((*path, str(key)))}"', False)
                    )
                continue
            schema.check(item, (*path, str(key)), out)


class ListOf(Schema):
    def __init__(self, item: Schema) -> None:
        self.item = item

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            out.append(Problem(path, f"expected array, got {_type_name(value)} {_show(value)}".rstrip()))
            return
        for index, item in enumerate(value):
            self.item.check(item, (*path, index), out)


class MapOf(Schema):
    def __init__(self, item: Schema) -> None:
        self.item = item

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            out.append(Problem(path, f"expected object, got {_type_name(value)} {_show(value)}".rstrip()))
            return
        for key, item in value.items():
            self.item.check(item, (*path, str(key)), out)


ANY = Schema()
STR = Scalar("string")
INT = Scalar("integer")
BOOL = Scalar("boolean")
NUM = Scalar("number")
STR_MAP = MapOf(STR)

OBJECT_META = Obj(
    {
        "name": STR,
        "generateName": STR,
        "namespace": STR,
        "labels": STR_MAP,
        "annotations": STR_MAP,
        "uid": STR,
        "resourceVersion": STR,
        "generation": INT,
        "creationTimestamp": ANY,
        "deletionTimestamp": ANY,
        "finalizers": ListOf(STR),
        "ownerReferences": ListOf(ANY),
        "managedFields": ANY,
    }
)

KEY_VALUE = Obj({"key": STR, "value": STR}, ("key",))

PROMETHEUS_PROVIDER = Obj(
    {
        "address": STR,
        "query": STR,
        "timeout": INT,
        "insecure": BOOL,
        "headers": ListOf(KEY_VALUE),
        "rangeQuery": Obj({"start": STR, "end": STR, "step": STR}),
        "authentication": Obj(
            {
                "sigv4": Obj({"region": STR, "profile": STR, "roleArn": STR}),
                "oauth2": Obj({"tokenUrl": STR, "clientId": STR, "clientSecret": STR, "scopes": ListOf(STR)}),
                "basicAuth": Obj({"username": STR, "password": STR}),
            }
        ),
    },
)

WEB_PROVIDER = Obj(
    {
        "url": STR,
        "method": Scalar("string", enum=("GET", "POST", "PUT")),
        "headers": ListOf(KEY_VALUE),
        "body": STR,
        "jsonBody": ANY,
        "timeoutSeconds": INT,
        "jsonPath": STR,
        "insecure": BOOL,
        "authentication": ANY,
    },
    ("url",),
)

JOB_PROVIDER = Obj({"metadata": OBJECT_META, "spec": Obj({}, open_fields=True)}, ("spec",))

# Providers flightdeck does not run are still valid Argo specs: accept their shape loosely;
# the provider registry reports them when a measurement is attempted (and lint warns).
PROVIDER = Obj(
    {
        "prometheus": PROMETHEUS_PROVIDER,
        "web": WEB_PROVIDER,
        "job": JOB_PROVIDER,
        "datadog": ANY,
        "newRelic": ANY,
        "wavefront": ANY,
        "kayenta": ANY,
        "cloudWatch": ANY,
        "graphite": ANY,
        "influxdb": ANY,
        "skywalking": ANY,
        "plugin": ANY,
    }
)

METRIC = Obj(
    {
        "name": STR,
        "interval": GoDuration(),
        "initialDelay": GoDuration(),
        "count": IntOrString(),
        "successCondition": STR,
        "failureCondition": STR,
        "failureLimit": IntOrString(),
        "inconclusiveLimit": IntOrString(),
        "consecutiveErrorLimit": IntOrString(),
        "consecutiveSuccessLimit": IntOrString(),
        "provider": PROVIDER,
    },
    ("name", "provider"),
)

TEMPLATE_ARG = Obj(
    {
        "name": STR,
        "value": STR,
        "valueFrom": Obj(
            {
                "secretKeyRef": Obj({"name": STR, "key": STR}, ("name", "key")),
                "fieldRef": Obj({"fieldPath": STR}, ("fieldPath",)),
            }
        ),
    },
    ("name",),
)

DRY_RUN = Obj({"metricName": STR}, ("metricName",))
RETENTION = Obj({"metricName": STR, "limit": INT}, ("metricName",))

ANALYSIS_TEMPLATE_SPEC = Obj(
    {
        "metrics": ListOf(METRIC),
        "args": ListOf(TEMPLATE_ARG),
        "dryRun": ListOf(DRY_RUN),
        "measurementRetention": ListOf(RETENTION),
    },
    ("metrics",),
)

ANALYSIS_RUN_SPEC = Obj(
    {
        **ANALYSIS_TEMPLATE_SPEC.fields,
        "terminate": BOOL,
        "ttlStrategy": Obj(
            {"secondsAfterCompletion": INT, "secondsAfterFailure": INT, "secondsAfterSuccess": INT}
        ),
    },
    ("metrics",),
)

ROLLOUT_ARG = Obj(
    {
        "name": STR,
        "value": STR,
        "valueFrom": Obj(
            {
                "podTemplateHashValue": Scalar("string", enum=("Stable", "Latest")),
                "fieldRef": Obj({"fieldPath": STR}, ("fieldPath",)),
            }
        ),
    },
    ("name",),
)

TEMPLATE_REF = Obj({"templateName": STR, "clusterScope": BOOL}, ("templateName",))

ROLLOUT_ANALYSIS = Obj(
    {
        "templates": ListOf(TEMPLATE_REF),
        "args": ListOf(ROLLOUT_ARG),
        "dryRun": ListOf(DRY_RUN),
        "measurementRetention": ListOf(RETENTION),
        "analysisRunMetadata": Obj({"labels": STR_MAP, "annotations": STR_MAP}),
    }
)

CANARY_STEP = Obj(
    {
        "setWeight": INT,
        "pause": Obj({"duration": GoDuration(seconds_allowed=True)}),
        "analysis": ROLLOUT_ANALYSIS,
        "experiment": ANY,
        "setCanaryScale": Obj({"weight": INT, "replicas": INT, "matchTrafficWeight": BOOL}),
        "setHeaderRoute": ANY,
        "setMirrorRoute": ANY,
        "plugin": ANY,
    }
)

CANARY = Obj(
    {
        "canaryService": STR,
        "stableService": STR,
        "steps": ListOf(CANARY_STEP),
        "trafficRouting": ANY,
        "maxUnavailable": IntOrString(),
        "maxSurge": IntOrString(),
        "analysis": Obj({**ROLLOUT_ANALYSIS.fields, "startingStep": INT}),
        "antiAffinity": ANY,
        "canaryMetadata": Obj({"labels": STR_MAP, "annotations": STR_MAP}),
        "stableMetadata": Obj({"labels": STR_MAP, "annotations": STR_MAP}),
        "scaleDownDelaySeconds": INT,
        "scaleDownDelayRevisionLimit": INT,
        "abortScaleDownDelaySeconds": INT,
        "dynamicStableScale": BOOL,
        "pingPong": ANY,
        "minPodsPerReplicaSet": INT,
        "replicaProgressThreshold": ANY,
    }
)

ROLLOUT_SPEC = Obj(
    {
        "replicas": INT,
        "selector": Obj({"matchLabels": STR_MAP, "matchExpressions": ListOf(ANY)}),
        "template": Obj({"metadata": OBJECT_META, "spec": Obj({}, open_fields=True)}),
        "workloadRef": ANY,
        "minReadySeconds": INT,
        "revisionHistoryLimit": INT,
        "paused": BOOL,
        "progressDeadlineSeconds": INT,
        "progressDeadlineAbort": BOOL,
        "restartAt": ANY,
        "rollbackWindow": Obj({"revisions": INT}),
        "analysis": Obj({"successfulRunHistoryLimit": INT, "unsuccessfulRunHistoryLimit": INT}),
        "strategy": Obj({"canary": CANARY, "blueGreen": ANY}),
    },
)


def _object(spec: Schema, *, spec_required: bool = True) -> Obj:
    return Obj(
        {
            "apiVersion": STR,
            "kind": STR,
            "metadata": OBJECT_META,
            "spec": spec,
            "status": ANY,
        },
        ("apiVersion", "kind", "metadata", "spec") if spec_required else ("apiVersion", "kind", "metadata"),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class KindInfo:
    group_versions: tuple[str, ...]
    schema: Obj
    namespaced: bool = True


KINDS: Mapping[str, KindInfo] = {
    "AnalysisTemplate": KindInfo(("argoproj.io/v1alpha1",), _object(ANALYSIS_TEMPLATE_SPEC)),
    "ClusterAnalysisTemplate": KindInfo(
        ("argoproj.io/v1alpha1",), _object(ANALYSIS_TEMPLATE_SPEC), namespaced=False
    ),
    "AnalysisRun": KindInfo(("argoproj.io/v1alpha1",), _object(ANALYSIS_RUN_SPEC)),
    "Rollout": KindInfo(("argoproj.io/v1alpha1",), _object(ROLLOUT_SPEC)),
}


def check_object(obj: Mapping[str, Any]) -> list[Problem]:
    """Structural problems of one object of a known kind (unknown kinds are the caller's call)."""
    info = KINDS.get(str(obj.get("kind") or ""))
    if info is None:
        return []
    problems: list[Problem] = []
    api_version = obj.get("apiVersion")
    if api_version not in info.group_versions:
        problems.append(
            Problem(
                ("apiVersion",),
                f'no matches for kind "{obj.get("kind")}" in version "{api_version}" '
                f"(expected {' or '.join(info.group_versions)})",
            )
        )
    info.schema.check(dict(obj), (), problems)
    return problems
