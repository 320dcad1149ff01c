"""The project's security guarantees as code: Checkov checks, their config, IAM linting."""
