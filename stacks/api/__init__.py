"""The `api` workspace: the control plane behind CloudFront and WAF."""

from stacks.api.stack import ApiStack

__all__ = ["ApiStack"]
