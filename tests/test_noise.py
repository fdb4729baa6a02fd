"""Tests for sknnaqc.noise: simulating and estimating label noise."""

import doctest
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sknnaqc import noise
from sknnaqc.noise import (
    NoisyLabelTransformer,
    check_transition_matrix,
    corrupt_labels,
    estimate_transition_matrix,
    make_transition_matrix,
    noise_rate_from_matrix,
    plot_transition_matrix,
)

KINDS = ["random", "symmetric", "pairflip", "sparse"]
N_PER_CLASS = 5000
N_CLASSES = 10
Z = 4.5  # binomial tolerance, in standard deviations

ignore_uninformative = pytest.mark.filterwarnings(
    "ignore:.*noisy labels are not informative:UserWarning"
)


def _round_half_up(x):
    return int(np.floor(x + 0.5))


# ---------------------------------------------------------------------------
# make_transition_matrix: properties
# ---------------------------------------------------------------------------

matrix_args = st.fixed_dictionaries(
    {
        "n_classes": st.integers(2, 25),
        "noise_rate": st.floats(0.0, 1.0),
        "kind": st.sampled_from(KINDS),
        "n_targets": st.integers(1, 12),
        "random_state": st.integers(0, 2**31 - 1),
    }
)


@ignore_uninformative
@settings(max_examples=80, deadline=None)
@given(args=matrix_args)
def test_transition_matrix_properties(args):
    T = make_transition_matrix(
        args["n_classes"],
        args["noise_rate"],
        kind=args["kind"],
        n_targets=args["n_targets"],
        random_state=args["random_state"],
    )
    L, p = args["n_classes"], args["noise_rate"]
    assert T.shape == (L, L)
    assert T.dtype == np.float64
    np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(T >= 0)
    assert np.array_equal(np.diag(T), np.full(L, 1.0 - p))
    off_nonzero = (T > 0).sum(axis=1) - (np.diag(T) > 0)
    if args["kind"] == "sparse":
        assert np.all(off_nonzero <= min(args["n_targets"], L - 1))
    if args["kind"] == "pairflip":
        assert np.all(off_nonzero <= 1)
        np.testing.assert_array_equal(T[np.arange(L), (np.arange(L) + 1) % L], np.full(L, p))
    if args["kind"] == "symmetric":
        off = T[~np.eye(L, dtype=bool)]
        np.testing.assert_allclose(off, p / (L - 1))


@ignore_uninformative
@settings(max_examples=40, deadline=None)
@given(args=matrix_args)
def test_transition_matrix_reproducible(args):
    first = make_transition_matrix(**args)
    second = make_transition_matrix(**args)
    assert np.array_equal(first, second)


def test_random_kinds_depend_on_seed():
    for kind in ("random", "sparse"):
        a = make_transition_matrix(8, 0.4, kind=kind, n_targets=3, random_state=0)
        b = make_transition_matrix(8, 0.4, kind=kind, n_targets=3, random_state=1)
        assert not np.array_equal(a, b)


def test_sparse_uses_exactly_n_targets_and_random_spreads_everywhere():
    T = make_transition_matrix(50, 0.5, kind="sparse", n_targets=10, random_state=0)
    off = T.copy()
    np.fill_diagonal(off, 0)
    assert np.all((off > 0).sum(axis=1) == 10)
    # the chosen targets differ between rows (not a fixed band)
    assert len({tuple(np.flatnonzero(row)) for row in off}) > 1
    T = make_transition_matrix(6, 0.5, kind="random", random_state=0)
    off = T.copy()
    np.fill_diagonal(off, 0)
    assert np.all((off > 0).sum(axis=1) == 5)
    # uniform on the simplex, not the even split of "symmetric"
    assert not np.allclose(off[~np.eye(6, dtype=bool)], 0.1)


@pytest.mark.parametrize("kind, n_targets", [("random", 10), ("sparse", 6)])
def test_flipped_mass_is_uniform_on_simplex(kind, n_targets):
    # One coordinate of a Dirichlet(1, ..., 1) vector with K parts is Beta(1, K - 1).
    from scipy import stats

    L, p = 300, 0.4
    T = make_transition_matrix(L, p, kind=kind, n_targets=n_targets, random_state=0)
    K = L - 1 if kind == "random" else n_targets
    first_target = np.array(
        [row[np.flatnonzero((row > 0) & (np.arange(L) != i))[0]] for i, row in enumerate(T)],
    )
    result = stats.kstest(first_target / p, stats.beta(1, K - 1).cdf)
    assert result.pvalue > 1e-3


