"""Training at real scale: cached tensors in, SemanticGen checkpoints out, on accelerate."""

from .cache import CacheDataset, ShardStream, write_shard
from .trainer import TrainConfig, train

__all__ = ["CacheDataset", "ShardStream", "TrainConfig", "train", "write_shard"]
