"""The human study of paper §6: a web app, its SQLite store, simulated participants and the export."""
