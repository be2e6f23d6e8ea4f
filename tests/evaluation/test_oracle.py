"""Which oracle judges: the shipped one where its recorded data matches and it covers the attributes, else one
trained now, and never the plugin's own labeller."""

from condgen.data import load_dataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.evaluation import classifiers, oracle
from condgen.evaluation.oracle import attribute_mismatch, choose_oracle, data_mismatch, shipped_oracle
from condgen.io import load

FACES = {"modality": "images", "n": 20000, "name": "faces", "seed": 0, "size": 32}


def test_a_built_in_set_matches_whatever_draws_were_taken_but_not_another_size_or_set():
    assert data_mismatch(FACES, {**FACES, "n": 96, "seed": 3}) is None
    assert data_mismatch(FACES, {**FACES, "size": 64}) == "trained on other data (size 32, not 64)"
    assert "name 'faces', not 'shapes'" in data_mismatch(FACES, {**FACES, "name": "shapes"})
    mine = {"name": "mine", "path": "data/mine", "n": 100, "modality": "images"}
    assert data_mismatch(mine, dict(mine)) is None
    assert data_mismatch(mine, {**mine, "n": 50}) == "trained on other data (n 100, not 50)"  # other rows


def test_the_oracle_must_read_every_attribute_as_the_plugin_does():
    faces = load(oracle.SHIPPED_ORACLES[0]).schema
    assert attribute_mismatch(faces, faces, ["smiling", "yaw"]) is None
    assert attribute_mismatch(faces, faces, ["smiling", "age"]) == "does not predict age"
    as_binary = AttributeSchema((Attribute("yaw", "binary"),))
    assert attribute_mismatch(faces, as_binary, ["yaw"]) == "reads yaw as another kind of attribute"


def test_the_shipped_oracle_judges_faces_unless_data_or_labeller_rule_it_out():
    schema = load_dataset("faces", n=8).schema
    found, reasons = shipped_oracle({**FACES, "n": 96}, schema, ["smiling", "eyeglasses"])
    assert found.source == "shipped faces-oracle" and reasons == []
    assert found.describe()["training"] == {"batch_size": 128, "seed": 1, "steps": 2500}
    assert shipped_oracle({**FACES, "size": 16}, schema, ["smiling"]) == (
        None, ["faces-oracle trained on other data (size 32, not 16)"])
    labeller = load("faces-oracle")  # a plugin whose latents the oracle itself labelled
    none, reasons = shipped_oracle(FACES, schema, ["smiling"], labeller=labeller)
    assert none is None and reasons == ["faces-oracle labelled this plugin's latents, so it cannot judge it"]
    assert shipped_oracle(FACES, schema, ["smiling"], labeller=load("faces-labeller"))[0] is not None


def test_without_a_fitting_shipped_oracle_one_is_trained_and_said_so(monkeypatch, progress_console):
    trained = load("faces-labeller")  # stands in for the 2,500-step training
    calls = []

    def train_oracle(train_set, steps, progress):
        calls.append((len(train_set), steps, progress))
        return trained

    monkeypatch.setattr(classifiers, "train_oracle", train_oracle)
    small = load_dataset("faces", n=40, size=16)
    chosen = choose_oracle(small.spec, small, small.schema, ["smiling"])
    assert chosen.model is trained and chosen.source == "trained in this run" and calls == [(40, 2500, True)]
    said = progress_console.export_text()
    assert ("· oracle: no shipped one fits (faces-oracle trained on other data (size 32, not 16)); training one "
            "now on 40 real examples: conv-wide, seed 1, 2,500 steps") in " ".join(said.split())


def test_a_given_oracle_is_used_as_it_is(progress_console):
    given = load("faces-labeller")
    chosen = choose_oracle(FACES, None, None, ["smiling"], oracle=given)  # no training data or schema needed
    assert chosen.model is given and chosen.source == "given"
    assert "· oracle: the given classifier (conv-small)" in progress_console.export_text()
