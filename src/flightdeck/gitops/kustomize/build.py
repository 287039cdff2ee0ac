"""``kustomize build DIR``: accumulate resources (files and kustomization directories), run the generators and
the built-in transformers in kustomize's order, then — once, at the top — add content hashes, fix name
references and sort the output in kustomize's legacy order."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from flightdeck.gitops.kustomize import fieldspecs, generators, jsonpatch, smp
from flightdeck.gitops.kustomize.fieldspecs import FieldSpec, FieldSpecError, TransformerConfig
from flightdeck.gitops.kustomize.resource import Gvk, ResId, Resource
from flightdeck.kube import selectors
from flightdeck.kube.manifest import Manifest, ManifestError, PathKey, Source, load_text

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

_KNOWN_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "resources",
        "bases",
        "namespace",
        "namePrefix",
        "nameSuffix",
        "commonLabels",
        "labels",
        "commonAnnotations",
        "images",
        "imageTags",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
        "replicas",
        "configurations",
        "sortOptions",
        "buildMetadata",
    }
)
# Valid kustomize fields flightdeck does not implement: a plain "not supported" error names them.
_UNSUPPORTED_FIELDS = frozenset(
    {
        "components",
        "crds",
        "replacements",
        "vars",
        "generators",
        "transformers",
        "validators",
        "helmCharts",
        "helmGlobals",
        "helmChartInflationGenerator",
        "openapi",
        "inventory",
    }
)

# kustomize's legacy output order (kinds first / last; everything else sorted by group, version, kind).
_ORDER_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_TYPE_ORDER = {kind: i - len(_ORDER_FIRST) for i, kind in enumerate(_ORDER_FIRST)} | {
    kind: 1 + i for i, kind in enumerate(_ORDER_LAST)
}

_PREFIX_SKIP = (("CustomResourceDefinition", ""), ("APIService", "apiregistration.k8s.io"), ("Namespace", ""))


class KustomizeError(ManifestError):
    """A kustomization that cannot be built (``file:line: message``)."""


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


@dataclasses.dataclass(slots=True)
class _Ctx:
    repo_root: Path
    display_root: Path
    visiting: list[Path]

    def show(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.display_root))
        except ValueError:
            return str(path)


class _Target:
    """One kustomization directory being built."""

    def __init__(self, directory: Path, ctx: _Ctx, overrides: Mapping[str, Any] | None = None) -> None:
        self.dir = directory
        self.ctx = ctx
        file = find_kustomization(directory)
        if file is None:
            raise KustomizeError(
                ctx.show(directory),
                0,
                "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory "
                f"'{ctx.show(directory)}'",
            )
        self.file = file
        text = self._read_text(file)
        docs = _load(text, ctx.show(file))
        if len(docs) != 1:
            raise KustomizeError(
                ctx.show(file), 1, "a kustomization file must hold exactly one YAML document"
            )
        self.manifest = docs[0]
        self.k: dict[str, Any] = self.manifest.obj
        if overrides:
            self.k = _apply_overrides(self.k, overrides)
        self.config = TransformerConfig()

    # ------------------------------------------------------------------------------------------------ helpers

    def error(self, path: PathKey, message: str) -> KustomizeError:
        error = self.manifest.error(path, message)
        return KustomizeError(error.file, error.line, message)

    def _read_text(self, path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise KustomizeError(self.ctx.show(path), 1, "not UTF-8 text") from None
        except OSError as exc:
            raise KustomizeError(self.ctx.show(path), 0, exc.strerror or str(exc)) from None

    def _file(self, rel: str, where: PathKey) -> Path:
        """A file named in the kustomization: it must be in or below the kustomization's directory."""
        path = (self.dir / rel).resolve()
        if not _within(path, self.dir.resolve()):
            raise self.error(
                where,
                f"security; file '{self.ctx.show(path)}' is not in or below '{self.ctx.show(self.dir)}'",
            )
        if not path.is_file():
            raise self.error(where, f"file '{rel}' does not exist")
        return path

    def load_bytes(self, rel: str, where: PathKey) -> bytes:
        path = self._file(rel, where)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise self.error(where, f"cannot read '{rel}': {exc.strerror or exc}") from None

    def _list(self, key: str) -> list[Any]:
        value = self.k.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error((key,), "expected a list")
        return value

    def _map(self, key: str) -> dict[str, str]:
        value = self.k.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error((key,), "expected a map")
        return {str(k): "" if v is None else _scalar(v) for k, v in value.items()}

    # ------------------------------------------------------------------------------------------- accumulation

    def accumulate(self) -> list[Resource]:
        self._check_fields()
        resources: list[Resource] = []
        for index, entry in enumerate([*self._list("resources"), *self._list("bases")]):
            key = "resources" if index < len(self._list("resources")) else "bases"
            pos = index if key == "resources" else index - len(self._list("resources"))
            where: PathKey = (key, pos)
            if not isinstance(entry, str):
                raise self.error(where, "a resource must be a path (string)")
            for res in self._load_resource(entry, where):
                self._append(resources, res, where)
        for index, entry in enumerate(self._list("configurations")):
            where = ("configurations", index)
            path = self._file(str(entry), where)
            for doc in self._load_docs(path):
                try:
                    self.config.merge(doc.obj)
                except FieldSpecError as exc:
                    raise KustomizeError(doc.source.file, doc.source.line, str(exc)) from None
        self._run_generators(resources)
        self._run_transformers(resources)
        return resources

    def _check_fields(self) -> None:
        kind = self.k.get("kind")
        if kind not in (None, "Kustomization"):
            raise self.error(("kind",), f'kind should be Kustomization, got "{kind}"')
        for key in self.k:
            if key in _UNSUPPORTED_FIELDS:
                raise self.error((key,), f"not supported: kustomize {key}")
            if key not in _KNOWN_FIELDS:
                raise self.error((key,), f'invalid Kustomization: json: unknown field "{key}"')
        sort = self.k.get("sortOptions")
        if isinstance(sort, dict) and sort.get("order") not in (None, "legacy"):
            raise self.error(
                ("sortOptions", "order"), f"not supported: sortOptions.order {sort.get('order')}"
            )

    def _load_docs(self, path: Path) -> list[Manifest]:
        return _load(self._read_text(path), self.ctx.show(path))

    def _load_resource(self, entry: str, where: PathKey) -> list[Resource]:
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            raise self.error(
                where, f"not supported: remote resource {entry!r} (vendor it into the repository)"
            )
        path = (self.dir / entry).resolve()
        if path.is_dir():
            if not _within(path, self.ctx.repo_root):
                raise self.error(where, f"resource directory '{entry}' is outside the repository")
            if path in self.ctx.visiting:
                raise self.error(
                    where, f"cycle detected: candidate root '{self.ctx.show(path)}' contains visited root"
                )
            sub = _Target(path, _Ctx(self.ctx.repo_root, self.ctx.display_root, [*self.ctx.visiting, path]))
            resources = sub.accumulate()
            self._merge_config(sub.config)
            return resources
        if not path.exists():
            raise self.error(where, f"accumulating resources: '{entry}': no such file or directory")
        file = self._file(entry, where)
        out: list[Resource] = []
        for doc in self._load_docs(file):
            out.extend(_resources_of(doc))
        return out

    def _merge_config(self, other: TransformerConfig) -> None:
        for field in dataclasses.fields(TransformerConfig):
            mine = getattr(self.config, field.name)
            for item in getattr(other, field.name):
                if item not in mine:
                    mine.append(item)

    def _append(self, resources: list[Resource], res: Resource, where: PathKey) -> None:
        cur = res.cur_id()
        for existing in resources:
            if any(cur.equals(i) for i in existing.all_ids()):
                raise self.error(where, f"may not add resource with an already registered id: {cur}")
        resources.append(res)

    # --------------------------------------------------------------------------------------------- generators

    def _run_generators(self, resources: list[Resource]) -> None:
        global_options = self.k.get("generatorOptions")
        if global_options is not None and not isinstance(global_options, dict):
            raise self.error(("generatorOptions",), "expected a map")
        for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
            for index, args in enumerate(self._list(key)):
                where: PathKey = (key, index)
                if not isinstance(args, dict):
                    raise self.error(where, "expected a map")
                options = generators.merge_options(args.get("options"), global_options)
                if isinstance(args.get("namespace"), str) is False and args.get("namespace") is not None:
                    raise self.error((*where, "namespace"), "expected a string")

                def load(rel: str, w: PathKey = where) -> bytes:
                    return self.load_bytes(rel, w)

                try:
                    obj = generators.generate(kind, args, options, load)
                except generators.GeneratorError as exc:
                    raise self.error(where, str(exc)) from None
                behavior = str(args.get("behavior") or "create")
                if behavior not in ("create", "replace", "merge"):
                    raise self.error((*where, "behavior"), f"unknown generator behavior {behavior!r}")
                res = Resource(
                    obj,
                    Source(self.manifest.source.file, self.manifest.source.line_of(where)),
                    needs_hash=not options.get("disableNameSuffixHash"),
                    behavior=behavior,
                )
                self._absorb_generated(resources, res, where)

    def _absorb_generated(self, resources: list[Resource], res: Resource, where: PathKey) -> None:
        cur = res.cur_id()
        matches = [r for r in resources if any(cur.equals(i) for i in r.all_ids())]
        if not matches:
            if res.behavior in ("merge", "replace"):
                raise self.error(where, f"id {cur} does not exist; cannot merge or replace")
            resources.append(res)
            return
        if len(matches) > 1:
            raise self.error(where, f"found multiple objects that could accept merge of {cur}")
        old = matches[0]
        if res.behavior == "create":
            raise self.error(
                where, f"id {cur} exists; can not use behavior: 'create', behavior must be merge or replace"
            )
        for field in ("labels", "annotations"):
            merged = {**(old.meta.get(field) or {}), **(res.meta.get(field) or {})}
            if merged:
                res.meta[field] = merged
        if res.behavior == "merge":
            for field in ("data", "binaryData"):
                merged = {**(old.obj.get(field) or {}), **(res.obj.get(field) or {})}
                if merged:
                    res.obj[field] = merged
        res.obj["metadata"]["name"] = old.name
        if old.namespace:
            res.obj["metadata"]["namespace"] = old.namespace
        res.prev_ids = list(old.prev_ids)
        res.prefixes = list(old.prefixes)
        res.suffixes = list(old.suffixes)
        res.needs_hash = res.needs_hash and old.needs_hash
        resources[resources.index(old)] = res

    # ------------------------------------------------------------------------------------------- transformers

    def _run_transformers(self, resources: list[Resource]) -> None:
        self._patches_strategic_merge(resources)
        self._patches(resources)
        self._namespace(resources)
        self._prefix_suffix(resources)
        self._labels(resources)
        self._annotations(resources)
        self._patches_json6902(resources)
        self._replicas(resources)
        self._images(resources)

    def _patch_text(self, entry: Any, where: PathKey) -> tuple[str, str]:
        """(text, label) of a patch given inline or by path."""
        if isinstance(entry, str):
            stripped = entry.strip()
            if "\n" in stripped or stripped.startswith(("{", "[")) or ":" in stripped.split("\n", 1)[0]:
                return stripped, self.manifest.where(where)
            return self.load_bytes(stripped, where).decode("utf-8", "replace"), self.ctx.show(
                self.dir / stripped
            )
        if not isinstance(entry, dict):
            raise self.error(where, "a patch must be a map with path or patch")
        path, inline = entry.get("path"), entry.get("patch")
        if path and inline:
            raise self.error(where, "patch and path can't be set at the same time")
        if not path and not inline:
            raise self.error(where, "must specify one of patch and path")
        if inline:
            return str(inline).strip(), self.manifest.where((*where, "patch"))
        rel = str(path)
        return self.load_bytes(rel, (*where, "path")).decode("utf-8", "replace"), self.ctx.show(
            self.dir / rel
        )

    def _parse_patch(
        self, text: str, label: str, where: PathKey
    ) -> tuple[list[dict[str, Any]] | None, list[Any] | None]:
        """(strategic merge patches, JSON6902 operations): exactly one is set."""
        try:
            docs = load_text(text, label)
        except ManifestError as exc:
            # A JSON6902 patch is often a bare YAML list, which load_text refuses as a manifest.
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError:
                raise KustomizeError(exc.file, exc.line, exc.message) from None
            if isinstance(value, list):
                return None, value
            raise KustomizeError(exc.file, exc.line, exc.message) from None
        if not docs:
            raise self.error(where, f"unable to parse SM or JSON patch from [{label}]")
        return [d.obj for d in docs], None

    def _patches_strategic_merge(self, resources: list[Resource]) -> None:
        for index, entry in enumerate(self._list("patchesStrategicMerge")):
            where: PathKey = ("patchesStrategicMerge", index)
            text, label = self._patch_text(entry, where)
            patches, _ = self._parse_patch(text, label, where)
            if patches is None:
                raise self.error(where, "patchesStrategicMerge entries must be strategic merge patches")
            for patch in patches:
                self._apply_sm_by_id(resources, patch, where)

    def _apply_sm_by_id(self, resources: list[Resource], patch: dict[str, Any], where: PathKey) -> None:
        meta = patch.get("metadata") or {}
        pid = ResId(Gvk.of(patch), str(meta.get("name") or ""), str(meta.get("namespace") or ""))
        matches = [r for r in resources if any(pid.equals(i) for i in r.all_ids())]
        if len(matches) != 1:
            what = "multiple matches" if matches else "no matches"
            raise self.error(
                where,
                f'no resource matches strategic merge patch "{pid}": {what} for Id {pid}; '
                f"failed to find unique target for patch {pid}",
            )
        self._apply_sm(resources, matches[0], patch, where)

    def _apply_sm(
        self, resources: list[Resource], res: Resource, patch: dict[str, Any], where: PathKey
    ) -> None:
        try:
            result = smp.apply(res.obj, patch)
        except smp.PatchError as exc:
            raise self.error(where, str(exc)) from None
        if result is None:
            resources.remove(res)
        else:
            res.obj = result

    def _patches(self, resources: list[Resource]) -> None:
        for index, entry in enumerate(self._list("patches")):
            where: PathKey = ("patches", index)
            text, label = self._patch_text(entry, where)
            target = entry.get("target") if isinstance(entry, dict) else None
            patches, ops = self._parse_patch(text, label, where)
            if ops is not None:
                if target is None:
                    raise self.error(where, f"must specify a target for JSON patch [{label}]")
                self._apply_json(resources, target, ops, label, (*where, "target"))
                continue
            assert patches is not None
            if target is None:
                for patch in patches:
                    self._apply_sm_by_id(resources, patch, where)
                continue
            if len(patches) > 1:
                raise self.error(
                    where,
                    "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set "
                    f"`patches.target` field: [{label}]",
                )
            for res in self._select(resources, target, (*where, "target")):
                self._apply_sm(resources, res, patches[0], where)

    def _apply_json(
        self, resources: list[Resource], target: Any, ops: list[Any], label: str, where: PathKey
    ) -> None:
        for res in self._select(resources, target, where):
            res.store_previous_id()
            try:
                res.obj = jsonpatch.apply(res.obj, ops)
            except jsonpatch.JsonPatchError as exc:
                raise self.error(where, f"{exc} (patch {label}, target {res.cur_id()})") from None

    def _select(self, resources: list[Resource], target: Any, where: PathKey) -> list[Resource]:
        if not isinstance(target, dict):
            raise self.error(where, "target must be a map")
        try:
            matchers = {
                key: re.compile(f"^(?:{target[key]})$")
                for key in ("group", "version", "kind", "name", "namespace")
                if target.get(key)
            }
        except re.error as exc:
            raise self.error(where, f"invalid target regular expression: {exc}") from None
        try:
            labels = selectors.parse(str(target.get("labelSelector") or ""))
            annotations = selectors.parse(str(target.get("annotationSelector") or ""))
        except selectors.SelectorError as exc:
            raise self.error(where, f"invalid selector: {exc}") from None
        out = []
        for res in resources:
            cur, org = res.cur_id(), res.org_id()
            gvk = res.gvk
            if "namespace" in matchers and not (
                matchers["namespace"].match(org.effective_namespace)
                or matchers["namespace"].match(cur.effective_namespace)
            ):
                continue
            if "name" in matchers and not (
                matchers["name"].match(org.name) or matchers["name"].match(cur.name)
            ):
                continue
            if any(
                key in matchers and not matchers[key].match(value)
                for key, value in (("group", gvk.group), ("version", gvk.version), ("kind", gvk.kind))
            ):
                continue
            if not labels.matches(res.labels()) or not annotations.matches(res.annotations()):
                continue
            out.append(res)
        return out

    def _namespace(self, resources: list[Resource]) -> None:
        namespace = self.k.get("namespace")
        if not namespace:
            return
        namespace = str(namespace)
        for res in resources:
            res.store_previous_id()
            gvk = res.gvk
            if not gvk.cluster_scoped:
                res.meta["namespace"] = namespace
            if gvk.kind == "Namespace" and res.obj.get("apiVersion") == "v1":
                res.meta["name"] = namespace
            if gvk.kind == "APIService" and gvk.group == "apiregistration.k8s.io":
                service = (res.obj.get("spec") or {}).get("service")
                if isinstance(service, dict):
                    service["namespace"] = namespace
            if gvk.kind == "CustomResourceDefinition":
                cc = (((res.obj.get("spec") or {}).get("conversion") or {}).get("webhook") or {}).get(
                    "clientConfig"
                )
                if isinstance(cc, dict) and isinstance(cc.get("service"), dict):
                    cc["service"]["namespace"] = namespace
            if gvk.kind in ("RoleBinding", "ClusterRoleBinding"):
                for subject in res.obj.get("subjects") or []:
                    if isinstance(subject, dict) and subject.get("name") == "default":
                        subject["namespace"] = namespace
        seen: list[ResId] = []
        for res in resources:
            cur = res.cur_id()
            if any(cur.equals(other) for other in seen):
                raise self.error(("namespace",), f"namespace transformation produces ID conflict: {cur}")
            seen.append(cur)

    def _prefix_suffix(self, resources: list[Resource]) -> None:
        for key, specs, is_prefix in (
            ("namePrefix", self.config.name_prefix, True),
            ("nameSuffix", self.config.name_suffix, False),
        ):
            value = self.k.get(key)
            if value is None or value == "":
                continue
            value = str(value)
            for res in resources:
                org = res.org_id()
                if any(org.gvk.selected_by(group, "", kind) for kind, group in _PREFIX_SKIP):
                    continue
                for spec in specs:
                    if not spec.selects(org.gvk):
                        continue
                    if spec.path == "metadata/name":
                        if is_prefix:
                            res.prefixes.append(value)
                        else:
                            res.suffixes.append(value)
                        res.store_previous_id()

                    def setter(container: Any, k: Any, v: str = value, p: bool = is_prefix) -> None:
                        current = container[k]
                        if isinstance(current, str):
                            container[k] = v + current if p else current + v

                    self._fieldspec(res, spec, setter)

    def _fieldspec(
        self, res: Resource, spec: FieldSpec, setter: fieldspecs.Setter, create: str | None = None
    ) -> None:
        try:
            fieldspecs.apply(res.obj, spec, setter, create)
        except FieldSpecError as exc:
            raise KustomizeError(
                res.source.file, res.source.line, f"{exc} of object {res.cur_id()}"
            ) from None

    def _set_entries(
        self, resources: list[Resource], entries: Mapping[str, str], specs: Iterable[FieldSpec]
    ) -> None:
        spec_list = list(specs)

        def setter(container: Any, key: Any) -> None:
            node = container[key]
            if node is None:
                node = {}
                container[key] = node
            if not isinstance(node, dict):
                raise FieldSpecError(f"expected a map at '{key}'")
            for k, v in entries.items():
                node[k] = v

        for res in resources:
            gvk = res.gvk
            for spec in spec_list:
                if spec.selects(gvk):
                    self._fieldspec(res, spec, setter, "map")

    def _labels(self, resources: list[Resource]) -> None:
        for index, entry in enumerate(self._list("labels")):
            where: PathKey = ("labels", index)
            if not isinstance(entry, dict):
                raise self.error(where, "expected a map")
            pairs = {str(k): _scalar(v) for k, v in (entry.get("pairs") or {}).items()}
            specs = [FieldSpec.parse(f) for f in entry.get("fields") or []]
            if entry.get("includeSelectors"):
                specs += self.config.common_labels
            else:
                if entry.get("includeTemplates"):
                    specs += self.config.template_labels
                specs.append(FieldSpec("metadata/labels", create=True))
            self._set_entries(resources, pairs, _dedupe(specs))
        common = self._map("commonLabels")
        if common:
            self._set_entries(resources, common, self.config.common_labels)

    def _annotations(self, resources: list[Resource]) -> None:
        common = self._map("commonAnnotations")
        if common:
            self._set_entries(resources, common, self.config.common_annotations)

    def _patches_json6902(self, resources: list[Resource]) -> None:
        for index, entry in enumerate(self._list("patchesJson6902")):
            where: PathKey = ("patchesJson6902", index)
            if not isinstance(entry, dict) or not isinstance(entry.get("target"), dict):
                raise self.error(where, "a patchesJson6902 entry needs a target")
            text, label = self._patch_text(entry, where)
            _, ops = self._parse_patch(text, label, where)
            if ops is None:
                value = yaml.safe_load(text)
                if not isinstance(value, list):
                    raise self.error(where, f"unable to parse JSON patch from [{label}]")
                ops = value
            target = {k: v for k, v in entry["target"].items()}
            self._apply_json(resources, target, ops, label, (*where, "target"))

    def _replicas(self, resources: list[Resource]) -> None:
        for index, entry in enumerate(self._list("replicas")):
            where: PathKey = ("replicas", index)
            if not isinstance(entry, dict) or not entry.get("name"):
                raise self.error(where, "a replicas entry needs name and count")
            name, count = str(entry["name"]), entry.get("count")
            if not isinstance(count, int) or isinstance(count, bool):
                raise self.error((*where, "count"), "count must be an integer")
            found = False
            for res in resources:
                if not any(i.name == name for i in res.all_ids()):
                    continue
                for spec in self.config.replicas:
                    if spec.selects(res.org_id().gvk):
                        found = True

                        def setter(container: Any, key: Any, c: int = count) -> None:
                            container[key] = c

                        spec_create = FieldSpec(spec.path, spec.kind, spec.group, spec.version, spec.create)
                        self._fieldspec(res, spec_create, setter, "scalar")
            if not found:
                raise self.error(
                    where, f"resource with name {name} does not match a config with the following GVK"
                )

    def _images(self, resources: list[Resource]) -> None:
        for key in ("images", "imageTags"):
            for index, entry in enumerate(self._list(key)):
                where: PathKey = (key, index)
                if not isinstance(entry, dict) or not entry.get("name"):
                    raise self.error(where, "an images entry needs a name")
                updater = _image_updater(entry)
                for res in resources:
                    if res.gvk.kind == "CustomResourceDefinition":
                        continue
                    for spec in self.config.images:
                        if spec.selects(res.gvk):
                            self._fieldspec(
                                res, FieldSpec(spec.path, spec.kind, spec.group, spec.version), updater
                            )


