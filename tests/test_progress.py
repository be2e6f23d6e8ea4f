"""Long work shows what it does: a status line per phase, timed, and named bars; nothing when told not to."""

import torch
from rich.progress import Progress
from torch import nn

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.plugin import BackboneAdapter, PluginConfig, fit_plugin
from condgen.progress import Phases, ProgressBar, in_batches, over_slices, status
from condgen.train import TrainConfig


def test_phases_announce_and_time_each_part(progress_console):
    phases = Phases()
    with phases("data", "loading the data"):
        pass
    with phases("flow"):  # announces itself
        status("fitting the flow")
    with phases("data"):
        pass
    text = progress_console.export_text()
    assert text.splitlines() == ["· loading the data", "· fitting the flow"]
    assert list(phases.seconds) == ["data", "flow"] and all(s >= 0 for s in phases.seconds.values())


def test_slices_cover_the_range_in_order_under_a_named_bar(progress_console):
    assert over_slices(10, 4, lambda rows: (rows.start, rows.stop), progress=True, description="encoding") == [
        (0, 4), (4, 8), (8, 10)]
    assert in_batches(10, 4, lambda size: size) == [4, 4, 2]
    shown = progress_console.export_text()
    assert "encoding ━" in shown and "10/10" in shown


def test_silent_when_disabled(progress_console):
    with Phases(enabled=False)("data", "loading the data"):
        over_slices(5, 2, lambda rows: rows, progress=False, description="encoding")
    assert progress_console.export_text() == ""


def tiny_problem():
    torch.manual_seed(0)
    decoder = nn.Linear(4, 6).requires_grad_(False)
    backbone = BackboneAdapter(decoder, 4, encoder=nn.Linear(6, 4).requires_grad_(False))
    values = (torch.randn(64, 1) > 0).float()
    schema = AttributeSchema((Attribute("flag", "binary"),)).with_statistics(values)
    return backbone, LabeledDataset(torch.randn(64, 6), values, schema, {"name": "tiny", "modality": "vectors"})


def test_fit_plugin_shows_its_phases_and_bars_by_default_and_is_silent_when_asked(progress_console):
    backbone, data = tiny_problem()
    config = PluginConfig(n_couplings=1, hidden=8, depth=2)
    fit_plugin(backbone, data, ["flag"], config, TrainConfig(steps=3, batch_size=16))
    shown = progress_console.export_text()
    assert "· encoding 64 examples with the backbone" in shown and "encoding ━" in shown and "64/64" in shown
    assert "· fitting the flow on 64 latents: 3 steps of batch 16" in shown and "train ━" in shown and "3/3" in shown

    fit_plugin(backbone, data, ["flag"], config, TrainConfig(steps=3, batch_size=16), progress=False)
    assert progress_console.export_text() == ""


def test_a_hidden_bar_does_no_work_per_step(progress_console, monkeypatch):
    calls = []
    monkeypatch.setattr(Progress, "update", lambda self, *args, **kwargs: calls.append(kwargs))
    hidden = ProgressBar(10, 0, enabled=False)
    hidden.update(1, {"model/loss": 0.5})
    hidden.close()
    assert calls == []  # not even the note is formatted
    shown = ProgressBar(10, 0, enabled=True)
    shown.update(1, {"model/loss": 0.5, "model/lr": 1e-3})
    shown.close()
    assert calls == [{"completed": 1, "note": "model/loss=0.5"}]
