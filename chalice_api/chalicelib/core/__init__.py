"""The bottom: settings (config), statuses, errors, ids, clock, domain and repo rules, boto3
clients. Imports nothing else from chalicelib."""
