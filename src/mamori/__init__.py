"""mamori: a self-hosted, AWS-compatible security and operations cloud."""

__version__ = "0.1.0"
