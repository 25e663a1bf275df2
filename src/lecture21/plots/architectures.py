"""Figures of the architectures part (being written)."""

__all__: list[str] = []
