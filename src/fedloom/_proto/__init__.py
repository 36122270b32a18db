"""Code generated from the .proto files in ``proto/`` by ``proto/generate.py``."""
