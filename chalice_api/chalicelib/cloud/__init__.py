"""Cloud adapters: ECS, CloudWatch Logs (agent stream, DNS Firewall query log), Secrets Manager
checks, the DNS Firewall domain list, Service Quotas preflight."""
