"""Find wrong labels from predicted probabilities: scores, issues, noise estimate.

A functional core over ``(proba, labels)``: ``proba`` holds any model's
predicted *clean*-label probabilities (rows sum to 1, columns in class
order) and ``labels`` the given, possibly wrong, labels as integer class
indices ``0 .. n_classes - 1``. Every sknnaqc estimator calls these
functions from its ``label_quality_scores``, ``find_label_issues`` and
``estimate_noise`` methods (``sknnaqc._label_issues_mixin.LabelIssuesMixin``,
which also maps labels of any type to indices and offers out-of-fold
probabilities with ``cv``).

* :func:`label_quality_scores` - one score in [0, 1] per sample; low means
  the given label is likely wrong.
* :func:`estimate_noise` - the transition matrix
  ``T[i, j] = P(given = j | true = i)`` and the overall noise rate, from a
  confident joint (per-class thresholds, in the spirit of confident learning,
  Northcutt et al. 2021). It needs no knowledge of the true noise rate.
* :func:`find_label_issues` - a boolean mask (or ranked indices) of the
  samples whose label is likely wrong: by default, in each given class, the
  estimated number of wrong labels with the lowest scores; or the
  ``num_issues`` / ``frac`` lowest scores, or scores below ``threshold``.

The default scoring rule, ``"posterior"`` (the probability that the given
label is the true one, from the probabilities and the estimated transition
matrix), was chosen by ``benchmarks/bench_label_issues.py``: over every noise
type, seed and source of probabilities it had the highest mean area under the
precision-recall curve, mostly thanks to structured (pair-flip) noise; under
symmetric noise the plain probability of the given label
(``"self_confidence"``) is as good or better. The numbers are in
``benchmarks/results/label_issues/`` and in the README.
"""

import numbers

import numpy as np

from .noise import check_proba

__all__ = [
    "SCORING_METHODS",
    "label_quality_scores",
    "estimate_noise",
    "find_label_issues",
]

SCORING_METHODS = ("posterior", "self_confidence", "normalized_margin")
_FILTERS = ("per_class", "off_diagonal")


