"""Slow NumPy references for wsbench.lf's modelling-advantage quantities, in the paper's binary
+-1 coding (Ratner et al., VLDB 2018, sec. 3.1): loops over rows and LF pairs."""

import itertools
import math

import numpy as np


def to_pm1(L):
    """-1 abstain / 0 / 1 votes -> Lambda in {-1, 0, +1} (0 = abstain, class 1 = +1)."""
    L = np.asarray(L)
    return np.where(L < 0, 0, 2 * L - 1)


def agreement(L):
    agree = overlap = 0
    L = np.asarray(L)
    for j, l in itertools.combinations(range(L.shape[1]), 2):
        both = (L[:, j] >= 0) & (L[:, l] >= 0)
        overlap += both.sum()
        agree += (both & (L[:, j] == L[:, l])).sum()
    return agree / overlap


def expected_advantage(L, mean_accuracy=None, conflicts_only=True):
    lam = to_pm1(L)
    if mean_accuracy is None:
        a = agreement(L)
        mean_accuracy = min(max((1 + math.sqrt(max(2 * a - 1, 0))) / 2, 0.5), 1 - 1e-6)
    w_bar = 0.5 * math.log(mean_accuracy / (1 - mean_accuracy))
    total = 0.0
    for row in lam:
        f1 = row.sum()
        if conflicts_only and not ((row == 1).any() and (row == -1).any()):
            continue
        for y in (-1, 1):
            if y * f1 <= 0:
                total += 1 / (1 + math.exp(-2 * y * w_bar * f1))
    return total / len(lam)


def modeling_advantage(p1, L, y):
    """A_w with f_w = p1 - 1/2 (a posterior P(y = 1)) against f_1 = sum of +-1 votes."""
    lam = to_pm1(L)
    total, n = 0, 0
    for p, row, t in zip(p1, lam, y, strict=True):
        if t < 0:
            continue
        s = 2 * t - 1
        fw, f1 = p - 0.5, row.sum()
        total += int(s * fw > 0 and s * f1 <= 0) - int(s * fw <= 0 and s * f1 > 0)
        n += 1
    return total / n
