"""The Qt (PySide6) parts: tray icon, receive window, settings. Needs the ``gui`` extra."""
