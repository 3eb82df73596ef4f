"""The new step-5 checks (CUPED, SRM): the reference and other correct answers pass,
realistic wrong answers fail."""

import numpy as np
import pytest
from scipy import stats

from course_utils.exercises.step05 import check_cuped_adjust, check_srm_p_value


# --------------------------------------------------------------------------- cuped_adjust
def cuped_cov(metric, covariate):
    y, x = np.asarray(metric, float), np.asarray(covariate, float)
    theta = np.cov(y, x)[0, 1] / np.var(x, ddof=1)
    return y - theta * (x - x.mean())


def cuped_polyfit(metric, covariate):
    y, x = np.asarray(metric, float), np.asarray(covariate, float)
    slope = np.polyfit(x, y, 1)[0]
    return y - slope * x + slope * np.mean(x)


def cuped_sums(metric, covariate):
    y, x = np.asarray(metric, float), np.asarray(covariate, float)
    dx = x - x.mean()
    return y - (dx @ (y - y.mean())) / (dx @ dx) * dx


def cuped_mixed_ddof(metric, covariate):  # cov with ddof=1, var with ddof=0
    y, x = np.asarray(metric, float), np.asarray(covariate, float)
    return y - np.cov(y, x)[0, 1] / np.var(x) * (x - x.mean())


def cuped_not_centred(metric, covariate):  # shifts the mean of the metric
    y, x = np.asarray(metric, float), np.asarray(covariate, float)
    return y - np.cov(y, x)[0, 1] / np.var(x, ddof=1) * x


def cuped_correlation(metric, covariate):  # uses the correlation as theta
    y, x = np.asarray(metric, float), np.asarray(covariate, float)
    return y - np.corrcoef(y, x)[0, 1] * (x - x.mean())


def cuped_wrong_variance(metric, covariate):  # divides by var(metric)
    y, x = np.asarray(metric, float), np.asarray(covariate, float)
    return y - np.cov(y, x)[0, 1] / np.var(y, ddof=1) * (x - x.mean())


@pytest.mark.parametrize("fn", [cuped_cov, cuped_polyfit, cuped_sums])
def test_cuped_check_accepts_correct_answers(fn, capsys):
    assert check_cuped_adjust(fn)
    assert "✅ cuped_adjust: passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn", [cuped_mixed_ddof, cuped_not_centred, cuped_correlation, cuped_wrong_variance]
)
def test_cuped_check_rejects_mistakes(fn, capsys):
    with pytest.raises(AssertionError, match="cuped_adjust"):
        check_cuped_adjust(fn)


# --------------------------------------------------------------------------- srm_p_value
def srm_scipy(counts, ratios=None):
    counts = np.asarray(counts, float)
    share = np.ones_like(counts) if ratios is None else np.asarray(ratios, float)
    return float(stats.chisquare(counts, counts.sum() * share / share.sum()).pvalue)


def srm_manual(counts, ratios=None):
    counts = np.asarray(counts, float)
    share = np.full(len(counts), 1 / len(counts)) if ratios is None else np.asarray(ratios)
    expected = counts.sum() * share / np.sum(share)
    chi2 = np.sum((counts - expected) ** 2 / expected)
    return float(stats.chi2.sf(chi2, len(counts) - 1))


def srm_neyman(counts, ratios=None):  # divides by the observed counts
    counts = np.asarray(counts, float)
    share = np.ones_like(counts) if ratios is None else np.asarray(ratios, float)
    expected = counts.sum() * share / share.sum()
    return float(stats.chi2.sf(np.sum((counts - expected) ** 2 / counts), len(counts) - 1))


def srm_wrong_df(counts, ratios=None):  # k degrees of freedom instead of k - 1
    counts = np.asarray(counts, float)
    share = np.ones_like(counts) if ratios is None else np.asarray(ratios, float)
    expected = counts.sum() * share / share.sum()
    return float(stats.chi2.sf(np.sum((counts - expected) ** 2 / expected), len(counts)))


def srm_ignores_ratios(counts, ratios=None):  # always tests an equal split
    counts = np.asarray(counts, float)
    return float(stats.chisquare(counts).pvalue)


def srm_statistic(counts, ratios=None):  # returns the chi-squared statistic
    counts = np.asarray(counts, float)
    share = np.ones_like(counts) if ratios is None else np.asarray(ratios, float)
    return float(stats.chisquare(counts, counts.sum() * share / share.sum()).statistic)


@pytest.mark.parametrize("fn", [srm_scipy, srm_manual])
def test_srm_check_accepts_correct_answers(fn, capsys):
    assert check_srm_p_value(fn)
    assert "✅ srm_p_value: passed" in capsys.readouterr().out


@pytest.mark.parametrize("fn", [srm_neyman, srm_wrong_df, srm_ignores_ratios, srm_statistic])
def test_srm_check_rejects_mistakes(fn, capsys):
    with pytest.raises(AssertionError, match="srm_p_value"):
        check_srm_p_value(fn)


def test_untouched_exercises_are_not_attempted(capsys):
    def cuped_adjust(metric, covariate):
        raise NotImplementedError()

    def srm_p_value(counts, ratios=None):
        raise NotImplementedError()

    assert not check_cuped_adjust(cuped_adjust)
    assert not check_srm_p_value(srm_p_value)
    assert "⏳ cuped_adjust: not attempted yet" in capsys.readouterr().out
