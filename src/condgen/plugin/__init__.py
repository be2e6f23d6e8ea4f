"""The plugin: a small invertible flow over a frozen backbone's latents that makes attributes
controllable, and the latent-direction (InterFaceGAN-style) baseline.

    from condgen.plugin import fit_plugin, PluginConfig
    plugin = fit_plugin(backbone, dataset, ["smiling", "age"])
    images = plugin.sample(16, {"smiling": 1, "age": 40})
"""

from condgen.models.backbone import BackboneAdapter, LatentBackbone
from condgen.plugin.calibration import TargetCalibration, calibrate
from condgen.plugin.directions import LatentDirections, fit_directions
from condgen.plugin.fit import collect_latents, fit_plugin
from condgen.plugin.inversion import invert
from condgen.plugin.plugin import Plugin, PluginConfig
from condgen.plugin.schedule import ConstantSchedule, ExponentialSchedule

__all__ = [
    "BackboneAdapter",
    "ConstantSchedule",
    "ExponentialSchedule",
    "LatentBackbone",
    "LatentDirections",
    "Plugin",
    "PluginConfig",
    "TargetCalibration",
    "calibrate",
    "collect_latents",
    "fit_directions",
    "fit_plugin",
    "invert",
]
