"""Ops tooling run from a workstation or CI: the CLI, the smoke check, the deployment definitions. Never shipped."""
