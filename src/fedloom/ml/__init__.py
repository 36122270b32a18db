"""Federated algorithms: one package per algorithm, one module per role."""
