"""Deployable services of a fedloom site: proxy, flow, executor, and the CLI."""
