"""Runs: the lifecycle of a run - create, stop, task-state events, the reaper, results, egress
claims, admin actions - over persistence and the cloud adapters."""
