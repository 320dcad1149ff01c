"""Logic of the control API; ``app.py`` only wires routes and handlers to it."""
