"""ApplicationSet (argoproj.io/v1alpha1): parsing with file:line errors, ``__PLACEHOLDER__`` detection and the
``repo_url`` fill-in, and the git directory and list generators (Argo CD's parameter rules)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from flightdeck.gitops import gopath
from flightdeck.gitops.fasttemplate import TemplateError, replace
from flightdeck.gitops.schema import check
from flightdeck.kube import selectors
from flightdeck.kube.manifest import Manifest, ManifestError, PathKey, Source, format_path, load_file

KIND = "ApplicationSet"
REPO_URL_PLACEHOLDER = "__REPO_URL__"
_PLACEHOLDER = re.compile(r"__[A-Z][A-Z0-9_]*__")

# Generators Argo CD has and flightdeck does not run: named in the "not supported" error.
_UNSUPPORTED_GENERATORS = (
    "clusters",
    "scmProvider",
    "clusterDecisionResource",
    "pullRequest",
    "matrix",
    "merge",
    "plugin",
)

# Argo CD requeues git generators every 3 minutes unless requeueAfterSeconds says otherwise.
DEFAULT_GIT_REQUEUE_SECONDS = 180.0


class NotSupportedError(ManifestError):
    """A valid Argo CD construct flightdeck does not implement (the message starts with "not supported:")."""


@dataclasses.dataclass(frozen=True, slots=True)
class PathItem:
    path: str
    exclude: bool


@dataclasses.dataclass(frozen=True, slots=True)
class GitGenerator:
    repo_url: str
    revision: str
    directories: tuple[PathItem, ...]
    path_param_prefix: str
    values: Mapping[str, str]
    template: Mapping[str, Any] | None
    selector: Mapping[str, Any] | None
    requeue_after_seconds: float
    where: str

    @property
    def kind(self) -> str:
        return "git"


@dataclasses.dataclass(frozen=True, slots=True)
class ListGenerator:
    elements: tuple[Mapping[str, Any], ...]
    template: Mapping[str, Any] | None
    selector: Mapping[str, Any] | None
    where: str

    @property
    def kind(self) -> str:
        return "list"


Generator = GitGenerator | ListGenerator


@dataclasses.dataclass(frozen=True, slots=True)
class ApplicationSetSpec:
    name: str
    namespace: str
    generators: tuple[Generator, ...]
    template: Mapping[str, Any]
    sync_policy: str
    """applicationsSync: sync (default), create-only, create-update or create-delete."""
    preserve_resources_on_deletion: bool
    preserved_annotations: tuple[str, ...]
    preserved_labels: tuple[str, ...]
    manifest: Manifest


def placeholders(manifest: Manifest) -> list[tuple[PathKey, str]]:
    """Every ``__NAME__`` placeholder left in string fields, with its field path."""
    found: list[tuple[PathKey, str]] = []

    def walk(value: Any, path: PathKey) -> None:
        if isinstance(value, str):
            found.extend((path, m.group(0)) for m in _PLACEHOLDER.finditer(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(manifest.obj, ())
    return found


def fill_repo_url(obj: Any, repo_url: str) -> Any:
    """A copy of ``obj`` with ``__REPO_URL__`` replaced by ``repo_url`` in every string."""
    if isinstance(obj, str):
        return obj.replace(REPO_URL_PLACEHOLDER, repo_url)
    if isinstance(obj, dict):
        return {k: fill_repo_url(v, repo_url) for k, v in obj.items()}
    if isinstance(obj, list):
        return [fill_repo_url(v, repo_url) for v in obj]
    return obj


def placeholder_error(manifest: Manifest) -> ManifestError | None:
    """A clear error for the first unfilled placeholder (they are never valid repository URLs or names)."""
    found = placeholders(manifest)
    if not found:
        return None
    path, name = found[0]
    hint = (
        "pass the repository with --repo-url (flightdeck up --repo-url URL)"
        if name == REPO_URL_PLACEHOLDER
        else "replace it with a real value"
    )
    more = f" ({len(found)} placeholders in all)" if len(found) > 1 else ""
    return manifest.error(path, f'placeholder "{name}" is not filled in: {hint}{more}')


def _require_mapping(manifest: Manifest, path: PathKey, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise manifest.error(path, "expected object")
    return value


def parse(manifest: Manifest) -> ApplicationSetSpec:
    """Validate an ApplicationSet and read what flightdeck runs; raises ManifestError (file:line)."""
    if manifest.kind != KIND:
        raise manifest.error(("kind",), f'expected kind "{KIND}", got "{manifest.kind}"')
    problems = check(manifest.obj)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        message = first.message if not first.show_path else f"{format_path(first.path)}: {first.message}"
        raise ManifestError(manifest.source.file, manifest.source.line_of(first.path), message + more)
    error = placeholder_error(manifest)
    if error is not None:
        raise error
    spec = manifest.obj["spec"]
    if spec.get("goTemplate"):
        raise NotSupportedError(
            manifest.source.file,
            manifest.source.line_of(("spec", "goTemplate")),
            "not supported: goTemplate: true (Go text/template rendering); use the default {{param}} templates",
        )
    if spec.get("templatePatch"):
        raise NotSupportedError(
            manifest.source.file,
            manifest.source.line_of(("spec", "templatePatch")),
            "not supported: templatePatch",
        )
    if spec.get("strategy"):
        raise NotSupportedError(
            manifest.source.file,
            manifest.source.line_of(("spec", "strategy")),
            "not supported: strategy (progressive syncs)",
        )
    generators = tuple(_parse_generator(manifest, index, gen) for index, gen in enumerate(spec["generators"]))
    template = spec.get("template")
    if not isinstance(template, dict):
        raise manifest.error(("spec", "template"), "Required value")
    sync = spec.get("syncPolicy") or {}
    preserved = spec.get("preservedFields") or {}
    metadata = manifest.obj.get("metadata") or {}
    return ApplicationSetSpec(
        name=str(metadata.get("name") or ""),
        namespace=str(metadata.get("namespace") or ""),
        generators=generators,
        template=template,
        sync_policy=str(sync.get("applicationsSync") or "sync"),
        preserve_resources_on_deletion=bool(sync.get("preserveResourcesOnDeletion")),
        preserved_annotations=tuple(preserved.get("annotations") or ()),
        preserved_labels=tuple(preserved.get("labels") or ()),
        manifest=manifest,
    )


def _parse_generator(manifest: Manifest, index: int, gen: Mapping[str, Any]) -> Generator:
    path: PathKey = ("spec", "generators", index)
    kinds = [key for key in gen if key != "selector" and gen[key] is not None]
    for kind in kinds:
        if kind in _UNSUPPORTED_GENERATORS:
            raise NotSupportedError(
                manifest.source.file,
                manifest.source.line_of((*path, kind)),
                f"not supported: the {kind} generator (flightdeck runs the git directory and list generators)",
            )
    if len(kinds) != 1:
        # Argo CD would run each one set in the same entry; a typo is likelier, so say so.
        raise manifest.error(path, "a generator entry needs exactly one of: git, list")
    kind = kinds[0]
    body = gen[kind]
    selector = gen.get("selector")
    where = manifest.where((*path, kind))
    if kind == "list":
        elements = body.get("elements") or []
        for i, element in enumerate(elements):
            if not isinstance(element, dict):
                raise manifest.error((*path, "list", "elements", i), "a list element must be an object")
        if body.get("elementsYaml"):
            raise NotSupportedError(
                manifest.source.file,
                manifest.source.line_of((*path, "list", "elementsYaml")),
                "not supported: list.elementsYaml (it needs goTemplate)",
            )
        return ListGenerator(tuple(elements), body.get("template"), selector, where)
    if body.get("files"):
        raise NotSupportedError(
            manifest.source.file,
            manifest.source.line_of((*path, "git", "files")),
            "not supported: the git files generator (use directories)",
        )
    directories = tuple(
        PathItem(str(d["path"]), bool(d.get("exclude"))) for d in body.get("directories") or ()
    )
    if not directories:
        raise manifest.error((*path, "git"), "the git generator needs directories (files is not supported)")
    requeue = body.get("requeueAfterSeconds")
    return GitGenerator(
        repo_url=str(body["repoURL"]),
        revision=str(body["revision"]),
        directories=directories,
        path_param_prefix=str(body.get("pathParamPrefix") or ""),
        values=dict(body.get("values") or {}),
        template=body.get("template"),
        selector=selector,
        requeue_after_seconds=float(requeue) if requeue is not None else DEFAULT_GIT_REQUEUE_SECONDS,
        where=where,
    )


def parse_object(obj: Mapping[str, Any]) -> ApplicationSetSpec:
    """Parse an ApplicationSet read from the object store (errors name the object instead of a file)."""
    metadata = obj.get("metadata") or {}
    name = f"ApplicationSet {metadata.get('namespace') or ''}/{metadata.get('name') or ''}".replace(" /", " ")
    return parse(Manifest(dict(obj), Source(name, 0)))


def load(path: str | Path, repo_url: str | None = None) -> list[Manifest]:
    """The ApplicationSets of a file, with ``__REPO_URL__`` filled in when ``repo_url`` is given; each is
    validated (ManifestError with file:line on the first problem)."""
    manifests = []
    for manifest in load_file(path):
        if manifest.kind != KIND:
            continue
        if repo_url is not None:
            manifest = Manifest(fill_repo_url(manifest.obj, repo_url), manifest.source)
        parse(manifest)
        manifests.append(manifest)
    if not manifests:
        raise ManifestError(str(path), 0, f"no {KIND} in this file")
    return manifests


# ---------------------------------------------------------------------------------------------------- generators


class GeneratorError(Exception):
    """A generator could not produce parameters (Argo CD: ApplicationGenerationFromParamsError)."""


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratedParams:
    """What one generator produced: a parameter map per Application and the template it renders."""

    generator: Generator
    params: tuple[Mapping[str, Any], ...]
    template: Mapping[str, Any]


def sanitize_name(name: str) -> str:
    """Argo CD's ``utils.SanitizeName`` (``path.basenameNormalized``): a DNS-1123-ish name."""
    name = re.sub(r"[^-a-z0-9.]", "-", name.lower())
    return name[:253].strip("-.")


