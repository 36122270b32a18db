"""The ``fedloom`` command line: run sites and services, upload tables, drive jobs."""
