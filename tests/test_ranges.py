"""One range per setting and one number formatter, shared by the configuration, the trainer,
sessions and the bench."""

import math

import pytest

from bpviz.engine.config import Config
from bpviz.engine.errors import ConfigError, SessionError
from bpviz.engine.ranges import RANGES, readable, whole_number
from bpviz.engine.trainer import check_divergence_factor


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 1, 1.0, 1000, 1e12, 1e12 * (1 + 1e-15), 2e12,
                                   -1, math.inf, math.nan, True, "1000", None])
def test_the_trainer_and_the_configuration_accept_the_same_divergence_factors(value):
    cfg = Config.preset("gaussian-clouds")
    cfg.divergence_factor = value
    try:
        cfg.validate()
        config_accepts = True
    except ConfigError:
        config_accepts = False
    try:
        trainer_value = check_divergence_factor(value)
        trainer_accepts = True
    except ValueError as e:
        assert str(e).startswith("divergence factor must be 0 (off) or a number from 1 to 1e12")
        trainer_accepts = False
    assert trainer_accepts == config_accepts == RANGES["divergence_factor"].accepts(value)
    if trainer_accepts:
        assert trainer_value == float(value) and type(trainer_value) is float


@pytest.mark.parametrize("value, text", [(2.0981205629348856, "2.1"), (0.14912, "0.149"),
                                         (613933.4, "613,933"), (-1234.6, "-1,235"),
                                         (6.14e20, "6.14e+20"), (99.96, "100"), (0.0, "0"),
                                         (math.inf, "inf"), (math.nan, "nan")])
def test_readable_numbers(value, text):
    assert readable(value) == text


def test_the_bench_table_writes_numbers_as_the_trainer_does():
    from bpviz.bench import _fmt
    assert _fmt(613933.4) == readable(613933.4) == "613,933"
    assert _fmt(0.8512) == "0.851" and _fmt(None) == "n/a" and _fmt(12) == "12"


def test_whole_numbers_from_a_file():
    assert whole_number("epoch", 7) == 7 and whole_number("epoch", 0) == 0
    for bad in (-1, 1.5, True, "3", None):
        with pytest.raises(ValueError, match=r"^epoch must be a whole number ≥ 0, got "):
            whole_number("epoch", bad)
    with pytest.raises(SessionError, match="the saved epoch count must be a whole number"):
        whole_number("the saved epoch count", -2, SessionError)
