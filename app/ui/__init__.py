"""The desktop app's widgets: first-run wizard, main window pages, tray icon, dialogs.

QtWidgets only; every vault operation goes through ``app.services`` (never the
engine or storage directly), and nothing here blocks the GUI thread.
"""
