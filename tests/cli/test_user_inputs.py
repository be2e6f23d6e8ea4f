"""What a new user sees on the command line: help without types on flags, one long name for -n, the keys
-o takes, repeated --set, kinds said and overridden (--kind), reader options (--data-option), names
suggested, tables that are rounded and not cut, files with the usual permissions."""

import json
import logging
import os
import re

import pytest
from PIL import Image
from typer.testing import CliRunner

from condgen.cli import app
from condgen.cli.common import PIPE_WIDTH, _console, show_library_messages
from condgen.cli.report import print_report
from condgen.data.schema import FewLabelsWarning
from condgen.errors import ConfigError, UnknownAttributeError

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["reconstruct"], ["generate"], ["plugin", "fit"],
                                     ["classifier", "train"], ["mol", "sample"]])
def test_help_shows_no_type_after_flags_and_n_has_a_long_name(command):
    text = invoke(*command, "--help").output
    assert "--help" in text and "<bool>" not in text
    if command and command != ["plugin", "fit"]:
        assert re.search(r"--number\s+-n", text)


def test_models_lists_the_keys_that_o_takes():
    assert "`condgen models MODEL` lists the keys" in re.sub(r"[\s│]+", " ", invoke("train", "--help").output)
    listing = invoke("models").output
    assert "wgan-gp" in listing and "smiles-vae" in listing
    keys = invoke("models", "beta-vae").output
    assert re.search(r"latent_dim\s+│\s+64", keys) and re.search(r"beta\s+│\s+4.0", keys)  # the name's default
    assert "data_shape" not in keys  # the data decides it


