"""Training at real scale: cached tensors in, SemanticGen checkpoints out, on accelerate."""

from .cache import CacheDataset, write_shard
from .trainer import TrainConfig, train

__all__ = ["CacheDataset", "TrainConfig", "train", "write_shard"]