def _load(text: str, file: str) -> list[Manifest]:
    try:
        return load_text(text, file)
    except ManifestError as exc:
        raise KustomizeError(exc.file, exc.line, exc.message, exc.path) from None


def _apply_overrides(kustomization: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """What Argo CD's ``kustomize edit set/add`` calls do to the kustomization for ``spec.source.kustomize``."""
    merged = copy.deepcopy(kustomization)
    for key, value in overrides.items():
        if key in ("namePrefix", "nameSuffix", "namespace"):
            merged[key] = value
        elif key in ("commonLabels", "commonAnnotations"):
            merged[key] = {**(merged.get(key) or {}), **value}
        elif key in ("images", "replicas"):
            names = {v["name"] for v in value}
            kept = [e for e in merged.get(key) or [] if not (isinstance(e, dict) and e.get("name") in names)]
            merged[key] = kept + list(value)
        elif key == "patches":
            merged[key] = list(merged.get(key) or []) + list(value)
        else:
            raise ValueError(f"unknown kustomize override {key!r}")
    return merged


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dedupe(specs: Iterable[FieldSpec]) -> list[FieldSpec]:
    out: list[FieldSpec] = []
    for spec in specs:
        if spec not in out:
            out.append(spec)
    return out


def _resources_of(doc: Manifest) -> list[Resource]:
    obj = doc.obj
    if str(obj.get("kind") or "").endswith("List") and isinstance(obj.get("items"), list):
        out = []
        for index, item in enumerate(obj["items"]):
            if not isinstance(item, dict):
                raise KustomizeError(
                    doc.source.file, doc.source.line_of(("items", index)), "a List item must be a map"
                )
            lines = {key[2:]: line for key, line in doc.source.lines.items() if key[:2] == ("items", index)}
            out.extend(
                _resources_of(
                    Manifest(item, Source(doc.source.file, doc.source.line_of(("items", index)), lines))
                )
            )
        return out
    if obj.get("kind") == "Kustomization":
        raise KustomizeError(
            doc.source.file, doc.source.line, "a Kustomization is not a resource; list its directory"
        )
    for field in ("apiVersion", "kind"):
        if not obj.get(field):
            raise KustomizeError(doc.source.file, doc.source.line, f"missing {field} in object")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise KustomizeError(doc.source.file, doc.source.line, "missing metadata.name in object")
    return [Resource(copy.deepcopy(obj), doc.source)]


def _split_image(image: str) -> tuple[str, str, str]:
    """kustomize's ``image.Split``: (name, tag, digest)."""
    slash = image.find("/")
    search = image[slash:] if slash > 0 else image
    offset = slash if slash > 0 else 0
    at = search.find("@")
    colon = search.find(":")
    if colon < 0 and at < 0:
        return image, "", ""
    if at >= 0 and (at < colon or colon < 0):
        at += offset
        return image[:at], "", image[at + 1 :]
    if at >= 0 and colon >= 0:
        at += offset
        colon += offset
        return image[:colon], image[colon + 1 : at], image[at + 1 :]
    colon += offset
    return image[:colon], image[colon + 1 :], ""


def _image_updater(entry: Mapping[str, Any]) -> fieldspecs.Setter:
    name = str(entry["name"])
    try:
        pattern: re.Pattern[str] | None = re.compile(
            "^" + name + r"(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?$"
        )
    except re.error:
        pattern = None
    new_name = str(entry.get("newName") or "")
    new_tag = _scalar(entry["newTag"]) if entry.get("newTag") not in (None, "") else ""
    digest = str(entry.get("digest") or "")
    tag_suffix = str(entry.get("tagSuffix") or "")

    def setter(container: Any, key: Any) -> None:
        value = container[key]
        if not isinstance(value, str) or pattern is None or not pattern.match(value):
            return
        img, tag, dig = _split_image(value)
        if new_name:
            img = new_name
        if new_tag and digest:
            tag, dig = new_tag, digest
        elif new_tag:
            tag, dig = new_tag, ""
        elif digest:
            tag, dig = "", digest
        elif tag_suffix:
            tag, dig = tag + tag_suffix, ""
        if tag:
            img += ":" + tag
        if dig:
            img += "@" + dig
        container[key] = img

    return setter


# -------------------------------------------------------------------------------------------- top-level passes


def _add_hashes(resources: list[Resource]) -> None:
    for res in resources:
        if res.needs_hash:
            suffix = generators.content_hash(res.obj)
            res.store_previous_id()
            res.set_name(f"{res.name}-{suffix}")


def _same_ending(a: list[str], b: list[str]) -> bool:
    """kustomize's SameEndingSubSlice: the shorter list is a suffix of the longer."""
    if len(a) > len(b):
        a, b = b, a
    return not a or b[len(b) - len(a) :] == a


def _fix_name_references(resources: list[Resource], config: TransformerConfig) -> None:
    for backref in config.name_references:
        for spec in backref.referrers:
            for referrer in resources:
                if not spec.selects(referrer.org_id().gvk):
                    continue
                candidates = _referable(resources, referrer)
                setter = _nameref_setter(referrer, backref, candidates, spec)
                try:
                    fieldspecs.apply(
                        referrer.obj, FieldSpec(spec.path, spec.kind, spec.group, spec.version), setter
                    )
                except FieldSpecError as exc:
                    raise KustomizeError(referrer.source.file, referrer.source.line, str(exc)) from None


def _referable(resources: list[Resource], referrer: Resource) -> list[Resource]:
    ref_id = referrer.cur_id()
    if ref_id.gvk.cluster_scoped:
        return resources
    out = []
    for res in resources:
        cur = res.cur_id()
        same_namespace = cur.gvk.cluster_scoped or cur.effective_namespace == ref_id.effective_namespace
        # A RoleBinding may name ServiceAccounts of other namespaces in its subjects.
        bound = referrer.gvk.kind == "RoleBinding" and any(
            isinstance(s, dict) and s.get("kind") == "ServiceAccount" and s.get("namespace") == res.namespace
            for s in referrer.obj.get("subjects") or []
        )
        if same_namespace or bound:
            out.append(res)
    return out


def _nameref_setter(
    referrer: Resource, backref: fieldspecs.NameBackReference, candidates: list[Resource], spec: FieldSpec
) -> fieldspecs.Setter:
    def select(old: str, pool: list[Resource], by_namespace: bool) -> Resource | None:
        found = [r for r in pool if any(i.name == old for i in r.prev_ids)]
        found = [
            r
            for r in found
            if any(i.gvk.selected_by(backref.group, backref.version, backref.kind) for i in r.prev_ids)
        ]
        if spec.path.endswith("roleRef/name"):
            role_ref = referrer.obj.get("roleRef") or {}
            kind, group = str(role_ref.get("kind") or ""), str(role_ref.get("apiGroup") or "")
            if kind:
                found = [r for r in found if any(i.gvk.selected_by(group, "", kind) for i in r.prev_ids)]
        ref_cur = referrer.cur_id()
        if not ref_cur.gvk.cluster_scoped:
            found = [
                r
                for r in found
                if r.cur_id().gvk.cluster_scoped
                or r.gvk.kind == "ServiceAccount"
                or r.cur_id().effective_namespace == ref_cur.effective_namespace
            ]
        if len(found) == 1:
            return found[0]
        found = [
            r
            for r in found
            if (not r.prefixes or not referrer.prefixes or _same_ending(r.prefixes, referrer.prefixes))
            and (not r.suffixes or not referrer.suffixes or _same_ending(r.suffixes, referrer.suffixes))
        ]
        if len(found) > 1:
            found = [
                r
                for r in found
                if _same_ending(r.prefixes, referrer.prefixes) and _same_ending(r.suffixes, referrer.suffixes)
            ]
        if len(found) == 1:
            return found[0]
        if not found:
            return None
        same = all(
            r.name == found[0].name and (not by_namespace or r.namespace == found[0].namespace) for r in found
        )
        if same:
            return found[0]
        ids = ", ".join(str(r.cur_id()) for r in found)
        raise FieldSpecError(f"found multiple possible referrals: {ids}")

    def set_scalar(container: Any, key: Any) -> None:
        value = container[key]
        if not isinstance(value, str):
            return
        referral = select(value, candidates, False)
        if referral is not None and referral.name != value:
            container[key] = referral.name

    def set_mapping(node: dict[str, Any]) -> None:
        if "name" not in node:
            raise FieldSpecError("path config error; no 'name' field in node")
        pool = candidates
        if node.get("namespace"):
            ns = str(node["namespace"])
            by_org = [r for r in candidates if r.org_id().namespace == ns]
            pool = by_org or [r for r in candidates if r.namespace == ns]
        referral = select(str(node["name"]), pool, True)
        if referral is None:
            return
        if referral.name == node["name"] and not referral.namespace:
            return
        node["name"] = referral.name
        if referral.namespace:
            node["namespace"] = referral.namespace

    def setter(container: Any, key: Any) -> None:
        value = container[key]
        if value is None:
            return
        if isinstance(value, str):
            set_scalar(container, key)
        elif isinstance(value, dict):
            set_mapping(value)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    set_mapping(item)
                else:
                    set_scalar(value, index)

    return setter


def _legacy_sort_key(res: Resource) -> tuple[int, str, str]:
    gvk = res.gvk
    gvk_sort = "_".join((gvk.group or "~G", gvk.version or "~V", gvk.kind or "~K"))
    cur = res.cur_id()
    id_sort = "|".join((str(gvk), cur.namespace or "~X", cur.name or "~N"))
    return (_TYPE_ORDER.get(gvk.kind, 0), gvk_sort, id_sort)


def build(
    directory: str | Path,
    repo_root: str | Path | None = None,
    display_root: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> list[Manifest]:
    """``kustomize build directory``: the rendered objects in kustomize's output order.

    ``repo_root`` bounds where bases may live (default: the directory itself); file names in errors are shown
    relative to ``display_root`` (default: ``repo_root``)."""
    root_dir = Path(directory).resolve()
    repo = Path(repo_root).resolve() if repo_root is not None else root_dir
    display = Path(display_root).resolve() if display_root is not None else repo
    target = _Target(root_dir, _Ctx(repo, display, [root_dir]), overrides)
    resources = target.accumulate()
    _add_hashes(resources)
    _fix_name_references(resources, target.config)
    resources.sort(key=_legacy_sort_key)
    return [Manifest(res.obj, res.source) for res in resources]