def test_a_name_given_twice_is_an_error_naming_the_flag(tmp_path):
    result = runner.invoke(app, ["generate", "faces-plugin", "--set", "smiling=0", "--set", "smiling=1",
                                 "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
    assert str(result.exception) == "--set smiling=… is given twice (smiling=0 and smiling=1); give each name once"
    assert not (tmp_path / "g.png").exists()


def test_classifier_train_prints_a_rounded_table_with_a_header(tmp_path):
    output = invoke("classifier", "train", "--data", "digits", "--arch", "mlp", "--steps", "3", "--kind",
                    "label=continuous", "--out", tmp_path / "clf").output
    assert output.startswith("attribute label: continuous")  # the kind, said once, as given
    assert "held-out quality (180 examples)" in output
    assert re.search(r"attribute\s+┃\s+kind\s+┃\s+accuracy\s+┃\s+MAE\s+┃\s+R²", output)
    assert re.search(r"│ label\s+│ continuous │\s+- │\s+\d+\.\d{3} │\s+-?\d+\.\d{3} │", output)
    assert not re.search(r"\d\.\d{4}", output)  # rounded


def test_the_report_table_is_not_cut_when_written_to_a_file_or_pipe(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert _console(stderr=False).width == PIPE_WIDTH  # pytest's stdout is not a terminal
    # The CLI builds its console at import, in the environment it starts in; pytest-xdist's workers set COLUMNS.
    monkeypatch.setattr("condgen.cli.report.out", _console(stderr=False))
    scores = {"conditional": {"mean_accuracy": 0.91234, "fid": 12.345}, "edit": {"mean_success": 0.8,
              "preservation": 0.95, "fid": 20.5}}
    report = {"setup": {"data": {"name": "faces"}, "attributes": ["smiling", "eyeglasses", "male"],
                        "oracle": {"source": "shipped faces-oracle"}},
              "timing": {"plugin_fit_s": 181.8}, **scores, "baselines": {"directions": scores},
              "oracle_accuracy": {"smiling": 0.99}}
    print_report(report)
    header = next(line for line in capsys.readouterr().out.splitlines() if "method" in line)
    for column in ("cond. acc", "cond. FID", "edit success", "preservation", "edit FID", "fit s"):
        assert column in header  # whole, on one line (rich cut them at 80 columns)
    assert len(header) > 80


def write_celeba(root, rows=8):
    """A tiny CelebA folder: 12x16 portraits, four attributes, a partition (rows 0-5 train, 6 valid, 7 test)."""
    (root / "img_align_celeba").mkdir(parents=True)
    names = ["Eyeglasses", "Male", "Smiling", "Young"]
    lines = [str(rows), " ".join(names)]
    for i in range(rows):
        Image.new("RGB", (12, 16), (30 * i, 90, 200 - 20 * i)).save(root / "img_align_celeba" / f"{i:06d}.jpg")
        lines.append(f"{i:06d}.jpg " + " ".join("1" if (i >> bit) & 1 else "-1" for bit in range(4)))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{i:06d}.jpg {0 if i < 6 else i - 5}\n" for i in range(rows)))
    return root


def test_celeba_options_kinds_and_names_on_the_command_line(tmp_path):
    root = write_celeba(tmp_path / "celeba")
    result = runner.invoke(app, ["train", "cvae", "--data", str(root), "--attrs", "smiling", "--out",
                                 str(tmp_path / "x"), "--size", "8"])
    assert result.exit_code == 1 and isinstance(result.exception, UnknownAttributeError)
    assert str(result.exception).startswith("unknown attribute 'smiling'; did you mean 'Smiling'?")

    out = tmp_path / "vae"
    output = invoke("train", "vae", "--data", root, "--size", "8", "--steps", "1", "--sample-every", "0",
                    "--data-option", "split=train", "--data-option", "limit=5", "--kind", "Male=categorical",
                    "-o", "latent_dim=4", "--out", out).output
    assert "attribute Male: categorical, 2 classes (as given with --kind)" in output
    assert "attributes Eyeglasses, Smiling, Young" not in output  # three alike: one line each
    assert re.search(r"attribute Smiling: binary, 20% positive \(CelebA labels 1/-1", output)
    data = json.loads((out / "config.json").read_text())["data"]
    assert data["split"] == "train" and data["limit"] == 5 and data["kinds"] == {"Male": "categorical"}
    assert json.loads((out / "config.json").read_text())["attributes"][1]["categories"] == ["0", "1"]

    plugin = tmp_path / "plugin"
    # pytest records warnings (so they are not printed here); the one-line form is tested in test_cli.py.
    with pytest.warns(FewLabelsWarning, match=r"latent space of 4 dimensions: Smiling \(5\), Male \(5\)"):
        output = invoke("plugin", "fit", out, "--attrs", "Smiling,Male", "--kind", "Eyeglasses=categorical",
                        "--steps", "2", "--out", plugin).output
    assert "attribute Eyeglasses: categorical, 2 classes (as given with --kind)" in output
    assert "attribute Male: categorical, 2 classes (as given with --kind)" in output  # the backbone's, kept
    spec = json.loads((plugin / "fit.json").read_text())["spec"]
    assert spec["data_options"] == {"kinds": {"Eyeglasses": "categorical"}}

    bad = runner.invoke(app, ["train", "vae", "--data", str(root), "--data-option", "split=train",
                              "--data-option", "split=test", "--out", str(tmp_path / "y")])
    assert str(bad.exception) == ("--data-option split=… is given twice (split=train and split=test); "
                                  "give each name once")
    unknown = runner.invoke(app, ["train", "vae", "--data", str(root), "--data-option", "splt=train",
                                  "--out", str(tmp_path / "y")])
    assert str(unknown.exception) == ("unknown option(s) splt for a CelebA folder; did you mean 'split'? (valid "
                                      "options: split, crop, grayscale, limit, kinds; on the command line "
                                      "--data-option KEY=VALUE)")


def test_artifacts_get_the_permissions_of_the_umask(tmp_path):
    umask = os.umask(0o027)
    try:
        invoke("train", "vae", "--data", "toy2d", "-n", "64", "--steps", "2", "--batch-size", "16",
               "--sample-every", "1", "--checkpoint-every", "1", "--out", tmp_path / "vae")
    finally:
        os.umask(umask)
    files = [path for path in (tmp_path / "vae").rglob("*") if path.is_file()]
    assert {"config.json", "model.safetensors", "log.csv"} <= {path.name for path in files}
    assert {oct(path.stat().st_mode & 0o777) for path in files} == {oct(0o640)}


def test_library_messages_print_as_lines_and_warnings_say_so(capsys):
    show_library_messages()
    show_library_messages()  # once per process, however many commands run
    logging.getLogger("condgen.data").info("attribute x: binary")
    logging.getLogger("condgen.train.engine").warning("resume=True but runs/x holds no checkpoint")
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "attribute x: binary", "warning: resume=True but runs/x holds no checkpoint"]
