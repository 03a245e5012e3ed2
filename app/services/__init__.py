"""The only door between the GUI and the engine (QtCore only, no widgets).

JobRunner runs engine calls on one worker thread per vault, VaultService speaks the
engine's API, Scheduler decides when backups are due, BackupService ties them to the
settings and history, and SingleInstance keeps one Keepsake per user session.
"""
