"""Every command on every kind of artifact, and on ``-n 0``, ``-n -1`` and a garbage file: each either works
(exit 0, a non-empty output file that reads back) or refuses in one line naming the flag or the file — never a
traceback, an internal name, a NaN written as JSON or an empty output with exit 0.

The commands run in-process through the console-script entry point (``condgen.cli.main``), on tiny artifacts
trained once for this module."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from condgen.cli import common, main

# Water-soluble and greasy molecules: enough for a SMILES model and a logP plugin to be fitted in seconds.
MOLECULES = ["OCCO", "NCCN", "OCC(O)CO", "NC(=O)N", "OC(=O)CO", "NCCO",
             "CCCCCCCC", "Clc1ccc(Cl)cc1", "CCCCCCCCCC", "c1ccc(-c2ccccc2)cc1", "CCCCCCCCl", "Brc1ccccc1Br"]
#: What a user must never read: a traceback, names from inside the code, a NaN.
FORBIDDEN = ("Traceback", "TrainConfig", "moses_metrics", "AttributeClassifier", "arch=", "has no attribute",
             "sparse_coo", "NaN")
BACKBONES = ("image-vae", "gan", "smiles-vae", "charrnn")
PLUGINS = ("image-plugin", "molecule-plugin")
ARTIFACTS = (*BACKBONES, *PLUGINS, "classifier")


@dataclass
class Outcome:
    code: int
    output: str
    files: list[Path] = field(default_factory=list)


def condgen(*args, cwd: Path) -> Outcome:
    """Run ``condgen ARGS`` as the console script does, in ``cwd``; its exit code, its output (stdout and stderr
    together) and the files it wrote there."""
    stream = io.StringIO()
    before = set(cwd.rglob("*"))
    old_argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = ["condgen", *map(str, args)]
    # the module's rich consoles write to whatever sys.stdout / sys.stderr is when they print
    common.console.file, common.out.file = stream, stream
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
        common.console.file, common.out.file = None, None
    files = sorted(p for p in set(cwd.rglob("*")) - before if p.is_file())
    return Outcome(code, stream.getvalue(), files)


def strict_json(path: Path):
    def refuse(constant):
        raise AssertionError(f"{path.name} holds {constant}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def check_readable(path: Path) -> None:
    """``path`` is non-empty and reads back as what its suffix says."""
    assert path.stat().st_size > 0, f"{path.name} is empty"
    suffix = path.suffix.lower()
    if suffix == ".png":
        with Image.open(path) as image:
            assert image.width > 0 and image.height > 0
    elif suffix == ".json":
        strict_json(path)
    elif suffix == ".csv":
        rows = list(csv.reader(path.read_text().splitlines()))
        assert len(rows) >= 2 and all(len(row) == len(rows[0]) for row in rows), f"{path.name}: ragged or empty"
    elif suffix == ".smi":
        assert any(line.strip() for line in path.read_text().splitlines())


def check_outcome(outcome: Outcome, *, works: bool, names: str | None = None) -> None:
    """Exit 0 with readable files, or exit 1/2 with one ``error:`` line (mentioning ``names``) and no file."""
    text = outcome.output
    for word in FORBIDDEN:
        assert word not in text, f"{word!r} in the output:\n{text}"
    if works:
        assert outcome.code == 0, text
        assert outcome.files, f"exit 0 without an output file:\n{text}"
        for path in outcome.files:
            check_readable(path)
        return
    assert outcome.code in (1, 2), f"exit {outcome.code}, expected a refusal:\n{text}"
    message = text
    if outcome.code == 1:
        message = [line for line in text.splitlines() if line.strip()][-1]
        assert message.startswith("error: "), f"the error is not one line:\n{text}"
        assert sum(line.startswith("error:") for line in text.splitlines()) == 1, text
    if names is not None:
        assert names in message, f"the message does not name {names!r}:\n{text}"
    assert not outcome.files, f"refused but wrote {outcome.files}"


# ---------------------------------------------------------------------------------------------------- artifacts

def train_ok(*args, cwd: Path) -> None:
    outcome = condgen(*args, cwd=cwd)
    assert outcome.code == 0, outcome.output


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    """One tiny artifact of each kind, and input files: SMILES (valid, partly valid, all invalid, empty), an image
    of the faces' size and garbage bytes (as a file and as an artifact's config.json)."""
    root = tmp_path_factory.mktemp("every-command")
    files = {"molecules": root / "molecules.smi", "partly-valid": root / "partly.smi",
             "all-invalid": root / "invalid.smi", "empty": root / "empty.smi", "garbage": root / "garbage.bin",
             "face": root / "face.png", "broken": root / "broken-artifact"}
    files["molecules"].write_text("\n".join(MOLECULES) + "\n")
    files["partly-valid"].write_text("\n".join(MOLECULES[:3] + ["C1CC", "Xx"]) + "\n")
    files["all-invalid"].write_text("C1CC\nnot a molecule\nc1cc\n")
    files["empty"].write_text("")
    files["garbage"].write_bytes(bytes(range(256)) * 4)
    Image.new("RGB", (32, 32), (120, 90, 60)).save(files["face"])
    files["broken"].mkdir()
    (files["broken"] / "config.json").write_bytes(files["garbage"].read_bytes())

    paths = {name: root / name for name in ARTIFACTS}
    tiny_image = ("-n", "64", "--steps", "3", "--batch-size", "16", "--sample-every", "0",
                  "-o", "latent_dim=4", "-o", "base_channels=4", "-o", "hidden=16")
    train_ok("train", "vae", "--data", "faces", "--out", paths["image-vae"], *tiny_image, cwd=root)
    train_ok("train", "gan", "--data", "faces", "--out", paths["gan"], *tiny_image, cwd=root)
    # trained until its beam search decodes valid molecules, so that the molecule plugin can be calibrated
    train_ok("train", "smiles-vae", "--data", files["molecules"], "--out", paths["smiles-vae"], "--steps", "100",
             "--batch-size", "12", "--sample-every", "0", "-o", "latent_dim=2", "-o", "embedding_dim=8",
             "-o", "encoder_hidden=16", "-o", "decoder_hidden=32", "-o", "decoder_layers=1", "-o", "lr=0.01",
             "-o", "kl_end=0.01", cwd=root)
    train_ok("train", "charrnn", "--data", files["molecules"], "--out", paths["charrnn"], "--steps", "3",
             "--batch-size", "4", "--sample-every", "0", "-o", "hidden=16", "-o", "layers=1", cwd=root)
    train_ok("classifier", "train", "--data", "faces", "-n", "64", "--attrs", "yaw,smiling", "--steps", "3",
             "--out", paths["classifier"], cwd=root)
    train_ok("plugin", "fit", paths["image-vae"], "--attrs", "smiling,yaw", "--out", paths["image-plugin"],
             "--steps", "3", "--batch-size", "32", cwd=root)
    train_ok("plugin", "fit", paths["smiles-vae"], "--attrs", "logp", "--out", paths["molecule-plugin"],
             "--steps", "3", "--batch-size", "12", "--n-latents", "12", "--calibrate", "0", cwd=root)
    return {**paths, **files}


# ---------------------------------------------------------------------------------------------------- the matrix

#: What works on which artifact (anything else must refuse): the modality contract.
WORKS = {
    "sample": BACKBONES,
    "reconstruct": ("image-vae", "smiles-vae"),
    "generate": PLUGINS,
    "edit": PLUGINS,
    "evaluate": ("image-plugin",),
    "mol sample": ("smiles-vae", "charrnn", "molecule-plugin"),
    "plugin calibrate": PLUGINS,
    "plugin fit": ("image-vae", "gan", "smiles-vae"),
}
#: The counts of each command, for the ``-n 0`` and ``-n -1`` cases.
COUNT_FLAGS = {"sample": ("-n",), "reconstruct": ("-n",), "generate": ("-n",), "mol sample": ("-n",),
               "evaluate": ("--n-edit", "--n-generate"), "plugin calibrate": ("--per-point", "--points"),
               "plugin fit": ("--steps", "--batch-size", "--n-latents")}
#: The input files a command reads besides its artifact: each is given garbage in turn.
INPUT_FLAGS = {"reconstruct": "--data", "edit": "--input", "evaluate": "--oracle", "plugin calibrate": "--classifier",
               "plugin fit": "--data"}
MOLECULAR = ("smiles-vae", "charrnn", "molecule-plugin")


def command_args(command: str, artifact: str, paths: dict[str, Path], out: Path) -> list:
    """The arguments of a normal run of ``command`` on ``artifact`` (its own attribute names, a cheap size)."""
    directory = paths[artifact]
    molecular = artifact in MOLECULAR
    attribute = "logp=1.5" if molecular else "smiling=1"
    samples = ".smi" if molecular else ".png"
    comparison = ".csv" if molecular else ".png"
    return {
        "sample": ["sample", directory, "-n", "3", "--out", out / f"samples{samples}"],
        "reconstruct": ["reconstruct", directory, "-n", "3", "--out", out / f"reconstructions{comparison}"],
        "generate": ["generate", directory, "--set", attribute, "-n", "3", "--out", out / f"generated{samples}"],
        "edit": ["edit", directory, "--set", attribute, "--index", "1", "--out", out / f"edit{comparison}"],
        "evaluate": ["evaluate", directory, "--oracle", paths["classifier"], "--n-edit", "4", "--n-generate", "4",
                     "--json", out / "report.json"],
        "mol sample": ["mol", "sample", directory, "-n", "3", "--out", out / "molecules.smi",
                       "--report", out / "report.json"],
        "plugin calibrate": ["plugin", "calibrate", directory, "--per-point", "10", "--points", "2",
                             "--out", out / "calibrated"]
        + ([] if molecular else ["--classifier", paths["classifier"]]),
        "plugin fit": ["plugin", "fit", directory, "--attrs", "logp" if molecular else "smiling", "--steps", "2",
                       "--batch-size", "8", "--n-latents", "12", "--out", out / "plugin"]
        + (["--calibrate", "0"] if molecular else ["--classifier", paths["classifier"]]),
    }[command]


def with_option(args: list, flag: str, value) -> list:
    """``args`` with ``flag`` set to ``value`` (replaced where given, added otherwise)."""
    args = list(args)
    if flag == "--input":  # edits either examples of a file or of the plugin's data
        del args[args.index("--index"):args.index("--index") + 2]
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    return args


CASES = [(command, artifact) for command in WORKS for artifact in ARTIFACTS]
COUNT_CASES = [(command, artifact, flag) for command, flags in COUNT_FLAGS.items() for artifact in WORKS[command]
               for flag in flags]
INPUT_CASES = [(command, artifact) for command in INPUT_FLAGS for artifact in WORKS[command]]


@pytest.mark.parametrize(("command", "artifact"), CASES, ids=[f"{c}-{a}" for c, a in CASES])
def test_a_command_on_an_artifact_works_or_refuses_in_one_line(command, artifact, artifacts, tmp_path):
    outcome = condgen(*command_args(command, artifact, artifacts, tmp_path), cwd=tmp_path)
    check_outcome(outcome, works=artifact in WORKS[command])


@pytest.mark.parametrize(("command", "artifact", "flag"), COUNT_CASES, ids=["-".join(case) for case in COUNT_CASES])
@pytest.mark.parametrize("count", ["0", "-1"])
def test_a_count_below_one_is_refused_naming_its_flag(command, artifact, flag, count, artifacts, tmp_path):
    args = with_option(command_args(command, artifact, artifacts, tmp_path), flag, count)
    check_outcome(condgen(*args, cwd=tmp_path), works=False, names=flag)


@pytest.mark.parametrize(("command", "artifact"), INPUT_CASES, ids=[f"{c}-{a}" for c, a in INPUT_CASES])
def test_a_garbage_input_file_is_refused_naming_it(command, artifact, artifacts, tmp_path):
    args = with_option(command_args(command, artifact, artifacts, tmp_path), INPUT_FLAGS[command],
                       artifacts["garbage"])
    check_outcome(condgen(*args, cwd=tmp_path), works=False, names=artifacts["garbage"].name)


#: An input file of the user's that each command reads for each artifact.
OWN_INPUTS = [("reconstruct", "image-vae", "faces"), ("reconstruct", "smiles-vae", "molecules"),
              ("edit", "image-plugin", "face"), ("edit", "molecule-plugin", "molecules"),
              ("plugin fit", "smiles-vae", "molecules")]


@pytest.mark.parametrize(("command", "artifact", "name"), OWN_INPUTS, ids=["-".join(case) for case in OWN_INPUTS])
def test_an_input_file_of_the_right_kind_works(command, artifact, name, artifacts, tmp_path):
    args = with_option(command_args(command, artifact, artifacts, tmp_path), INPUT_FLAGS[command],
                       artifacts.get(name, name))
    check_outcome(condgen(*args, cwd=tmp_path), works=True)


@pytest.mark.parametrize(("command", "artifact", "name"), [("edit", "image-plugin", "molecules"),
                                                           ("edit", "molecule-plugin", "face")])
def test_an_input_file_of_another_modality_is_refused_naming_it(command, artifact, name, artifacts, tmp_path):
    args = with_option(command_args(command, artifact, artifacts, tmp_path), INPUT_FLAGS[command], artifacts[name])
    check_outcome(condgen(*args, cwd=tmp_path), works=False, names=artifacts[name].name)


#: An artifact of another kind where a command wants a classifier.
NOT_CLASSIFIERS = [("plugin calibrate", "image-plugin", "image-vae"), ("evaluate", "image-plugin", "gan"),
                   ("plugin fit", "gan", "image-plugin")]


@pytest.mark.parametrize(("command", "artifact", "other"), NOT_CLASSIFIERS,
                         ids=["-".join(case) for case in NOT_CLASSIFIERS])
def test_another_artifact_in_place_of_a_classifier_is_refused_naming_the_flag(command, artifact, other, artifacts,
                                                                              tmp_path):
    flag = {"evaluate": "--oracle"}.get(command, "--classifier")
    args = with_option(command_args(command, artifact, artifacts, tmp_path), flag, artifacts[other])
    check_outcome(condgen(*args, cwd=tmp_path), works=False, names=flag)


@pytest.mark.parametrize("command", list(WORKS))
@pytest.mark.parametrize("broken", ["garbage", "broken"])
def test_a_garbage_artifact_is_refused_naming_it(command, broken, artifacts, tmp_path):
    outcome = condgen(*command_args(command, broken, artifacts, tmp_path), cwd=tmp_path)
    check_outcome(outcome, works=False, names=artifacts[broken].name)


# ---------------------------------------------------------------------------------------------------- input files

#: The commands that read a file of the user's, and which files they take (anything else must refuse).
FILE_COMMANDS = {
    "mol metrics": ("molecules", "partly-valid"),
    "mol props": ("molecules", "partly-valid", "all-invalid"),
    "classifier train": (),
    "train": ("molecules", "partly-valid"),  # invalid lines are skipped, with a warning
}
FILES = ("molecules", "partly-valid", "all-invalid", "empty", "garbage", "face")
# (the metrics of the partly valid file have a test of their own below)
FILE_CASES = [(command, name) for command in FILE_COMMANDS for name in FILES
              if (command, name) != ("mol metrics", "partly-valid")]


def file_command_args(command: str, path: Path, paths: dict[str, Path], out: Path) -> list:
    references = ["--test", paths["molecules"], "--test-scaffolds", paths["molecules"], "--train", paths["molecules"]]
    return {
        "mol metrics": ["mol", "metrics", path, "--n-jobs", "1", "--json", out / "metrics.json", *references],
        "mol props": ["mol", "props", path, "--out", out / "properties.csv"],
        "classifier train": ["classifier", "train", "--data", path, "--steps", "2", "--out", out / "classifier"],
        "train": ["train", "charrnn", "--data", path, "--steps", "2", "--batch-size", "4", "--sample-every", "0",
                  "-o", "hidden=8", "-o", "layers=1", "--out", out / "model"],
    }[command]


@pytest.mark.parametrize(("command", "name"), FILE_CASES, ids=[f"{c}-{n}" for c, n in FILE_CASES])
def test_a_command_on_a_file_works_or_refuses_naming_it(command, name, artifacts, tmp_path):
    path = artifacts[name]
    outcome = condgen(*file_command_args(command, path, artifacts, tmp_path), cwd=tmp_path)
    works = name in FILE_COMMANDS[command]
    check_outcome(outcome, works=works, names=None if works else path.name)


def test_metrics_of_a_partly_valid_file_write_null_where_a_metric_is_undefined(artifacts, tmp_path):
    outcome = condgen(*file_command_args("mol metrics", artifacts["partly-valid"], artifacts, tmp_path), cwd=tmp_path)
    check_outcome(outcome, works=True)
    metrics = strict_json(tmp_path / "metrics.json")["metrics"]
    assert metrics["valid"] == pytest.approx(3 / 5)
    assert metrics["Scaf/Test"] is None  # none of the three valid molecules has a ring: no scaffold to compare


#: Training commands on a built-in set: each count in turn is 0 or -1.
TRAINING_COUNTS = [("train", "-n"), ("train", "--batch-size"), ("classifier train", "-n")]


@pytest.mark.parametrize(("command", "flag"), TRAINING_COUNTS, ids=["-".join(case) for case in TRAINING_COUNTS])
@pytest.mark.parametrize("count", ["0", "-1"])
def test_a_training_count_below_one_is_refused_naming_its_flag(command, flag, count, tmp_path):
    args = {"train": ["train", "vae", "--batch-size", "8", "--sample-every", "0", "-o", "base_channels=4"],
            "classifier train": ["classifier", "train"]}[command]
    args = with_option([*args, "--data", "faces", "-n", "64", "--steps", "1", "--out", tmp_path / "model"], flag, count)
    check_outcome(condgen(*args, cwd=tmp_path), works=False, names=flag)


@pytest.mark.parametrize("flag", ["--test", "--test-scaffolds", "--train"])
def test_a_reference_file_without_valid_smiles_is_refused_naming_it(flag, artifacts, tmp_path):
    args = with_option(file_command_args("mol metrics", artifacts["molecules"], artifacts, tmp_path), flag,
                       artifacts["all-invalid"])
    check_outcome(condgen(*args, cwd=tmp_path), works=False, names=artifacts["all-invalid"].name)
