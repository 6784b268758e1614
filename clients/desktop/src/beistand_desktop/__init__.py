"""beistand desktop client: raise and receive the silent alarm on a PC."""

__version__ = "0.1.0"
