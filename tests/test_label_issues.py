"""Label-quality scores, label issues and noise estimates (sknnaqc.label_issues)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold

import sknnaqc
from sknnaqc import BaseModelClassifier, NNAQCClassifier
from sknnaqc.label_issues import estimate_noise, find_label_issues, label_quality_scores
from sknnaqc.noise import corrupt_labels, make_transition_matrix

from conftest import TinyMLP


# -- functional core on hand-made probabilities ---------------------------------------


def _synthetic(n=4000, noise_rate=0.3, kind="pairflip", seed=0):
    """Clean probabilities that put 0.91 on the true class; labels drawn from T."""
    rng = np.random.RandomState(seed)
    n_classes = 4
    true = rng.randint(n_classes, size=n)
    T = make_transition_matrix(n_classes, noise_rate, kind=kind, random_state=seed)
    given = corrupt_labels(true, transition_matrix=T, random_state=seed)
    proba = np.full((n, n_classes), 0.03)
    proba[np.arange(n), true] = 0.91
    return proba, given, true, T


def test_scores_by_hand():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    labels = np.array([0, 1])
    np.testing.assert_allclose(label_quality_scores(proba, labels, method="self_confidence"),
                               [0.7, 0.3])
    np.testing.assert_allclose(
        label_quality_scores(proba, labels, method="normalized_margin"),
        [(0.7 - 0.2 + 1) / 2, (0.3 - 0.6 + 1) / 2])
    T = np.array([[0.8, 0.2, 0.0], [0.1, 0.9, 0.0], [0.0, 0.5, 0.5]])
    expected = [0.7 * 0.8 / (0.7 * 0.8 + 0.2 * 0.1),
                0.3 * 0.9 / (0.1 * 0.2 + 0.3 * 0.9 + 0.6 * 0.5)]
    np.testing.assert_allclose(label_quality_scores(proba, labels, noise_matrix=T), expected)
    # Without a noise matrix the posterior uses the estimated one.
    T_hat, _ = estimate_noise(proba, labels)
    np.testing.assert_allclose(label_quality_scores(proba, labels),
                               label_quality_scores(proba, labels, noise_matrix=T_hat))
    # Under symmetric noise the posterior ranks as the probability of the given label.
    rng = np.random.RandomState(0)
    p = rng.dirichlet(np.ones(3), size=50)
    lab = rng.randint(3, size=50)
    sym = np.full((3, 3), 0.1) + 0.7 * np.eye(3)
    np.testing.assert_array_equal(
        np.argsort(label_quality_scores(p, lab, noise_matrix=sym)),
        np.argsort(label_quality_scores(p, lab, method="self_confidence")))


def test_scores_lie_in_unit_interval():
    rng = np.random.RandomState(0)
    proba = rng.dirichlet(np.ones(5), size=200)
    labels = rng.randint(5, size=200)
    for method in ("self_confidence", "normalized_margin", "posterior"):
        s = label_quality_scores(proba, labels, method=method)
        assert s.shape == (200,) and s.min() >= 0 and s.max() <= 1, method


@pytest.mark.parametrize("kind", ["pairflip", "symmetric", "random"])
def test_estimate_noise_recovers_the_transition_matrix(kind):
    proba, given, true, T = _synthetic(kind=kind)
    T_hat, rate = estimate_noise(proba, given)
    # With unambiguous clean probabilities the estimate is the empirical matrix.
    empirical = np.array([np.bincount(given[true == i], minlength=4) / np.sum(true == i)
                          for i in range(4)])
    np.testing.assert_allclose(T_hat, empirical, atol=1e-12)
    np.testing.assert_allclose(T_hat, T, atol=0.05)
    assert rate == pytest.approx(np.mean(given != true), abs=1e-12)
    np.testing.assert_allclose(T_hat.sum(axis=1), 1.0)


def test_default_rule_flags_exactly_the_flipped_labels_without_knowing_the_rate():
    proba, given, true, _ = _synthetic(noise_rate=0.25, kind="symmetric")
    np.testing.assert_array_equal(find_label_issues(proba, given), given != true)
    np.testing.assert_array_equal(
        find_label_issues(proba, given, filter_by="off_diagonal"), given != true)


def test_clean_labels_give_no_issues_and_zero_noise():
    proba, _, true, _ = _synthetic()
    assert not find_label_issues(proba, true).any()
    T_hat, rate = estimate_noise(proba, true)
    np.testing.assert_allclose(T_hat, np.eye(4))
    assert rate == 0.0


def test_num_issues_frac_threshold_and_ranking():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]])
    labels = np.array([0, 0, 0, 1])  # self-confidence 0.9, 0.2, 0.6, 0.55
    sc = dict(method="self_confidence")
    np.testing.assert_array_equal(find_label_issues(proba, labels, num_issues=2, **sc),
                                  [False, True, False, True])
    np.testing.assert_array_equal(find_label_issues(proba, labels, frac=0.75, **sc),
                                  [False, True, True, True])
    np.testing.assert_array_equal(find_label_issues(proba, labels, threshold=0.58, **sc),
                                  [False, True, False, True])
    np.testing.assert_array_equal(
        find_label_issues(proba, labels, num_issues=3, return_indices_ranked=True, **sc),
        [1, 3, 2])
    # The default (posterior) score ranks by its own values.
    scores = label_quality_scores(proba, labels)
    np.testing.assert_array_equal(
        find_label_issues(proba, labels, num_issues=3, return_indices_ranked=True),
        np.argsort(scores, kind="stable")[:3])
    np.testing.assert_array_equal(find_label_issues(proba, labels, threshold=0.5),
                                  scores < 0.5)
    assert find_label_issues(proba, labels, num_issues=0).sum() == 0
    assert find_label_issues(proba, labels, frac=1.0).all()


def test_ranked_indices_match_the_mask():
    proba, given, _, _ = _synthetic(n=500, seed=3)
    mask = find_label_issues(proba, given)
    ranked = find_label_issues(proba, given, return_indices_ranked=True)
    assert sorted(ranked) == list(np.flatnonzero(mask))
    scores = label_quality_scores(proba, given)
    assert np.all(np.diff(scores[ranked]) >= 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(threshold=1.5), r"threshold must be in \[0, 1\], got 1.5"),
    (dict(threshold=-0.1), "threshold must be in"),
    (dict(frac=2.0), r"frac must be in \[0, 1\], got 2.0"),
    (dict(num_issues=5), r"num_issues must be in \[0, 4\]"),
    (dict(num_issues=-1), "num_issues must be in"),
    (dict(num_issues=1, frac=0.5), "at most one of num_issues, frac and threshold"),
    (dict(method="entropy"), "method must be one of"),
    (dict(filter_by="both"), "filter_by must be one of"),
    (dict(method="posterior", noise_matrix=np.eye(3)), r"noise_matrix must have shape \(2, 2\)"),
    (dict(method="posterior", noise_matrix=[[0.5, 0.6], [0, 1]]), "row-stochastic"),
])
def test_core_rejects_bad_options(kwargs, match):
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]])
    with pytest.raises(ValueError, match=match):
        find_label_issues(proba, [0, 0, 0, 1], **kwargs)


def test_core_rejects_bad_types():
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(TypeError, match="num_issues must be an integer"):
        find_label_issues(proba, [0, 1], num_issues=1.5)
    with pytest.raises(TypeError, match="threshold must be a real number"):
        find_label_issues(proba, [0, 1], threshold="0.5")


@pytest.mark.parametrize("proba, labels, match", [
    (np.ones(3), [0, 1, 0], "proba must have shape"),
    ([[0.5, 0.5], [np.nan, 1]], [0, 1], "finite, non-negative"),
    ([[0.5, 0.5], [0.0, 0.0]], [0, 1], "row of zeros"),
    ([[0.5, 0.5], [0.5, 0.5]], [0, 1, 1], "inconsistent numbers of samples"),
    ([[0.5, 0.5], [0.5, 0.5]], [0, 2], r"class indices in \[0, 1\]"),
    ([[0.5, 0.5], [0.5, 0.5]], ["a", "b"], "integer class indices"),
    ([[0.5, 0.5], [0.5, 0.5]], [[0, 1]], "labels must be 1-D"),
])
def test_core_rejects_bad_inputs(proba, labels, match):
    for func in (label_quality_scores, estimate_noise, find_label_issues):
        with pytest.raises(ValueError, match=match):
            func(proba, labels)


# -- estimator methods --------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy_digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    y_noisy = corrupt_labels(y, noise_rate=0.3, kind="symmetric", random_state=0)
    clf = NNAQCClassifier(TinyMLP, max_epochs=10, lr=1e-2, random_state=0).fit(X, y_noisy)
    return X, y, y_noisy, clf


def test_one_fit_flags_most_flipped_labels_and_few_clean_ones(noisy_digits):
    X, y, y_noisy, clf = noisy_digits
    flipped = y_noisy != y
    mask = clf.find_label_issues(X, y_noisy)
    assert mask.dtype == bool and mask.shape == y.shape
    assert mask[flipped].mean() > 0.8        # recall
    assert mask[~flipped].mean() < 0.05      # clean labels flagged
    T_hat, rate = clf.estimate_noise(X, y_noisy)
    assert rate == pytest.approx(flipped.mean(), abs=0.06)
    assert T_hat.shape == (10, 10)
    np.testing.assert_allclose(T_hat.sum(axis=1), 1.0)
    scores = clf.label_quality_scores(X, y_noisy)
    assert scores[flipped].mean() < 0.3 < scores[~flipped].mean()


def test_methods_use_the_users_label_space(noisy_digits):
    X, _, y_noisy, clf = noisy_digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])
    clf_str = NNAQCClassifier(TinyMLP, max_epochs=10, lr=1e-2, random_state=0)
    clf_str.fit(X, names[y_noisy])
    # classes_ are the sorted names, an order other than the digits'.
    column = {name: i for i, name in enumerate(clf_str.classes_)}
    proba = clf_str.predict_proba(X)
    expected = proba[np.arange(len(X)), [column[n] for n in names[y_noisy]]]
    np.testing.assert_allclose(
        clf_str.label_quality_scores(X, names[y_noisy], method="self_confidence"), expected)
    ranked = clf_str.find_label_issues(X, names[y_noisy], num_issues=20,
                                       return_indices_ranked=True)
    assert len(ranked) == 20
    scores = clf_str.label_quality_scores(X, names[y_noisy])
    assert np.all(np.diff(scores[ranked]) >= 0)
    assert scores[ranked].max() <= np.sort(scores)[19]


def test_every_estimator_has_the_methods():
    for name in sknnaqc.__all__:
        obj = getattr(sknnaqc, name)
        if isinstance(obj, type) and issubclass(obj, sknnaqc.NoiseAwareClassifier):
            for method in ("label_quality_scores", "find_label_issues", "estimate_noise"):
                assert callable(getattr(obj, method)), (name, method)


def test_bad_inputs_to_the_methods(noisy_digits, digits):
    X, _, y_noisy, clf = noisy_digits
    with pytest.raises(ValueError, match="X has 1797, y has 1796"):
        clf.find_label_issues(X, y_noisy[:-1])
    with pytest.raises(ValueError, match=r"labels not seen in fit: \[10, 11\]"):
        clf.label_quality_scores(X[:3], np.array([10, 11, 0]))
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\], got 2"):
        clf.find_label_issues(X, y_noisy, threshold=2)
    with pytest.raises(ValueError, match=r"frac must be in \[0, 1\]"):
        clf.find_label_issues(X, y_noisy, frac=1.2)
    with pytest.raises(ValueError, match="y .* is required"):
        clf.estimate_noise(X, None)
    with pytest.raises(NotFittedError):
        NNAQCClassifier().find_label_issues(*digits)
    with pytest.raises(NotFittedError):
        BaseModelClassifier().estimate_noise(*digits)


def test_cv_gives_out_of_fold_scores_and_leaves_the_estimator_alone(noisy_digits):
    X, _, y_noisy, _ = noisy_digits
    X, y_noisy = X[:400], y_noisy[:400]
    clf = NNAQCClassifier(TinyMLP, max_epochs=3, lr=1e-2, random_state=0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = clf.label_quality_scores(X, y_noisy, method="self_confidence", cv=cv)
    assert not hasattr(clf, "net_")  # unfitted estimators work with cv and stay unfitted
    expected = np.empty(len(y_noisy))
    for train, test in cv.split(X, y_noisy):
        fold = NNAQCClassifier(TinyMLP, max_epochs=3, lr=1e-2, random_state=0)
        fold.fit(X[train], y_noisy[train])
        expected[test] = fold.predict_proba(X[test])[np.arange(len(test)), y_noisy[test]]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert clf.find_label_issues(X, y_noisy, cv=cv).shape == (400,)
    T_hat, rate = clf.estimate_noise(X, y_noisy, cv=2)
    assert T_hat.shape == (10, 10) and 0 <= rate <= 1


def test_cv_aligns_folds_that_miss_a_class():
    rng = np.random.RandomState(0)
    X = rng.randn(90, 4).astype(np.float32)
    y = np.repeat(["a", "b", "c"], 30)
    # Unshuffled KFold(3) trains every fold without one of the classes.
    clf = BaseModelClassifier(TinyMLP, max_epochs=2, random_state=0)
    proba, codes = clf._label_proba(X, y, KFold(3))
    assert proba.shape == (90, 3)
    np.testing.assert_array_equal(codes, np.repeat([0, 1, 2], 30))
    # The held-out class was never seen by its fold's model: zero probability.
    assert np.all(proba[np.arange(90), codes] == 0)


def test_cv_must_partition_the_samples(noisy_digits):
    X, _, y_noisy, _ = noisy_digits
    clf = NNAQCClassifier(TinyMLP, max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="every sample in exactly one test fold"):
        clf.find_label_issues(X[:200], y_noisy[:200],
                              cv=ShuffleSplit(2, test_size=0.2, random_state=0))