def test_sparse_n_targets_capped():
    T = make_transition_matrix(4, 0.3, kind="sparse", n_targets=10, random_state=0)
    off = T.copy()
    np.fill_diagonal(off, 0)
    assert np.all((off > 0).sum(axis=1) == 3)


def test_zero_noise_is_identity():
    for kind in KINDS:
        T = make_transition_matrix(5, 0.0, kind=kind, random_state=0)
        assert np.array_equal(T, np.eye(5))


# ---------------------------------------------------------------------------
# corruption: statistics
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def balanced_labels():
    return np.repeat(np.arange(N_CLASSES), N_PER_CLASS)


def _confusion(y, y_noisy, L):
    C = np.zeros((L, L))
    np.add.at(C, (y, y_noisy), 1)
    return C / C.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("kind", KINDS)
def test_realised_rates_and_confusion_match_matrix(balanced_labels, kind):
    y = balanced_labels
    p = 0.3
    noiser = NoisyLabelTransformer(noise_rate=p, kind=kind, n_targets=3, random_state=7)
    y_noisy = noiser.fit_transform(y)
    T = noiser.transition_matrix_

    sigma = np.sqrt(p * (1 - p) / N_PER_CLASS)
    np.testing.assert_array_less(np.abs(noiser.class_noise_rates_ - p), Z * sigma)
    assert abs(noiser.noise_rate_ - p) < Z * np.sqrt(p * (1 - p) / y.size)
    np.testing.assert_array_equal(noiser.flipped_mask_, y_noisy != y)

    C = _confusion(y, y_noisy, N_CLASSES)
    tol = Z * np.sqrt(T * (1 - T) / N_PER_CLASS)
    assert np.all(np.abs(C - T) <= tol), np.abs(C - T).max()
    # impossible transitions never happen
    assert np.all(C[T == 0] == 0)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_mode_hits_requested_flips(balanced_labels, kind):
    y = balanced_labels
    p = 0.3
    noiser = NoisyLabelTransformer(
        noise_rate=p, kind=kind, n_targets=3, exact=True, random_state=3
    )
    y_noisy = noiser.fit_transform(y)
    T = noiser.transition_matrix_
    flips = np.bincount(y[y_noisy != y], minlength=N_CLASSES)
    assert np.all(flips == _round_half_up(p * N_PER_CLASS))
    assert noiser.noise_rate_ == pytest.approx(p, abs=1e-12)
    np.testing.assert_allclose(noiser.class_noise_rates_, p, atol=1e-12)

    # flipped labels follow the off-diagonal of T
    C = _confusion(y, y_noisy, N_CLASSES)
    tol = Z * np.sqrt(T * (1 - T) / N_PER_CLASS) + 1e-12
    assert np.all(np.abs(C - T) <= tol)
    assert np.all(C[T == 0] == 0)


@pytest.mark.parametrize(
    "noise_rate, sizes, expected",
    [
        # halves round up (0.3 * 15 is 4.499999999999999 in floating point)
        (0.3, [5, 7, 13, 15, 100, 1], [2, 2, 4, 5, 30, 0]),
        (0.5, [5, 9, 1, 2], [3, 5, 1, 1]),
    ],
)
def test_exact_mode_rounding_with_uneven_classes(noise_rate, sizes, expected):
    y = np.concatenate([np.full(n, c) for c, n in enumerate(sizes)])
    # Classes whose rounded count misses the rate by more than 0.01 are named.
    with pytest.warns(UserWarning, match="too small for the requested rate") as record:
        y_noisy = corrupt_labels(
            y, noise_rate=noise_rate, kind="symmetric", exact=True, random_state=0
        )
    flips = [int(np.sum(y_noisy[y == c] != c)) for c in range(len(sizes))]
    assert flips == expected
    named = str(record[0].message)
    for c, n in enumerate(sizes):
        off = abs(expected[c] / n - noise_rate) > 0.01
        assert (f" {c} ({n} samples" in named) == off


