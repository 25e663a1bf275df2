"""Learning curves of the training engine's history (written with the engine)."""

__all__: list[str] = []
