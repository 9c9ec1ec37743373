"""Credit scoring engine on the Home Credit Default Risk schema."""

__version__ = "0.1.0"
