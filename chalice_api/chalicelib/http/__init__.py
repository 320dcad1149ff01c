"""HTTP: the routes, authentication, origin check, errors as responses, request validation and
the OpenAPI document. The top layer: only app.py imports it."""
