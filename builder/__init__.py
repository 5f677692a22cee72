"""Render deploy targets to build/ and lint them: the logic behind build.py."""
