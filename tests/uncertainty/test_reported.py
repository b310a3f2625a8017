import math

import pytest

from undercount import ConfigError
from undercount.core.result import Interval
from undercount.uncertainty import compare_reported


def test_lancet_headline_arithmetic():
    c = compare_reported(64260, Interval(55298, 78525), 37877)
    assert c.undercount == pytest.approx(1 - 37877 / 64260)
    assert round(c.undercount * 100, 1) == 41.1
    assert c.undercount_interval.lower == pytest.approx(1 - 37877 / 55298)
    assert c.undercount_interval.upper == pytest.approx(1 - 37877 / 78525)
    assert c.ratio == pytest.approx(64260 / 37877)
    assert c.ratio_interval.to_list() == pytest.approx([55298 / 37877, 78525 / 37877])
    d = c.to_dict()
    assert set(d) >= {"reported", "undercount", "ratio"}
    assert d["undercount"]["estimate"] == pytest.approx(0.41057, abs=1e-5)


def test_unbounded_upper_and_overreporting():
    c = compare_reported(500, Interval(400, math.inf), 450)
    assert c.undercount_interval.upper == 1.0
    assert c.to_dict()["ratio"]["interval"][1] is None
    over = compare_reported(400, Interval(350, 480), 450)
    assert over.undercount < 0 and "exceeds" in over.note


@pytest.mark.parametrize("bad", [0, -5, float("nan")])
def test_bad_reported(bad):
    with pytest.raises(ConfigError):
        compare_reported(100, Interval(90, 120), bad)