def test_exact_mode_small_class_warning_names_realised_rate():
    # Issue 12: 3 samples per class at 0.5 realise 2/3; the docs now say so.
    y = np.repeat([0, 1, 2], 3)
    with pytest.warns(UserWarning, match=r"0\.667 instead of 0\.5"):
        corrupt_labels(y, noise_rate=0.5, kind="symmetric", exact=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corrupt_labels(np.repeat([0, 1, 2], 100), noise_rate=0.5, kind="symmetric",
                       exact=True, random_state=0)


def test_exact_mode_per_class_rates_from_user_matrix():
    T = np.array([[1.0, 0.0, 0.0], [0.25, 0.5, 0.25], [0.0, 0.1, 0.9]])
    y = np.repeat(np.arange(3), 400)
    noiser = NoisyLabelTransformer(transition_matrix=T, exact=True, random_state=0)
    y_noisy = noiser.fit_transform(y)
    np.testing.assert_allclose(noiser.class_noise_rates_, [0.0, 0.5, 0.1])
    assert np.all(y_noisy[y == 0] == 0)
    assert set(y_noisy[y == 2]) == {1, 2}
    assert noiser.noise_rate_ == pytest.approx(0.2)


def test_user_matrix_overrides_noise_rate_and_kind():
    T = np.array([[0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 1] * 50)
    with pytest.warns(UserWarning, match="not informative"):
        y_noisy = corrupt_labels(y, noise_rate=0.0, kind="symmetric", transition_matrix=T)
    np.testing.assert_array_equal(y_noisy, 1 - y)


def test_zero_noise_leaves_labels_unchanged(balanced_labels):
    for exact in (False, True):
        y_noisy = corrupt_labels(balanced_labels, noise_rate=0.0, exact=exact, random_state=0)
        np.testing.assert_array_equal(y_noisy, balanced_labels)


# ---------------------------------------------------------------------------
# corruption: randomness
# ---------------------------------------------------------------------------


def test_same_seed_same_labels_and_function_matches_transformer():
    y = np.repeat(np.arange(5), 200)
    for kind in KINDS:
        for exact in (False, True):
            kw = dict(noise_rate=0.4, kind=kind, n_targets=2, exact=exact)
            a = corrupt_labels(y, random_state=11, **kw)
            b = corrupt_labels(y, random_state=11, **kw)
            c = corrupt_labels(y, random_state=12, **kw)
            d = NoisyLabelTransformer(random_state=11, **kw).fit_transform(y)
            assert np.array_equal(a, b)
            assert not np.array_equal(a, c)
            assert np.array_equal(a, d)


def test_transform_repeatable_with_int_seed_and_advancing_with_generator():
    y = np.repeat(np.arange(4), 250)
    noiser = NoisyLabelTransformer(noise_rate=0.3, random_state=0).fit(y)
    first = noiser.transform(y)
    assert np.array_equal(first, noiser.transform(y))

    noiser = NoisyLabelTransformer(noise_rate=0.3, random_state=np.random.RandomState(0))
    noiser.fit(y)
    assert not np.array_equal(noiser.transform(y), noiser.transform(y))


def test_no_global_seeding():
    np.random.seed(123)
    expected = np.random.random_sample(3)
    np.random.seed(123)
    corrupt_labels(np.repeat([0, 1, 2], 10), random_state=0)
    make_transition_matrix(4, 0.2, random_state=0)
    np.testing.assert_array_equal(np.random.random_sample(3), expected)


# ---------------------------------------------------------------------------
# label types
# ---------------------------------------------------------------------------


def test_string_labels_stay_strings():
    y = np.repeat(np.array(["ant", "bee", "cat"]), 100)
    y_noisy = corrupt_labels(y, noise_rate=0.5, kind="symmetric", random_state=0)
    assert y_noisy.dtype == y.dtype
    assert set(y_noisy) == {"ant", "bee", "cat"}
    assert np.any(y_noisy != y)

    as_list = corrupt_labels(list(y), noise_rate=0.5, random_state=0)
    assert isinstance(as_list, np.ndarray)
    assert as_list.dtype.kind == "U"


def test_short_string_dtype_is_widened_not_truncated():
    noiser = NoisyLabelTransformer(noise_rate=1.0, kind="pairflip", random_state=0)
    with pytest.warns(UserWarning, match="not informative"):
        noiser.fit(np.array(["a", "bbbb"]))
    y_noisy = noiser.transform(np.array(["a", "a"]))
    assert y_noisy.dtype.kind == "U"
    assert list(y_noisy) == ["bbbb", "bbbb"]


def test_noncontiguous_int_labels_keep_dtype_and_order():
    classes = np.array([-5, 3, 100], dtype=np.int32)
    y = np.repeat(classes, 300)
    noiser = NoisyLabelTransformer(noise_rate=0.3, kind="pairflip", random_state=0)
    y_noisy = noiser.fit_transform(y)
    assert y_noisy.dtype == np.int32
    np.testing.assert_array_equal(noiser.classes_, classes)
    assert set(np.unique(y_noisy)) <= set(classes.tolist())
    # pairflip follows sorted class order: -5 -> 3 -> 100 -> -5
    flipped = y != y_noisy
    nxt = {-5: 3, 3: 100, 100: -5}
    assert all(nxt[a] == b for a, b in zip(y[flipped], y_noisy[flipped]))
    assert flipped.any()


def test_transform_keeps_dtype_of_its_own_input():
    noiser = NoisyLabelTransformer(noise_rate=0.3, random_state=0)
    noiser.fit(np.array([1, 2, 3], dtype=np.int64))
    y_noisy = noiser.transform(np.array([1, 2, 3, 3], dtype=np.int16))
    assert y_noisy.dtype == np.int16
    y_noisy = noiser.transform([1.0, 2.0, 3.0])
    assert y_noisy.dtype == np.float64


def test_class_noise_rates_aligned_with_classes_and_nan_for_absent():
    T = np.array([[0.6, 0.4, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    noiser = NoisyLabelTransformer(transition_matrix=T, exact=True, random_state=0)
    noiser.fit(["x", "y", "z"])
    noiser.transform(np.array(["x"] * 10 + ["y"] * 10))
    rates = noiser.class_noise_rates_
    assert rates.shape == (3,)
    assert rates[0] == 0.4 and rates[1] == 0.0 and np.isnan(rates[2])
    assert noiser.noise_rate_ == 0.2


def test_unseen_labels_listed():
    noiser = NoisyLabelTransformer(random_state=0).fit([0, 1, 2])
    with pytest.raises(ValueError, match=r"not seen in fit: \[7, 9\]"):
        noiser.transform([0, 7, 9, 7])
    noiser = NoisyLabelTransformer(random_state=0).fit(["1", "2"])
    with pytest.raises(ValueError, match="not seen in fit"):
        noiser.transform([1, 2])


def test_single_class_rejected():
    with pytest.raises(ValueError, match="y must contain at least 2 classes"):
        corrupt_labels([4, 4, 4])
    with pytest.raises(ValueError, match="y must contain at least 2 classes"):
        NoisyLabelTransformer().fit(["a"])


def test_bad_y_rejected():
    with pytest.raises(ValueError, match="y should be a 1d array"):
        corrupt_labels(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="continuous"):
        corrupt_labels([0.1, 0.5, 0.7])
    with pytest.raises(ValueError, match="at least one label"):
        NoisyLabelTransformer().fit([0, 1]).transform([])


def test_transform_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NoisyLabelTransformer().transform([0, 1])


# ---------------------------------------------------------------------------
# parameter validation and warnings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(noise_rate=1.5), ValueError, r"noise_rate must be in \[0, 1\], got 1.5"),
        (dict(noise_rate=-0.1), ValueError, r"noise_rate must be in \[0, 1\]"),
        (dict(noise_rate=float("nan")), ValueError, "noise_rate must be in"),
        (dict(noise_rate="0.3"), TypeError, "noise_rate must be a real number"),
        (dict(noise_rate=True), TypeError, "noise_rate must be a real number"),
        (dict(n_targets=0), ValueError, "n_targets must be an int >= 1, got 0"),
        (dict(n_targets=2.5), TypeError, "n_targets must be an int >= 1, got 2.5"),
        (
            dict(kind="uniform"),
            ValueError,
            "kind must be one of 'random', 'symmetric', 'pairflip', 'sparse', got 'uniform'",
        ),
        (dict(exact="yes"), TypeError, "exact must be a bool"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    y = np.repeat([0, 1, 2], 5)
    with pytest.raises(exc, match=match):
        corrupt_labels(y, **kwargs)
    with pytest.raises(exc, match=match):
        NoisyLabelTransformer(**kwargs).fit(y)
    if "exact" not in kwargs:
        args = {"noise_rate": 0.2, **kwargs}
        with pytest.raises(exc, match=match):
            make_transition_matrix(3, **args)


def test_init_stores_without_validation():
    noiser = NoisyLabelTransformer(noise_rate=7, kind="nope")
    assert noiser.noise_rate == 7 and noiser.kind == "nope"


@pytest.mark.parametrize("n_classes, exc", [(1, ValueError), (0, ValueError), (2.0, TypeError)])
def test_bad_n_classes(n_classes, exc):
    with pytest.raises(exc, match="n_classes must be an int >= 2"):
        make_transition_matrix(n_classes, 0.1)


@pytest.mark.parametrize(
    "T, match",
    [
        ([0.5, 0.5], "square 2-D"),
        ([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], "square 2-D"),
        ([[1.0]], "at least 2 x 2"),
        ([[0.5, np.nan], [0.5, 0.5]], "NaN"),
        ([[1.2, -0.2], [0.5, 0.5]], r"non-negative, got T\[0, 1\] = -0.2"),
        ([[0.6, 0.6], [0.5, 0.5]], "row 0 sums to 1.2"),
        ([[0.9, 0.1], [0.1, 0.1]], "row 1 sums to 0.2"),
        ([["a", "b"], ["c", "d"]], "numeric"),
    ],
)
def test_bad_transition_matrix(T, match):
    with pytest.raises(ValueError, match="transition_matrix") as info:
        check_transition_matrix(T)
    assert info.match(match)
    with pytest.raises(ValueError, match="transition_matrix"):
        corrupt_labels([0, 1, 0, 1], transition_matrix=T)


def test_transition_matrix_size_must_match_classes():
    T = np.eye(3)
    with pytest.raises(ValueError, match=r"transition_matrix has shape \(3, 3\) but there are 2"):
        check_transition_matrix(T, n_classes=2)
    with pytest.raises(ValueError, match="transition_matrix has shape"):
        NoisyLabelTransformer(transition_matrix=T).fit(["a", "b", "a"])


def test_check_transition_matrix_returns_float64_copy():
    T = np.array([[1, 0], [0, 1]], dtype=np.int64)
    out = check_transition_matrix(T)
    assert out.dtype == np.float64
    out[0, 0] = 5
    assert T[0, 0] == 1
    near = [[0.5, 0.5 + 5e-7], [0.0, 1.0]]
    np.testing.assert_array_equal(check_transition_matrix(near), near)


@pytest.mark.parametrize(
    "kind, n_classes, n_targets, threshold",
    [
        ("symmetric", 4, 10, 0.75),
        ("random", 5, 10, 0.8),
        ("pairflip", 6, 10, 0.5),
        ("sparse", 100, 3, 0.75),
    ],
)
def test_uninformative_noise_warns(kind, n_classes, n_targets, threshold, recwarn):
    make_transition_matrix(
        n_classes, threshold - 1e-3, kind=kind, n_targets=n_targets, random_state=0
    )
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    with pytest.warns(UserWarning, match="noise_rate=.* not informative"):
        make_transition_matrix(
            n_classes, threshold, kind=kind, n_targets=n_targets, random_state=0
        )
    y = np.repeat(np.arange(n_classes), 3)
    with pytest.warns(UserWarning, match="not informative"):
        corrupt_labels(y, noise_rate=threshold, kind=kind, n_targets=n_targets, random_state=0)


def test_uninformative_user_matrix_warns():
    T = [[0.9, 0.1, 0.0], [0.0, 0.4, 0.6], [0.0, 0.0, 1.0]]
    with pytest.warns(UserWarning, match=r"positions \[1\]"):
        NoisyLabelTransformer(transition_matrix=T).fit([0, 1, 2])


# ---------------------------------------------------------------------------
# scikit-learn API
# ---------------------------------------------------------------------------


def test_clone_and_get_params():
    T = np.array([[0.8, 0.2], [0.1, 0.9]])
    noiser = NoisyLabelTransformer(
        noise_rate=0.1, kind="sparse", transition_matrix=T, n_targets=3,
        exact=True, random_state=5,
    )
    params = noiser.get_params()
    assert params == {
        "noise_rate": 0.1, "kind": "sparse", "transition_matrix": T,
        "n_targets": 3, "exact": True, "random_state": 5,
    }
    noiser.fit([0, 1, 1])
    copy = clone(noiser)
    assert copy.get_params()["random_state"] == 5
    np.testing.assert_array_equal(copy.get_params()["transition_matrix"], T)
    assert not hasattr(copy, "transition_matrix_")
    copy.set_params(transition_matrix=None, kind="pairflip", noise_rate=0.25)
    copy.fit([0, 1])
    np.testing.assert_array_equal(copy.transition_matrix_, [[0.75, 0.25], [0.25, 0.75]])


def test_default_params():
    assert NoisyLabelTransformer().get_params() == {
        "noise_rate": 0.3, "kind": "random", "transition_matrix": None,
        "n_targets": 10, "exact": False, "random_state": None,
    }


# ---------------------------------------------------------------------------
# noise_rate_from_matrix
# ---------------------------------------------------------------------------


def test_noise_rate_from_matrix():
    T = make_transition_matrix(6, 0.35, random_state=0)
    assert noise_rate_from_matrix(T) == pytest.approx(0.35)
    T = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.5, 0.5]])
    assert noise_rate_from_matrix(T) == pytest.approx((0.1 + 0.2 + 0.5) / 3)
    assert noise_rate_from_matrix(T, class_prior=[2, 1, 1]) == pytest.approx(
        (2 * 0.1 + 0.2 + 0.5) / 4
    )
    assert noise_rate_from_matrix(T, class_prior=[0, 0, 1]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"class_prior must have shape \(3,\)"):
        noise_rate_from_matrix(T, class_prior=[1, 1])
    with pytest.raises(ValueError, match="class_prior must be finite, non-negative"):
        noise_rate_from_matrix(T, class_prior=[1, -1, 1])
    with pytest.raises(ValueError, match="transition_matrix"):
        noise_rate_from_matrix([[0.5, 0.6], [0.5, 0.5]])


# ---------------------------------------------------------------------------
# estimate_transition_matrix
# ---------------------------------------------------------------------------


def _synthetic_proba(T, n_samples, anchor_fraction, max_eps, seed):
    """Noisy-label posteriors clean @ T, with near one-hot anchors per class."""
    rng = np.random.RandomState(seed)
    L = T.shape[0]
    clean = rng.dirichlet(np.full(L, 0.7), size=n_samples)
    n_anchor = int(anchor_fraction * n_samples)
    for c in range(L):
        rows = rng.choice(n_samples, size=n_anchor, replace=False)
        eps = rng.uniform(0, max_eps, size=(n_anchor, 1))
        clean[rows] = (1 - eps) * np.eye(L)[c] + eps * rng.dirichlet(np.ones(L), size=n_anchor)
    return clean @ T


@pytest.mark.parametrize("kind", ["random", "symmetric", "pairflip"])
@pytest.mark.parametrize("quantile, max_err", [(1.0, 0.01), (0.97, 0.03)])
def test_anchor_estimate_recovers_matrix(kind, quantile, max_err):
    T = make_transition_matrix(6, 0.35, kind=kind, random_state=1)
    proba = _synthetic_proba(T, 3000, anchor_fraction=0.05, max_eps=0.03, seed=2)
    y_noisy = proba.argmax(axis=1)
    T_hat = estimate_transition_matrix(proba, y_noisy, quantile=quantile)
    assert T_hat.dtype == np.float64 and T_hat.shape == T.shape
    np.testing.assert_allclose(T_hat.sum(axis=1), 1.0, atol=1e-12)
    assert np.abs(T_hat - T).max() < max_err


def test_anchor_quantile_skips_outliers():
    T = make_transition_matrix(4, 0.3, kind="symmetric")
    proba = _synthetic_proba(T, 2000, anchor_fraction=0.05, max_eps=0.01, seed=0)
    # an outlier whose class-0 score beats every real anchor
    proba[0] = [0.95, 0.05, 0.0, 0.0]
    assert np.abs(estimate_transition_matrix(proba, quantile=1.0)[0] - T[0]).max() > 0.1
    assert np.abs(estimate_transition_matrix(proba, quantile=0.97) - T).max() < 0.02


def test_anchor_row_is_the_quantile_sample_and_renormalised():
    proba = np.array([[0.2, 0.2], [0.6, 0.2], [0.3, 0.5], [0.1, 0.1]])
    T_hat = estimate_transition_matrix(proba, quantile=1.0)
    np.testing.assert_allclose(T_hat, [[0.75, 0.25], [0.375, 0.625]])
    # quantile 0.5 of column 0 is the 2nd smallest value (0.2, sample 0)
    T_hat = estimate_transition_matrix(proba, quantile=0.5)
    np.testing.assert_allclose(T_hat[0], [0.5, 0.5])


HALF = np.full((3, 2), 0.5)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(proba=np.ones(4)), ValueError, "proba must have shape"),
        (dict(proba=np.ones((4, 1))), ValueError, "proba must have shape"),
        (dict(proba=[[0.5, np.nan], [0.5, 0.5]]), ValueError, "proba must contain finite"),
        (dict(proba=[[1.5, -0.5], [0.5, 0.5]]), ValueError, "proba must contain finite"),
        (dict(proba=HALF, method="nope"), ValueError, "method must be one of 'anchor'"),
        (dict(proba=HALF, quantile=0.0), ValueError, r"quantile must be in \(0, 1\]"),
        (dict(proba=HALF, quantile=1.2), ValueError, r"quantile must be in \(0, 1\], got 1.2"),
        (dict(proba=HALF, quantile="a"), TypeError, "quantile must be a real"),
        (dict(proba=HALF, y_noisy=[0, 1]), ValueError, "y_noisy has 2 labels but proba has 3"),
        (dict(proba=HALF, y_noisy=[0, 1, 2]), ValueError, "y_noisy has 3 distinct labels"),
        (dict(proba=[[0.0, 0.0], [0.0, 0.0]]), ValueError, "all-zero"),
    ],
)
def test_estimate_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        estimate_transition_matrix(**kwargs)


