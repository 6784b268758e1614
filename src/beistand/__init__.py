"""beistand: protection of public-sector staff who work with clients."""

__version__ = "0.1.0"
