"""autorun: run an analyst-agent session on a data file."""

__version__ = "0.1.0"
