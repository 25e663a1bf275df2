"""Figures of the signals part (being written)."""

__all__: list[str] = []
