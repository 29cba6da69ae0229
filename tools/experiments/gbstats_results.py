"""GrowthBook's stats engine (gbstats) on the per-variant aggregates the experiments service computes from.

Reads JSON on stdin and writes JSON on stdout:
  {"cases": [{"name", "kind": "mean"|"proportion"|"ratio", "cuped": bool, "alpha", "sequential": bool, "tuning",
              "control": {"n", "sum", "ss", "dsum", "dss", "vd", "xsum", "xss", "vx"}, "treatment": {...}}],
   "srm": [{"users": [...], "weights": [...]}],
   "welch": [{"mean1", "std1", "n1", "mean2", "std2", "n2", "alpha"}]}
  n: users; sum/ss: Σ value and Σ value²; dsum/dss/vd: a ratio's denominator Σ, Σ² and Σ value × denominator;
  xsum/xss/vx: CUPED's pre-period covariate Σ, Σ² and Σ value × covariate.
For each case, gbstats' statistics (mean and variance of each variant, after CUPED's θ where it applies) and its
frequentist or sequential test of the absolute and the relative difference; for each srm entry gbstats' check_srm;
for each welch entry scipy.stats' Welch test (the reference where Pulse departs from gbstats on purpose).
"""
import json
import math
import sys

from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm
from scipy import stats


def statistic(kind, cuped, s):
    if kind == "ratio":
        return RatioStatistic(
            n=s["n"],
            m_statistic=SampleMeanStatistic(n=s["n"], sum=s["sum"], sum_squares=s["ss"]),
            d_statistic=SampleMeanStatistic(n=s["n"], sum=s["dsum"], sum_squares=s["dss"]),
            m_d_sum_of_products=s["vd"],
        )
    post = (
        ProportionStatistic(n=s["n"], sum=s["sum"])
        if kind == "proportion"
        else SampleMeanStatistic(n=s["n"], sum=s["sum"], sum_squares=s["ss"])
    )
    if not cuped:
        return post
    return RegressionAdjustedStatistic(
        n=s["n"],
        post_statistic=post,
        pre_statistic=SampleMeanStatistic(n=s["n"], sum=s["xsum"], sum_squares=s["xss"]),
        post_pre_sum_of_products=s["vx"],
        theta=0,
    )


def finite(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def test(case, difference_type):
    a = statistic(case["kind"], case["cuped"], case["control"])
    b = statistic(case["kind"], case["cuped"], case["treatment"])
    if case["sequential"]:
        t = SequentialTwoSidedTTest(
            a, b, SequentialConfig(alpha=case["alpha"], sequential_tuning_parameter=case["tuning"], difference_type=difference_type)
        )
    else:
        t = TwoSidedTTest(a, b, FrequentistConfig(alpha=case["alpha"], difference_type=difference_type))
    r = t.compute_result()
    return t, {
        "available": r.error_message is None,
        "estimate": float(r.expected),
        "ci": [float(r.ci[0]), float(r.ci[1])],
        "p_value": float(r.p_value),
        "error": r.error_message,
    }


def analyse(case):
    t, absolute = test(case, "absolute")
    _, relative = test(case, "relative")
    variant = lambda s: {"mean": float(s.mean), "variance": float(s.variance), "unadjusted_mean": float(s.unadjusted_mean)}
    theta = getattr(t.stat_a, "theta", 0.0)
    return {
        "name": case["name"],
        "control": variant(t.stat_a),
        "treatment": variant(t.stat_b),
        "theta": float(theta),
        "absolute": absolute,
        "relative": relative,
    }


def welch(w):
    r = stats.ttest_ind_from_stats(w["mean1"], w["std1"], w["n1"], w["mean2"], w["std2"], w["n2"], equal_var=False)
    v1, v2 = w["std1"] ** 2 / w["n1"], w["std2"] ** 2 / w["n2"]
    dof = (v1 + v2) ** 2 / ((v1 ** 2 / (w["n1"] - 1) if v1 > 0 else 0) + (v2 ** 2 / (w["n2"] - 1) if v2 > 0 else 0))
    half = stats.t.ppf(1 - w["alpha"] / 2, dof) * math.sqrt(v1 + v2)
    diff = w["mean2"] - w["mean1"]
    return {"estimate": diff, "ci": [diff - half, diff + half], "p_value": float(r.pvalue), "dof": dof}


def main():
    data = json.load(sys.stdin)
    out = {
        "cases": [analyse(c) for c in data.get("cases", [])],
        "srm": [float(check_srm(s["users"], s["weights"])) for s in data.get("srm", [])],
        "srm_scipy": [
            float(stats.chisquare(s["users"], [w / sum(s["weights"]) * sum(s["users"]) for w in s["weights"]]).pvalue)
            for s in data.get("srm", [])
        ],
        "welch": [welch(w) for w in data.get("welch", [])],
    }
    json.dump(out, sys.stdout, default=finite)


if __name__ == "__main__":
    main()
