"""Build tooling the app runs at synth: Chalice packaging and the fast provider import."""
