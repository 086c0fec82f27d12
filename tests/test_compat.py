"""Deprecated names (docs/glossary.md, "Deprecated names"): old names work for one release, with a warning."""

import json

import pytest

from quakelab._compat import QuakelabDeprecationWarning
from quakelab.evaluate.benchmarks import SANJAC_10
from quakelab.models import ETAS, PoissonModel
from quakelab.models.etas import ETASError
from quakelab.stats import b_value

MAGS = [1.0, 1.0, 1.1, 1.3, 1.0, 1.2]


def test_old_keyword_works_and_warns_naming_both_names():
    with pytest.warns(
        QuakelabDeprecationWarning, match=r"b_value\(\): 'mc' is deprecated, use 'min_magnitude'"
    ):
        old = b_value(MAGS, mc=1.0)
    assert old == b_value(MAGS, min_magnitude=1.0)
    assert round(old.b, 4) == 3.0103  # log10(2) / 0.1, the known answer of tests/stats
    with pytest.warns(FutureWarning) as rec:
        model = ETAS(mc=2.0, delta_m=0.01, spatial=False)
    assert sorted(str(w.message).split(" (")[0] for w in rec) == [
        "ETAS(): 'delta_m' is deprecated, use 'magnitude_resolution'",
        "ETAS(): 'mc' is deprecated, use 'min_magnitude'",
    ]
    assert (model.min_magnitude, model.magnitude_resolution, model.m_ref) == (2.0, 0.01, 1.995)


def test_old_and_new_keyword_together_is_a_type_error():
    with pytest.raises(TypeError, match="got both 'mc' .* and 'min_magnitude'"):
        b_value(MAGS, mc=1.0, min_magnitude=1.0)
    with pytest.raises(TypeError, match=r"PoissonModel\(\) got both 'mc' \(deprecated\) and 'min_magnitude'"):
        PoissonModel(min_magnitude=2.0, mc=2.0, region=(0, 1, 0, 1))


def test_old_attribute_reads_and_writes_the_new_one():
    model = PoissonModel(2.5, (0, 1, 0, 1), magnitude_resolution=0.01)
    with pytest.warns(
        QuakelabDeprecationWarning, match="PoissonModel: 'mc' is deprecated, use 'min_magnitude'"
    ):
        assert model.mc == 2.5
    with pytest.warns(QuakelabDeprecationWarning, match="'delta_m' is deprecated"):
        model.delta_m = 0.1
    assert model.magnitude_resolution == 0.1
    fit = b_value(MAGS, 1.0)
    with pytest.warns(QuakelabDeprecationWarning):
        assert fit.mc == fit.min_magnitude == 1.0


def test_old_settings_key_still_reads():
    with pytest.warns(QuakelabDeprecationWarning, match="'bbox' is deprecated, use 'region'"):
        assert SANJAC_10["bbox"] == SANJAC_10["region"] == (-117.0, -116.0, 33.0, 34.0)
    assert "bbox" not in SANJAC_10 and SANJAC_10["min_magnitude"] == 1.0
    with pytest.raises(KeyError):
        SANJAC_10["no-such-key"]


def test_etas_file_of_version_2_with_old_keys_loads_and_saves_new_keys(tmp_path):
    params = {
        "log10_mu": -1.0,
        "log10_k0": -1.5,
        "a": 1.5,
        "log10_c": -2.5,
        "omega": -0.1,
        "log10_tau": 3.5,
        "log10_d": -0.85,
        "gamma": 1.3,
        "rho": 0.66,
    }
    new = (
        ETAS(min_magnitude=2.0, magnitude_resolution=0.01, spatial=False)
        .set_params(params, beta=2.3)
        .to_dict()
    )
    old = {k: v for k, v in new.items() if k not in ("min_magnitude", "magnitude_resolution")}
    old.update(mc=2.0, delta_m=0.01)  # what quakelab wrote before the rename (file version 2)
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"model": "ETAS", "version": 2, **old}))
    model = ETAS.load(path)
    assert (model.min_magnitude, model.magnitude_resolution, model.beta_) == (2.0, 0.01, 2.3)
    assert model.params_.to_dict() == pytest.approx(params)
    written = json.loads(model.save(tmp_path / "new.json").read_text())
    assert written["version"] == 3 and written["min_magnitude"] == 2.0 and "mc" not in written
    assert ETAS.load(tmp_path / "new.json").magnitude_resolution == 0.01
    path.write_text(
        json.dumps({"model": "ETAS", "version": 2, **{k: v for k, v in old.items() if k != "mc"}})
    )
    with pytest.raises(ETASError, match="old.json: field 'min_magnitude' missing"):
        ETAS.load(path)
