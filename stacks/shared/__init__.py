"""Building blocks every workspace uses: settings, names, ARNs, IAM, the stack base."""
