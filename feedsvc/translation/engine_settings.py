"""The engine's settings, apart from the engine: the app's configuration reads their defaults without
importing the module that loads CTranslate2 and Argos."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineSettings:
    """Inference settings; the defaults suit a 2-core machine (see README, Performance)."""

    inter_threads: int = 2
    intra_threads: int = 1
    max_batch_size: int = 16
    beam_size: int = 4
    compute_type: str = "auto"
    max_decoding_ratio: float = 3.0
    max_decoding_floor: int = 32
