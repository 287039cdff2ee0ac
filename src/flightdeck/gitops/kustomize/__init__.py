"""Kustomize (``kubectl kustomize`` / ``kustomize build``) in-process: resources, generators, patches and the
built-in transformers, with the name-reference fix-ups and content-hash suffixes kustomize computes."""

from flightdeck.gitops.kustomize.build import KUSTOMIZATION_FILES, KustomizeError, build, find_kustomization

__all__ = ["KUSTOMIZATION_FILES", "KustomizeError", "build", "find_kustomization"]
