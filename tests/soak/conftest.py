"""The soak run is a script (``make soak`` or ``python tests/soak/soak.py``), not a test module:
pytest collects nothing here."""

collect_ignore_glob = ["*"]