def _check_proba_labels(proba, labels):
    """Validate the core's inputs; return float64 proba and int64 labels."""
    proba = check_proba(proba)
    sums = proba.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise ValueError("proba has a row of zeros; every row must hold probabilities.")
    proba = proba / sums
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got an array of shape {labels.shape}.")
    if labels.shape[0] != proba.shape[0]:
        raise ValueError(
            f"labels and proba have inconsistent numbers of samples: labels has "
            f"{labels.shape[0]}, proba has {proba.shape[0]}."
        )
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(
                labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(
                "labels must be integer class indices 0 .. n_classes - 1 (the columns "
                f"of proba); got dtype {labels.dtype}. Estimators map labels of any "
                "type through classes_."
            )
    n_classes = proba.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must be class indices in [0, {n_classes - 1}] (proba has {n_classes} "
            f"columns); got values from {labels.min()} to {labels.max()}."
        )
    return proba, labels.astype(np.int64)


def _check_noise_matrix(noise_matrix, n_classes):
    T = np.asarray(noise_matrix, dtype=np.float64)
    if T.shape != (n_classes, n_classes):
        raise ValueError(
            f"noise_matrix must have shape ({n_classes}, {n_classes}) to match proba, "
            f"got {T.shape}."
        )
    if not np.all(np.isfinite(T)) or np.any(T < 0) or not np.allclose(T.sum(axis=1), 1.0,
                                                                        atol=1e-4):
        raise ValueError(
            "noise_matrix must be row-stochastic (finite, non-negative, rows sum to 1): "
            "noise_matrix[i, j] = P(given = j | true = i)."
        )
    return T


def _confident_classes(proba, labels):
    """Each sample's confident class, -1 where it has none.

    The threshold of class ``k`` is the mean ``proba[:, k]`` over the samples
    given label ``k``; a sample's confident class is its most probable class
    among those whose probability reaches their threshold.
    """
    n_classes = proba.shape[1]
    counts = np.bincount(labels, minlength=n_classes)
    sums = np.bincount(labels, weights=proba[np.arange(len(labels)), labels],
                       minlength=n_classes)
    # A class never given has no threshold: no sample is confidently in it.
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
    above = proba >= thresholds - 1e-12
    confident = np.where(above, proba, -1.0).argmax(axis=1)
    return np.where(above.any(axis=1), confident, -1)


def _confident_joint(proba, labels):
    """Counts ``C[j, i]`` of samples given label ``j`` whose confident class is ``i``."""
    n_classes = proba.shape[1]
    confident = _confident_classes(proba, labels)
    has = confident >= 0
    C = np.zeros((n_classes, n_classes))
    np.add.at(C, (labels[has], confident[has]), 1.0)
    return C, np.bincount(labels, minlength=n_classes)


def _calibrated_joint(proba, labels):
    """Joint ``Q[j, i] = P(given = j, true = i)``, rows matching the given counts."""
    C, counts = _confident_joint(proba, labels)
    row = C.sum(axis=1)
    n_classes = len(counts)
    Q = np.zeros_like(C)
    for j in range(n_classes):
        if counts[j] == 0:
            continue
        if row[j] == 0:  # no confident sample: assume the labels of class j are right
            Q[j, j] = counts[j]
        else:
            Q[j] = C[j] / row[j] * counts[j]
    return Q / len(labels)


def estimate_noise(proba, labels):
    """Estimate the label-noise transition matrix and the overall noise rate.

    Counts, for every given label ``j`` and class ``i``, the samples given
    ``j`` whose probability of class ``i`` reaches class ``i``'s threshold
    (the mean ``proba[:, i]`` over the samples given ``i``), keeping the most
    probable such class per sample. The counts are rescaled so that each
    given class keeps its size, which gives the joint
    ``P(given = j, true = i)``; the transition matrix is that joint divided by
    its true-class margins. The true noise rate is not needed.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted clean-label probabilities, columns in class order. Use
        out-of-fold probabilities or a model that did not memorise the noise
        (a noise-aware clean branch); in-sample probabilities of a network
        that fit the noisy labels make the noise look smaller.
    labels : array-like of shape (n_samples,)
        Given labels as class indices ``0 .. n_classes - 1``.

    Returns
    -------
    transition_matrix : ndarray of shape (n_classes, n_classes)
        ``T[i, j] = P(given = j | true = i)``; rows sum to 1 (a class that
        no sample is estimated to belong to gets the identity row).
    noise_rate : float
        Estimated fraction of wrong labels, ``P(given != true)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnaqc.label_issues import estimate_noise
    >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.2, 0.8]])
    >>> labels = np.array([0, 1, 1, 1])           # sample 1 looks like class 0
    >>> T, rate = estimate_noise(proba, labels)
    >>> T.round(2)
    array([[0.5, 0.5],
           [0. , 1. ]])
    >>> rate
    0.25
    """
    proba, labels = _check_proba_labels(proba, labels)
    Q = _calibrated_joint(proba, labels)
    true_mass = Q.sum(axis=0)
    n_classes = proba.shape[1]
    T = np.eye(n_classes)
    for i in range(n_classes):
        if true_mass[i] > 0:
            T[i] = Q[:, i] / true_mass[i]
    return T, float(1.0 - np.trace(Q))


def label_quality_scores(proba, labels, *, method="posterior", noise_matrix=None):
    """Score how likely each given label is right: in [0, 1], low means suspicious.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted clean-label probabilities, columns in class order.
    labels : array-like of shape (n_samples,)
        Given labels as class indices ``0 .. n_classes - 1``.
    method : {"posterior", "self_confidence", "normalized_margin"}, \
default="posterior"
        * ``"posterior"``: probability that the given label is the true one
          under a noise model ``T``, by Bayes' rule:
          ``p_given T[given, given] / sum_i p_i T[i, given]``. It discounts a
          low ``p_given`` when the predicted class rarely turns into the given
          one, and helps most when noise is structured (pair flips).
        * ``"self_confidence"``: ``proba[n, labels[n]]``.
        * ``"normalized_margin"``: ``(p_given - max_{k != given} p_k + 1) / 2``.
    noise_matrix : array-like of shape (n_classes, n_classes), default=None
        ``T[i, j] = P(given = j | true = i)`` for ``method="posterior"``
        (e.g. a fitted estimator's ``noise_matrix_``); None estimates it with
        :func:`estimate_noise`. Ignored by the other methods.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Label quality in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sknnaqc.label_issues import label_quality_scores
    >>> proba = np.array([[0.9, 0.1], [0.3, 0.7]])
    >>> label_quality_scores(proba, [0, 0], method="self_confidence")
    array([0.9, 0.3])
    >>> label_quality_scores(proba, [0, 0], method="normalized_margin")
    array([0.9, 0.3])
    >>> T = np.array([[0.9, 0.1], [0.2, 0.8]])    # P(given = j | true = i)
    >>> label_quality_scores(proba, [0, 0], noise_matrix=T).round(3)
    array([0.976, 0.659])
    """
    proba, labels = _check_proba_labels(proba, labels)
    if method not in SCORING_METHODS:
        raise ValueError(f"method must be one of {list(SCORING_METHODS)}, got {method!r}.")
    rows = np.arange(len(labels))
    given = proba[rows, labels]
    if method == "self_confidence":
        return given
    if method == "normalized_margin":
        others = proba.copy()
        others[rows, labels] = -np.inf
        return np.clip((given - others.max(axis=1) + 1.0) / 2.0, 0.0, 1.0)
    if noise_matrix is None:
        T, _ = estimate_noise(proba, labels)
    else:
        T = _check_noise_matrix(noise_matrix, proba.shape[1])
    numerator = given * T[labels, labels]
    denominator = np.einsum("nk,kn->n", proba, T[:, labels])
    with np.errstate(invalid="ignore", divide="ignore"):
        post = np.where(denominator > 0, numerator / np.maximum(denominator, 1e-300), 0.0)
    return np.clip(post, 0.0, 1.0)


def _check_fraction(value, name, low_open):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    low = "(0" if low_open else "[0"
    if not ((0 < value) if low_open else (0 <= value)) or value > 1:
        raise ValueError(f"{name} must be in {low}, 1], got {value!r}.")
    return float(value)


def find_label_issues(
    proba,
    labels,
    *,
    method="posterior",
    noise_matrix=None,
    filter_by="per_class",
    num_issues=None,
    frac=None,
    threshold=None,
    return_indices_ranked=False,
):
    """Flag the samples whose given label is likely wrong.

    By default (``num_issues``, ``frac`` and ``threshold`` all None) the
    number of wrong labels is estimated from the data
    (:func:`estimate_noise`), so no noise rate has to be known. Give at most
    one of ``num_issues``, ``frac`` and ``threshold`` to choose instead.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted clean-label probabilities, columns in class order.
    labels : array-like of shape (n_samples,)
        Given labels as class indices ``0 .. n_classes - 1``.
    method : {"posterior", "self_confidence", "normalized_margin"}, \
default="posterior"
        Scoring rule used to rank samples; see :func:`label_quality_scores`.
    noise_matrix : array-like of shape (n_classes, n_classes), default=None
        Noise model for ``method="posterior"``.
    filter_by : {"per_class", "off_diagonal"}, default="per_class"
        Default rule. ``"per_class"``: in each given class ``j``, flag the
        estimated number of wrong labels of class ``j`` (off-diagonal mass of
        the estimated joint) with the lowest scores. ``"off_diagonal"``: flag
        the samples whose confident class (see :func:`estimate_noise`)
        differs from the given label. Ignored when ``num_issues``, ``frac``
        or ``threshold`` is given.
    num_issues : int, default=None
        Flag this many samples, those with the lowest scores; in
        [0, n_samples].
    frac : float, default=None
        Flag this fraction of the samples (rounded), lowest scores first; in
        [0, 1].
    threshold : float, default=None
        Flag the samples with scores below ``threshold``; in [0, 1].
    return_indices_ranked : bool, default=False
        Return the indices of the flagged samples, most suspicious (lowest
        score) first, instead of a boolean mask.

    Returns
    -------
    issues : ndarray of shape (n_samples,) of bool, or ndarray of int
        The mask of flagged samples, or their ranked indices.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnaqc.label_issues import find_label_issues
    >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.2, 0.8]])
    >>> labels = np.array([0, 1, 1, 1])
    >>> find_label_issues(proba, labels)
    array([False,  True, False, False])
    >>> find_label_issues(proba, labels, num_issues=2, return_indices_ranked=True)
    array([1, 3])
    """
    proba, labels = _check_proba_labels(proba, labels)
    n = len(labels)
    given = [name for name, v in (("num_issues", num_issues), ("frac", frac),
                                  ("threshold", threshold)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"Give at most one of num_issues, frac and threshold; got {given}.")
    if filter_by not in _FILTERS:
        raise ValueError(f"filter_by must be one of {list(_FILTERS)}, got {filter_by!r}.")
    if not isinstance(return_indices_ranked, (bool, np.bool_)):
        raise TypeError(
            f"return_indices_ranked must be True or False, got {return_indices_ranked!r}.")
    if num_issues is not None:
        if isinstance(num_issues, bool) or not isinstance(num_issues, numbers.Integral):
            raise TypeError(f"num_issues must be an integer, got {num_issues!r}.")
        if not 0 <= num_issues <= n:
            raise ValueError(f"num_issues must be in [0, {n}] (n_samples), got {num_issues}.")
    if frac is not None:
        frac = _check_fraction(frac, "frac", low_open=False)
    if threshold is not None:
        threshold = _check_fraction(threshold, "threshold", low_open=False)
    scores = label_quality_scores(proba, labels, method=method, noise_matrix=noise_matrix)
    order = np.argsort(scores, kind="stable")  # most suspicious first
    mask = np.zeros(n, dtype=bool)
    if num_issues is not None or frac is not None:
        k = int(num_issues) if num_issues is not None else int(round(frac * n))
        mask[order[:k]] = True
    elif threshold is not None:
        mask = scores < threshold
    elif filter_by == "off_diagonal":
        C_conf = _confident_classes(proba, labels)
        mask = (C_conf >= 0) & (C_conf != labels)
    else:
        Q = _calibrated_joint(proba, labels)
        counts = np.bincount(labels, minlength=proba.shape[1])
        for j in np.flatnonzero(counts):
            wrong = Q[j].sum() - Q[j, j]
            k = int(round(wrong / Q[j].sum() * counts[j]))
            members = np.flatnonzero(labels == j)
            mask[members[np.argsort(scores[members], kind="stable")[:k]]] = True
    if return_indices_ranked:
        return order[mask[order]]
    return mask

