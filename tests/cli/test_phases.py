"""`plugin fit` and `evaluate` show every phase; evaluate judges with the shipped oracle where the data matches
and reports the fit time that was measured, saying what it covers."""

import json

import pytest
from typer.testing import CliRunner

from condgen.cli import app
from condgen.cli.report import plugin_fit_line
from condgen.data import load_dataset
from condgen.evaluation import classifiers
from condgen.evaluation.report import FitTime, fit_timing
from condgen.models import build_model
from condgen.tasks.evaluate import recorded_fit, refit_plugin
from condgen.train import TrainConfig, train

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory):
    """A VAE artifact trained for 2 steps on 96 built-in faces (the data faces-oracle judges)."""
    faces, out = load_dataset("faces", n=96), tmp_path_factory.mktemp("phases") / "vae"
    train(build_model("vae", faces, latent_dim=8, base_channels=8), faces,
          TrainConfig(steps=2, batch_size=16, progress=False, out=out))
    return out


@pytest.fixture()
def no_oracle_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained an oracle although faces-oracle judges faces")

    monkeypatch.setattr(classifiers, "train_oracle", refuse)


def shown_lines(console) -> list[str]:
    return [line.strip() for line in console.export_text().splitlines() if line.strip()]


def test_plugin_fit_then_evaluate_show_every_phase(tiny_vae, tmp_path, progress_console, no_oracle_training):
    plugin = tmp_path / "plugin"
    fitted = invoke("plugin", "fit", tiny_vae, "--attrs", "smiling,eyeglasses", "--out", plugin, "--steps", "3",
                    "--batch-size", "32")
    lines = shown_lines(progress_console)
    statuses = [line for line in lines if line.startswith("·")]
    assert statuses == [f"· loading the backbone {tiny_vae}", "· loading the data: faces, 96 examples",
                        "· encoding 96 examples with the backbone",
                        f"· fitting the flow on 96 latents: 3 steps of batch 32, saved to {plugin}"]
    assert any(line.startswith("encoding ━") and "96/96" in line for line in lines)
    assert any(line.startswith("train ━") and "3/3" in line for line in lines)
    record = json.loads((plugin / "fit.json").read_text())
    assert list(record["phases"]) == ["backbone", "data", "flow", "latents"]  # JSON keeps keys sorted
    assert sum(record["phases"].values()) <= record["seconds"]
    assert f"in {record['seconds']:.1f} s (backbone" in " ".join(fitted.output.split())

    report_path = tmp_path / "r.json"
    evaluated = invoke("evaluate", plugin, "--n-edit", "6", "--n-generate", "4", "--json", report_path)
    statuses = [line for line in shown_lines(progress_console) if line.startswith("·")]
    assert statuses == [f"· loading the plugin {plugin}", "· loading the data: faces and a held-out set",
                        "· oracle: shipped faces-oracle (conv-wide, seed 1, trained on real faces at 32 px)",
                        "· judging plugin: 4 samples per attribute value, 6 held-out edits per attribute"]
    report = json.loads(report_path.read_text())
    assert report["setup"]["oracle"]["source"] == "shipped faces-oracle"
    timing = report["timing"]
    assert timing["plugin_fit_s"] == record["seconds"] and timing["plugin_fit_phases"] == record["phases"]
    assert timing["plugin_fit_measured"] == "by `condgen plugin fit`, recorded in fit.json"
    said = " ".join(evaluated.output.split())
    assert f"plugin fit s: {record['seconds']:.1f} s, by `condgen plugin fit`, recorded in fit.json (backbone" in said
    assert "oracle (shipped faces-oracle) held-out accuracy" in said

    spec, fit = recorded_fit(plugin)  # what --baselines refits, to time the plugin in the same run
    again = refit_plugin(spec, progress=False)
    assert fit.seconds == record["seconds"] and again.measured == "in this run, fitting it again as its fit.json says"
    assert list(again.phases) == ["backbone", "data", "latents", "flow"] and again.seconds >= sum(again.phases.values())


def test_a_refit_reports_its_own_time_next_to_the_recorded_one(progress_console):
    recorded = FitTime(181.8, "by `condgen plugin fit`, recorded in fit.json", {"data": 150.0, "flow": 31.8})
    timing = fit_timing(recorded, refit=lambda: FitTime(11.6, "in this run, fitting it again",
                                                        {"data": 0.4, "flow": 11.2}), progress=True)
    assert timing == {"plugin_fit_recorded_s": 181.8, "plugin_fit_s": 11.6,
                      "plugin_fit_measured": "in this run, fitting it again",
                      "plugin_fit_phases": {"data": 0.4, "flow": 11.2}}
    assert plugin_fit_line(timing) == ("plugin fit s: 11.6 s, in this run, fitting it again (data 0.4 s, flow "
                                       "11.2 s); the fit recorded in fit.json took 181.8 s")
    assert "· timing the plugin: fitting it again, in this run like the alternatives (its recorded fit took " \
           "181.8 s)" in " ".join(progress_console.export_text().split())
    assert fit_timing(181.8) == {"plugin_fit_s": 181.8, "plugin_fit_measured": "measured by the caller",
                                 "plugin_fit_phases": {}}


def test_plugin_calibrate_shows_every_phase(tiny_vae, tmp_path, progress_console):
    plugin = tmp_path / "plugin"
    invoke("plugin", "fit", tiny_vae, "--attrs", "yaw", "--out", plugin, "--steps", "2", "--batch-size", "32")
    progress_console.export_text(clear=True)
    invoke("plugin", "calibrate", plugin, "--classifier", "faces-labeller", "--per-point", "10", "--points", "2")
    lines = shown_lines(progress_console)
    assert [line for line in lines if line.startswith("·")] == [
        f"· loading the plugin {plugin} and the classifier faces-labeller",
        "· calibrating: 2 grid points per continuous attribute, 10 decodings each",
        f"· saving the calibrated plugin to {plugin}"]
    assert any(line.startswith("calibrating ━") and "2/2" in line for line in lines)
