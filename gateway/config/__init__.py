"""The instance's configuration: the typed Settings (settings.py), its key files (keys.py), the
running Instance built once from both (instance.py) and `helhet init`'s scaffolding (scaffold.py).
"""
