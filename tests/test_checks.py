import pytest

from ganaug import checks


def test_check_int_names_the_argument_and_the_fix():
    assert checks.check_int("--seeds", 3, minimum=0) == 3
    with pytest.raises(TypeError, match=r"--seeds: expected an integer, got 'a'\. Pass a whole number for --seeds\."):
        checks.check_int("--seeds", "a")
    with pytest.raises(ValueError, match=r"--n-max: expected an integer >= 1, got 0\. Pass --n-max >= 1\."):
        checks.check_int("--n-max", 0, minimum=1)


def test_check_float_and_choice():
    assert checks.check_float("--keep", 0.5, 0.0, 1.0, low_open=True) == 0.5
    with pytest.raises(ValueError, match=r"--keep: expected a number in \(0\.0, 1\.0\], got 0\.0"):
        checks.check_float("--keep", 0.0, 0.0, 1.0, low_open=True)
    assert checks.check_choice("--arch", "mlp", ("mlp", "dcgan")) == "mlp"
    with pytest.raises(ValueError, match=r"--arch: expected one of 'mlp', 'dcgan', got 'gan'"):
        checks.check_choice("--arch", "gan", ("mlp", "dcgan"))


def test_fail_raises_the_given_type():
    with pytest.raises(KeyError, match="x: expected y, got 1. Do z."):
        checks.fail("x", "y", 1, "Do z.", KeyError)
