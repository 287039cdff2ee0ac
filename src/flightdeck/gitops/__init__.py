"""GitOps the way Argo CD does it: ApplicationSet generators, Application rendering (plain directories and
kustomize), git polling through the real ``git`` CLI, sync status and health, and the pure Application and
ApplicationSet reconcilers."""
