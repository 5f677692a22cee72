"""Security gates over rendered templates: the IAM audit and parliament."""
