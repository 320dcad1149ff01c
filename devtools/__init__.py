"""Local tooling: Terraform from the provider mirror, and the embedded AWS (moto server).

Used by the Makefile targets and the tests; never shipped and never imported by `stacks/` or
`chalice_api/`.
"""
