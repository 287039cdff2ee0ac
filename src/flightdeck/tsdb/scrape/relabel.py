"""Prometheus relabeling (``model/relabel``): replace, keep, drop, hashmod, labelmap, labeldrop,
labelkeep, lowercase, uppercase, keepequal, dropequal — with Prometheus 2.42's checks and messages."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flightdeck.tsdb.labels import LABEL_NAME_RE
from flightdeck.tsdb.regex import RegexError, compile_anchored, expand_template
from flightdeck.util.gofmt import go_quote

ACTIONS = (
    "replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
    "lowercase", "uppercase", "keepequal", "dropequal",
)  # fmt: skip

# A target label (or labelmap replacement) made of name characters and $ references.
_RELABEL_TARGET = re.compile(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$", re.ASCII)


class RelabelConfigError(ValueError):
    """An invalid relabel_configs entry; ``str()`` is Prometheus' message."""


@dataclass(frozen=True)
class RelabelConfig:
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: str = "(.*)"
    modulus: int = 0
    target_label: str = ""
    replacement: str = "$1"
    action: str = "replace"
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_compiled", compile_anchored(self.regex))
        except RegexError as exc:
            raise RelabelConfigError(str(exc)) from exc
        a = self.action
        if a not in ACTIONS:
            raise RelabelConfigError(f"unknown relabel action {go_quote(a)}")
        if self.modulus == 0 and a == "hashmod":
            raise RelabelConfigError("relabel configuration for hashmod requires non-zero modulus")
        needs_target = ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal")
        if a in needs_target and not self.target_label:
            raise RelabelConfigError(f"relabel configuration for {a} action requires 'target_label' value")
        templated = ("replace", "lowercase", "uppercase", "keepequal", "dropequal")
        if a in templated and not _RELABEL_TARGET.match(self.target_label):
            raise RelabelConfigError(
                f"{go_quote(self.target_label)} is invalid 'target_label' for {a} action"
            )
        if a in ("lowercase", "uppercase", "keepequal", "dropequal") and self.replacement != "$1":
            raise RelabelConfigError(f"'replacement' can not be set for {a} action")
        if a == "labelmap" and not _RELABEL_TARGET.match(self.replacement):
            raise RelabelConfigError(f"{go_quote(self.replacement)} is invalid 'replacement' for {a} action")
        if a == "hashmod" and not LABEL_NAME_RE.match(self.target_label):
            raise RelabelConfigError(
                f"{go_quote(self.target_label)} is invalid 'target_label' for {a} action"
            )
        if a in ("dropequal", "keepequal") and (
            self.regex != "(.*)" or self.modulus or self.separator != ";" or self.replacement != "$1"
        ):
            raise RelabelConfigError(
                f"{a} action requires only 'source_labels' and `target_label`, and no other fields"
            )
        if a in ("labeldrop", "labelkeep") and (
            self.source_labels
            or self.target_label
            or self.modulus
            or self.separator != ";"
            or self.replacement != "$1"
        ):
            raise RelabelConfigError(f"{a} action requires only 'regex', and no other fields")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RelabelConfig:
        known = {"source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"}
        unknown = set(raw) - known
        if unknown:
            raise RelabelConfigError(f"field {sorted(unknown)[0]} not found in type relabel.plain")
        action = str(raw.get("action", "replace"))
        if action == "":
            raise RelabelConfigError("relabel action cannot be empty")
        if action.lower() not in ACTIONS:
            raise RelabelConfigError(f"unknown relabel action {go_quote(action)}")
        return cls(
            source_labels=tuple(str(s) for s in raw.get("source_labels") or ()),
            separator=str(raw.get("separator", ";")),
            regex=str(raw.get("regex", "(.*)")),
            modulus=int(raw.get("modulus", 0)),
            target_label=str(raw.get("target_label", "")),
            replacement=str(raw.get("replacement", "$1")),
            action=action.lower(),
        )


def _apply(lset: dict[str, str], cfg: RelabelConfig) -> dict[str, str] | None:
    val = cfg.separator.join(lset.get(name, "") for name in cfg.source_labels)
    rx = cfg._compiled
    a = cfg.action
    out = dict(lset)
    if a == "drop":
        return None if rx.fullmatch(val) else out
    if a == "keep":
        return out if rx.fullmatch(val) else None
    if a == "dropequal":
        return None if lset.get(cfg.target_label, "") == val else out
    if a == "keepequal":
        return out if lset.get(cfg.target_label, "") == val else None
    if a == "replace":
        m = rx.fullmatch(val)
        if m is None:
            return out
        target = expand_template(cfg.target_label, m)
        if not LABEL_NAME_RE.match(target):
            out.pop(cfg.target_label, None)
            return out
        res = expand_template(cfg.replacement, m)
        if not res:
            out.pop(cfg.target_label, None)
            return out
        out[target] = res
        return out
    if a in ("lowercase", "uppercase"):
        res = val.lower() if a == "lowercase" else val.upper()
        if res:
            out[cfg.target_label] = res
        else:
            out.pop(cfg.target_label, None)
        return out
    if a == "hashmod":
        digest = hashlib.md5(val.encode()).digest()
        out[cfg.target_label] = str(int.from_bytes(digest[8:], "big") % cfg.modulus)
        return out
    if a == "labelmap":
        # Sorted like a labels.Labels; later sets win, as in Prometheus' label builder.
        for name in sorted(lset):
            m = rx.fullmatch(name)
            if m is not None:
                new = expand_template(cfg.replacement, m)
                if lset[name]:
                    out[new] = lset[name]
                else:
                    out.pop(new, None)
        return out
    if a == "labeldrop":
        return {k: v for k, v in out.items() if not rx.fullmatch(k)}
    if a == "labelkeep":
        return {k: v for k, v in out.items() if rx.fullmatch(k)}
    raise RelabelConfigError(f"relabel: unknown relabel action type {go_quote(a)}")


def relabel(labels: Mapping[str, str], configs: Sequence[RelabelConfig]) -> dict[str, str] | None:
    """Apply ``configs`` in order; None when the target/series is dropped."""
    current: dict[str, str] | None = {k: v for k, v in labels.items() if v != ""}
    for cfg in configs:
        assert current is not None
        current = _apply(current, cfg)
        if current is None:
            return None
        current = {k: v for k, v in current.items() if v != ""}
    return current
