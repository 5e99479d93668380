"""Torch-free runtime (being built: see docs/ARCHITECTURE.md)."""
