from __future__ import annotations

from itertools import pairwise

import pytest

from trading_bot.optimize.walkforward import make_folds


@pytest.mark.parametrize(("bars", "k"), [(1_000, 1), (1_500, 4), (10_001, 7)])
def test_folds_never_overlap_and_out_of_sample_follows_in_sample(bars: int, k: int) -> None:
    folds = make_folds(bars, k)
    assert len(folds) == k
    spans = [span for fold in folds for span in (fold.in_sample, fold.out_of_sample)]
    assert spans[0][0] == 0 and spans[-1][1] == bars
    for (_, stop), (start, _) in pairwise(spans):
        assert start == stop  # contiguous, so no bar in two parts
    for fold in folds:
        (in_start, in_stop), (out_start, out_stop) = fold.in_sample, fold.out_of_sample
        assert in_start < in_stop == out_start < out_stop


def test_too_few_candles_for_the_folds() -> None:
    with pytest.raises(ValueError, match="too few for 10 walk-forward folds"):
        make_folds(500, 10)
    with pytest.raises(ValueError, match="at least 1 fold"):
        make_folds(500, 0)