def directory_params(path: str, prefix: str = "") -> dict[str, str]:
    """The parameters of one directory found by the git directory generator (non-goTemplate)."""
    key = f"{prefix}.path" if prefix else "path"
    params = {
        key: path,
        f"{key}.basename": gopath.base(path),
        f"{key}.basenameNormalized": sanitize_name(gopath.base(path)),
    }
    for index, segment in enumerate(path.split("/")):
        if segment:
            params[f"{key}[{index}]"] = segment
    return params


def filter_directories(items: Sequence[PathItem], all_paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Argo CD's ``filterApps``: a directory is kept when an include pattern matches and no exclude does.
    Returns (kept, warnings); a malformed pattern is skipped with a warning, as Argo CD logs and skips it."""
    kept: list[str] = []
    warnings: list[str] = []
    bad: set[str] = set()
    for app_path in all_paths:
        include = exclude = False
        for item in items:
            try:
                matched = gopath.match(item.path, app_path)
            except gopath.BadPattern as exc:
                if item.path not in bad:
                    bad.add(item.path)
                    warnings.append(f"error while matching appPath to requestedPath {item.path!r}: {exc}")
                continue
            if matched:
                if item.exclude:
                    exclude = True
                else:
                    include = True
        if include and not exclude:
            kept.append(app_path)
    return kept, warnings


def list_directories(root: Path) -> list[str]:
    """Every directory under a checkout, relative, in Go's ``filepath.WalkDir`` order, hidden ones skipped."""
    out: list[str] = []

    def walk(directory: Path, rel: str) -> None:
        try:
            entries = sorted(directory.iterdir(), key=lambda p: p.name)
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir() or entry.is_symlink() or entry.name.startswith("."):
                continue
            child = f"{rel}/{entry.name}" if rel else entry.name
            out.append(child)
            walk(entry, child)

    walk(root, "")
    return out


def _merge_template(generator_template: Any, base: Any) -> Any:
    """mergo.Merge(generatorTemplate, base): the generator's non-empty fields win, the rest comes from base."""
    if isinstance(generator_template, dict) and isinstance(base, dict):
        merged = dict(base)
        for key, value in generator_template.items():
            merged[key] = _merge_template(value, base.get(key)) if key in base else value
        return merged
    if generator_template in (None, "", 0, False, [], {}):
        return base
    return generator_template


def _values(values: Mapping[str, str], params: dict[str, Any]) -> None:
    rendered = {f"values.{key}": replace(value, params) for key, value in values.items()}
    params.update(rendered)


def _selector_matches(selector: Mapping[str, Any] | None, params: Mapping[str, Any]) -> bool:
    """A generator's ``selector`` over its (string) parameters."""
    if not selector:
        return True
    flat = {k: v for k, v in params.items() if isinstance(v, str)}
    try:
        return selectors.from_label_selector(selector).matches(flat)
    except selectors.SelectorError as exc:
        raise GeneratorError(f"error parsing label selector: {exc}") from None


DirectoryLister = Callable[[str, str], Sequence[str]]
"""(repoURL, revision) -> the repository's directories at that revision; raises on git failures."""


def generate(
    spec: ApplicationSetSpec, directories: DirectoryLister
) -> tuple[list[GeneratedParams], list[str]]:
    """Run every generator: the parameter sets and the merged template of each, plus warnings.
    Raises GeneratorError with Argo CD's wording on the first failing generator."""
    out: list[GeneratedParams] = []
    warnings: list[str] = []
    for gen in spec.generators:
        template = _merge_template(gen.template, spec.template) if gen.template else spec.template
        params_list: list[dict[str, Any]] = []
        if isinstance(gen, ListGenerator):
            for element in gen.elements:
                params: dict[str, Any] = {}
                for key, value in element.items():
                    if key == "values":
                        if not isinstance(value, dict):
                            raise GeneratorError("error parsing values map")
                        for vkey, vvalue in value.items():
                            if not isinstance(vvalue, str):
                                raise GeneratorError("error parsing value as string")
                            params[f"values.{vkey}"] = vvalue
                    else:
                        if not isinstance(value, str):
                            raise GeneratorError(
                                f"error parsing value as string: element key {key!r} is {type(value).__name__}"
                                " (quote it in the YAML)"
                            )
                        params[key] = value
                params_list.append(params)
        else:
            try:
                all_paths = directories(gen.repo_url, gen.revision)
            except Exception as exc:  # git failures arrive as their own exception types
                raise GeneratorError(
                    f"error generating params from git: error getting directories from repo: {exc}"
                ) from None
            kept, warns = filter_directories(gen.directories, all_paths)
            warnings.extend(warns)
            for app_path in kept:
                params = dict(directory_params(app_path, gen.path_param_prefix))
                try:
                    _values(gen.values, params)
                except TemplateError as exc:
                    raise GeneratorError(
                        f"error generating params from git: error generating params from apps: "
                        f"failed to append templated values: {exc}"
                    ) from None
                params_list.append(params)
        selected = tuple(p for p in params_list if _selector_matches(gen.selector, p))
        out.append(GeneratedParams(gen, selected, template))
    return out, warnings


def iter_repo_urls(spec: ApplicationSetSpec) -> Iterator[tuple[str, str]]:
    """(repoURL, revision) of every git generator."""
    for gen in spec.generators:
        if isinstance(gen, GitGenerator):
            yield gen.repo_url, gen.revision