# ---------------------------------------------------------------------------
# plotting
# ---------------------------------------------------------------------------


def test_plot_transition_matrix():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    T = make_transition_matrix(3, 0.3, kind="pairflip")
    ax = plot_transition_matrix(T, class_names=["a", "b", "c"])
    assert ax.get_xlabel() == "noisy label"
    assert ax.get_ylabel() == "true label"
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["0.70"] * 3 + ["0.30"] * 3 + ["0.00"] * 3)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    np.testing.assert_array_equal(ax.images[0].get_array(), T)

    fig, own_ax = plt.subplots()
    assert plot_transition_matrix(T, ax=own_ax, annotate=False) is own_ax
    assert not own_ax.texts
    with pytest.raises(ValueError, match="class_names must have 3 entries"):
        plot_transition_matrix(T, class_names=["a"])
    with pytest.raises(ValueError, match="transition_matrix"):
        plot_transition_matrix(T.T * 2)
    plt.close("all")


def test_plot_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "sknnaqc\[plot\]"'):
        plot_transition_matrix(np.eye(2))


# ---------------------------------------------------------------------------
# docs
# ---------------------------------------------------------------------------


def test_public_api():
    assert sorted(noise.__all__) == sorted(
        [
            "NoisyLabelTransformer", "check_transition_matrix", "corrupt_labels",
            "estimate_transition_matrix", "make_transition_matrix",
            "noise_rate_from_matrix", "plot_transition_matrix",
        ]
    )
    for name in noise.__all__:
        doc = getattr(noise, name).__doc__
        assert "Examples" in doc and "Parameters" in doc
        assert "T[i, j] = P(noisy label = j | true label = i)" in " ".join(doc.split())


def test_docstring_examples():
    pytest.importorskip("matplotlib")
    result = doctest.testmod(noise, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
    import matplotlib.pyplot as plt

    plt.close("all")
