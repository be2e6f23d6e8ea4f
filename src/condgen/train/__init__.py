"""condgen.train — the one training engine every model uses.

>>> from condgen.train import TrainConfig, train
>>> result = train(model, dataset, TrainConfig(steps=1000, out="runs/vae"))  # doctest: +SKIP
"""

from condgen.train.device import select_device
from condgen.train.engine import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "select_device", "train"]
