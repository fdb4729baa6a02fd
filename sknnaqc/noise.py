"""Simulate class-conditional label noise and estimate it back.

Every function in this module uses one orientation for transition matrices::

    T[i, j] = P(noisy label = j | true label = i)

so row ``i`` describes what happens to samples whose true class is ``i`` and
every row sums to 1 (``T`` is *row*-stochastic). The NNAQC paper (section 3,
eq. (1)) calls its matrix ``phi`` "column-stochastic" but indexes it exactly
this way, ``phi_ij = p(y' = j | y = i)``; the matrices here are that ``phi``.
Rows and columns follow the sorted class order ``np.unique(y)``.

The toolkit has three parts:

- simulation: :func:`make_transition_matrix` builds ``T`` (the paper's random
  eq. (1), symmetric, pair-flip, or the sparse ImageNet setting),
  :func:`corrupt_labels` and :class:`NoisyLabelTransformer` draw noisy labels
  from it;
- estimation: :func:`estimate_transition_matrix` recovers ``T`` from the
  predicted noisy-label probabilities of a model (anchor points, as in
  forward loss correction);
- inspection: :func:`check_transition_matrix`, :func:`noise_rate_from_matrix`
  and :func:`plot_transition_matrix`.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

__all__ = [
    "NoisyLabelTransformer",
    "check_transition_matrix",
    "corrupt_labels",
    "estimate_transition_matrix",
    "make_transition_matrix",
    "noise_rate_from_matrix",
    "plot_transition_matrix",
]

KINDS = ("random", "symmetric", "pairflip", "sparse")

# Tolerance on row sums of a user-supplied transition matrix.
_ROW_SUM_ATOL = 1e-6


def _show(value):
    """repr for error messages, with NumPy scalars shown as Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


# ---------------------------------------------------------------------------
# parameter checks
# ---------------------------------------------------------------------------


def _check_noise_rate(noise_rate):
    if isinstance(noise_rate, bool) or not isinstance(noise_rate, numbers.Real):
        raise TypeError(
            f"noise_rate must be a real number in [0, 1], got {_show(noise_rate)}"
        )
    noise_rate = float(noise_rate)
    if not 0.0 <= noise_rate <= 1.0:  # also rejects NaN
        raise ValueError(f"noise_rate must be in [0, 1], got {_show(noise_rate)}")
    return noise_rate


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {_show(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {_show(value)}")
    return int(value)


def _check_kind(kind):
    if not isinstance(kind, str) or kind not in KINDS:
        allowed = ", ".join(repr(k) for k in KINDS)
        raise ValueError(f"kind must be one of {allowed}, got {_show(kind)}")
    return kind


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {_show(value)}")
    return bool(value)


def _n_noise_targets(kind, n_classes, n_targets):
    """Number of wrong classes that receive the flipped mass of a row."""
    if kind == "pairflip":
        return 1
    if kind == "sparse":
        return min(n_targets, n_classes - 1)
    return n_classes - 1


def _warn_if_uninformative(noise_rate, kind, n_classes, n_targets, stacklevel=3):
    m = _n_noise_targets(kind, n_classes, n_targets)
    threshold = m / (m + 1)
    if noise_rate >= threshold:
        warnings.warn(
            f"noise_rate={_show(noise_rate)} with kind={_show(kind)} and {n_classes} "
            f"classes is >= {threshold:.4g}: the true class is no more likely "
            "than an average wrong class, so the noisy labels are not "
            "informative about the true ones.",
            UserWarning,
            stacklevel=stacklevel,
        )


def _uninformative_classes(T):
    """Rows of ``T`` whose diagonal is not the largest entry (a wrong label is at
    least as likely as the true one, so the class is not identifiable)."""
    off = np.array(T, dtype=np.float64)
    np.fill_diagonal(off, -np.inf)
    return np.flatnonzero(np.diag(T) <= off.max(axis=1))


def _warn_if_matrix_uninformative(T, stacklevel=4):
    bad = _uninformative_classes(T)
    if bad.size:
        warnings.warn(
            "transition_matrix has rows (true classes at positions "
            f"{bad.tolist()}) whose diagonal entry is not the largest: for "
            "those classes a wrong noisy label is at least as likely as the "
            "true one, so the noisy labels are not informative.",
            UserWarning,
            stacklevel=stacklevel,
        )


def _check_labels(y, *, min_classes):
    """Return y as a 1-D array after checking it holds class labels."""
    y = column_or_1d(y, warn=True)
    if y.shape[0] == 0:
        raise ValueError("y must contain at least one label, got an empty array")
    check_classification_targets(y)
    if min_classes > 1:
        n_unique = np.unique(y).shape[0]
        if n_unique < min_classes:
            raise ValueError(
                f"y must contain at least {min_classes} classes to be "
                f"corrupted, got {n_unique} class(es): {np.unique(y).tolist()}"
            )
    return y


def _encode(y, classes):
    """Map labels to their positions in ``classes``; reject unseen labels."""
    known = set(classes.tolist())
    unseen = [label for label in np.unique(y).tolist() if label not in known]
    if unseen:
        raise ValueError(
            f"y contains labels not seen in fit: {unseen}; "
            f"known classes are {classes.tolist()}"
        )
    return np.searchsorted(classes, y)


def _decode(codes, classes, like):
    """Labels for ``codes`` with the dtype of the input array ``like``."""
    dtype = like.dtype
    if dtype.kind in "US" and classes.dtype.kind == dtype.kind:
        # Widen a fixed-width string dtype so no class name gets truncated.
        dtype = np.promote_types(dtype, classes.dtype)
    return classes[codes].astype(dtype, copy=False)


# ---------------------------------------------------------------------------
# transition matrices
# ---------------------------------------------------------------------------


def make_transition_matrix(
    n_classes, noise_rate, *, kind="random", n_targets=10, random_state=None
):
    """Build a label-noise transition matrix with a given noise rate.

    ``T[i, j] = P(noisy label = j | true label = i)``; rows sum to 1 and every
    diagonal entry equals ``1 - noise_rate``, so each class keeps its label
    with probability ``1 - noise_rate`` and the rest of the row says where the
    flipped labels go.

    Parameters
    ----------
    n_classes : int
        Number of classes ``L``, at least 2.
    noise_rate : float
        Probability ``p`` in [0, 1] that a label is flipped, the same for
        every class.
    kind : {"random", "symmetric", "pairflip", "sparse"}, default="random"
        How the flipped mass ``p`` of each row is spread over the other
        classes:

        - ``"random"``: the paper's eq. (1), ``(1 - p) I + p Delta``; the
          off-diagonal part of each row of ``Delta`` is drawn uniformly from
          the (L-1)-simplex (Dirichlet(1, ..., 1)), independently per row.
        - ``"symmetric"``: evenly, ``p / (L - 1)`` to each other class.
        - ``"pairflip"``: all of it to the next class, ``i -> (i + 1) mod L``.
        - ``"sparse"``: the paper's ImageNet setting; ``n_targets`` other
          classes are chosen at random for each row and ``p`` is spread over
          them uniformly on the simplex.
    n_targets : int, default=10
        Number of classes that receive the flipped mass of a row when
        ``kind="sparse"``; capped at ``L - 1``. Ignored by the other kinds.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for the random kinds (``"random"``, ``"sparse"``).
        Pass an int for reproducible output.

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes), dtype float64
        Row-stochastic transition matrix.

    Raises
    ------
    ValueError
        If ``n_classes < 2``, ``noise_rate`` is outside [0, 1], ``n_targets < 1``
        or ``kind`` is unknown.
    TypeError
        If ``n_classes`` or ``n_targets`` is not an int or ``noise_rate`` is
        not a real number.

    Warns
    -----
    UserWarning
        If ``noise_rate >= m / (m + 1)``, where ``m`` is the number of classes
        that receive the flipped mass of a row (``L - 1`` for "random" and
        "symmetric", ``min(n_targets, L - 1)`` for "sparse", 1 for
        "pairflip"). From there on the true class is no more likely than an
        average wrong target, so the noisy label stops being informative. For
        "symmetric" the threshold is ``1 - 1/L``; for "pairflip" it is 0.5.

    See Also
    --------
    corrupt_labels : Draw noisy labels from such a matrix.
    noise_rate_from_matrix : Overall flip probability of a matrix.

    Examples
    --------
    >>> from sknnaqc.noise import make_transition_matrix
    >>> print(make_transition_matrix(3, 0.2, kind="symmetric"))
    [[0.8 0.1 0.1]
     [0.1 0.8 0.1]
     [0.1 0.1 0.8]]
    >>> print(make_transition_matrix(3, 0.2, kind="pairflip"))
    [[0.8 0.2 0. ]
     [0.  0.8 0.2]
     [0.2 0.  0.8]]
    >>> T = make_transition_matrix(4, 0.3, random_state=0)
    >>> print(T.diagonal(), T.sum(axis=1).round(12))
    [0.7 0.7 0.7 0.7] [1. 1. 1. 1.]
    """
    n_classes = _check_int(n_classes, "n_classes", 2)
    noise_rate = _check_noise_rate(noise_rate)
    kind = _check_kind(kind)
    n_targets = _check_int(n_targets, "n_targets", 1)
    _warn_if_uninformative(noise_rate, kind, n_classes, n_targets)
    rng = check_random_state(random_state)
    return _make_matrix(n_classes, noise_rate, kind, n_targets, rng)


def _make_matrix(n_classes, p, kind, n_targets, rng):
    """Unchecked core of :func:`make_transition_matrix`."""
    L = n_classes
    T = np.zeros((L, L), dtype=np.float64)
    if kind == "symmetric":
        T[:] = p / (L - 1)
    elif kind == "pairflip":
        T[np.arange(L), (np.arange(L) + 1) % L] = p
    elif kind == "random":
        for i in range(L):
            others = np.delete(np.arange(L), i)
            T[i, others] = p * rng.dirichlet(np.ones(L - 1))
    else:  # sparse
        k = _n_noise_targets(kind, L, n_targets)
        for i in range(L):
            others = np.delete(np.arange(L), i)
            targets = rng.choice(others, size=k, replace=False)
            T[i, targets] = p * rng.dirichlet(np.ones(k))
    # Set the diagonal last so that it is exactly 1 - p.
    np.fill_diagonal(T, 1.0 - p)
    return T


def _float64_array(value, name):
    """``value`` as a new float64 array, or a ValueError naming ``name``."""
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a numeric 2-D array; conversion failed: {exc}"
        ) from exc


def check_transition_matrix(T, n_classes=None):
    """Validate a label-noise transition matrix.

    The matrix must follow ``T[i, j] = P(noisy label = j | true label = i)``:
    2-D, square, at least 2 x 2, finite, non-negative, with every row summing
    to 1 (within 1e-6). A column-stochastic matrix must be transposed first.

    Parameters
    ----------
    T : array-like of shape (n_classes, n_classes)
        Candidate transition matrix.
    n_classes : int or None, default=None
        If given, the required number of classes (rows and columns).

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes), dtype float64
        A float64 copy of the input.

    Raises
    ------
    ValueError
        If any of the conditions above fails; the message names
        ``transition_matrix``.

    Examples
    --------
    >>> from sknnaqc.noise import check_transition_matrix
    >>> print(check_transition_matrix([[0.9, 0.1], [0.2, 0.8]]))
    [[0.9 0.1]
     [0.2 0.8]]
    >>> check_transition_matrix([[0.9, 0.2], [0.2, 0.8]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: transition_matrix rows must sum to 1 ...; row 0 sums to 1.1
    """
    T = _float64_array(T, "transition_matrix")
    if T.ndim != 2 or T.shape[0] != T.shape[1]:
        raise ValueError(
            f"transition_matrix must be a square 2-D array, got shape {T.shape}"
        )
    if T.shape[0] < 2:
        raise ValueError(
            f"transition_matrix must be at least 2 x 2, got shape {T.shape}"
        )
    if n_classes is not None and T.shape[0] != n_classes:
        raise ValueError(
            f"transition_matrix has shape {T.shape} but there are {n_classes} "
            f"classes; expected shape ({n_classes}, {n_classes})"
        )
    if not np.all(np.isfinite(T)):
        raise ValueError("transition_matrix must not contain NaN or infinity")
    if np.any(T < 0):
        i, j = np.argwhere(T < 0)[0]
        raise ValueError(
            "transition_matrix entries must be non-negative, got "
            f"T[{i}, {j}] = {float(T[i, j])!r}"
        )
    sums = T.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_SUM_ATOL)
    if bad.size:
        i = bad[0]
        raise ValueError(
            "transition_matrix rows must sum to 1 (T[i, j] = P(noisy = j | "
            f"true = i)); row {i} sums to {sums[i]:.10g}"
        )
    return T


def noise_rate_from_matrix(T, class_prior=None):
    """Overall probability that a label is flipped under ``T``.

    Computes ``sum_i prior_i * (1 - T[i, i])`` with
    ``T[i, j] = P(noisy label = j | true label = i)``.

    Parameters
    ----------
    T : array-like of shape (n_classes, n_classes)
        Row-stochastic transition matrix.
    class_prior : array-like of shape (n_classes,) or None, default=None
        Non-negative class weights, in the row order of ``T``; normalised to
        sum to 1, so class counts can be passed directly. ``None`` means a
        uniform prior.

    Returns
    -------
    noise_rate : float
        Expected fraction of flipped labels.

    Examples
    --------
    >>> from sknnaqc.noise import noise_rate_from_matrix
    >>> T = [[0.9, 0.1], [0.4, 0.6]]
    >>> print(round(noise_rate_from_matrix(T), 6))
    0.25
    >>> print(round(noise_rate_from_matrix(T, class_prior=[3, 1]), 6))
    0.175
    """
    T = check_transition_matrix(T)
    L = T.shape[0]
    if class_prior is None:
        prior = np.full(L, 1.0 / L)
    else:
        prior = np.asarray(class_prior, dtype=np.float64)
        if prior.shape != (L,):
            raise ValueError(
                f"class_prior must have shape ({L},) to match transition_matrix, "
                f"got shape {prior.shape}"
            )
        if not np.all(np.isfinite(prior)) or np.any(prior < 0) or prior.sum() <= 0:
            raise ValueError(
                "class_prior must be finite, non-negative and not all zero, "
                f"got {prior.tolist()}"
            )
        prior = prior / prior.sum()
    return float(prior @ (1.0 - np.diag(T)))


# ---------------------------------------------------------------------------
# corruption
# ---------------------------------------------------------------------------


def _flip_count(rate, n):
    """round(rate * n), halves rounded up, robust to float fuzz in ``rate``."""
    return int(np.floor(round(rate * n, 9) + 0.5))


def _sample_rows(T_row, size, rng):
    """Draw ``size`` column indices with probabilities ``T_row``."""
    cdf = np.cumsum(T_row)
    cdf /= cdf[-1]
    u = rng.random_sample(size)
    return np.minimum(np.searchsorted(cdf, u, side="right"), T_row.shape[0] - 1)


# Largest difference between the requested and the realised flip rate of a
# class, with exact=True, before a warning says that the class is too small.
_EXACT_RATE_TOLERANCE = 0.01


def _corrupt_codes(codes, T, exact, rng):
    """Corrupt integer class codes with transition matrix ``T``."""
    noisy = codes.copy()
    off_target = []
    for c in range(T.shape[0]):
        idx = np.flatnonzero(codes == c)
        if idx.size == 0:
            continue
        if not exact:
            noisy[idx] = _sample_rows(T[c], idx.size, rng)
            continue
        off = T[c].copy()
        off[c] = 0.0
        if off.sum() <= 0.0:
            continue
        rate = min(max(1.0 - T[c, c], 0.0), 1.0)
        n_flip = _flip_count(rate, idx.size)
        if abs(n_flip / idx.size - rate) > _EXACT_RATE_TOLERANCE:
            off_target.append(f"{c} ({idx.size} samples: {n_flip / idx.size:.3g} "
                              f"instead of {rate:.3g})")
        if n_flip == 0:
            continue
        chosen = rng.choice(idx, size=n_flip, replace=False)
        noisy[chosen] = _sample_rows(off, n_flip, rng)
    if off_target:
        warnings.warn(
            "exact=True flips round(n_c * rate) labels of each class, but some "
            "classes are too small for the requested rate; realised flip rates of "
            f"the classes at positions {', '.join(off_target)}.",
            UserWarning,
            stacklevel=3,
        )
    return noisy


def _resolve_matrix(
    n_classes, noise_rate, kind, transition_matrix, n_targets, exact, rng
):
    """Validate the corruption parameters and return the transition matrix."""
    noise_rate = _check_noise_rate(noise_rate)
    kind = _check_kind(kind)
    n_targets = _check_int(n_targets, "n_targets", 1)
    _check_bool(exact, "exact")
    if transition_matrix is not None:
        T = check_transition_matrix(transition_matrix, n_classes=n_classes)
        _warn_if_matrix_uninformative(T)
        return T
    _warn_if_uninformative(noise_rate, kind, n_classes, n_targets, stacklevel=4)
    return _make_matrix(n_classes, noise_rate, kind, n_targets, rng)


def corrupt_labels(
    y,
    *,
    noise_rate=0.3,
    kind="random",
    transition_matrix=None,
    n_targets=10,
    exact=False,
    random_state=None,
):
    """Return a copy of ``y`` with class-conditional label noise.

    Classes are ``np.unique(y)`` in sorted order; a label of the ``i``-th
    class becomes the ``j``-th class with probability ``T[i, j]``, where
    ``T[i, j] = P(noisy label = j | true label = i)`` (rows sum to 1).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True class labels (ints, strings, ...), at least two classes.
    noise_rate : float, default=0.3
        Flip probability ``p`` in [0, 1] used to build ``T`` with
        :func:`make_transition_matrix`. Ignored if ``transition_matrix`` is
        given.
    kind : {"random", "symmetric", "pairflip", "sparse"}, default="random"
        Noise structure, see :func:`make_transition_matrix`. Ignored if
        ``transition_matrix`` is given.
    transition_matrix : array-like of shape (n_classes, n_classes), default=None
        Explicit ``T``, rows and columns in the order of ``np.unique(y)``;
        overrides ``noise_rate`` and ``kind``.
    n_targets : int, default=10
        Number of target classes per row for ``kind="sparse"``.
    exact : bool, default=False
        If False, each label of true class ``c`` is drawn from row ``c`` of
        ``T``, so the realised flip rate fluctuates around ``1 - T[c, c]``.
        If True, exactly ``round(n_c * (1 - T[c, c]))`` labels of class ``c``
        (halves rounded up) are chosen at random and flipped, their new label
        drawn from row ``c`` without its diagonal, renormalised. The realised
        rate of a class of ``n_c`` samples is then a multiple of ``1 / n_c``
        and can differ from the requested one by up to ``1 / (2 n_c)`` (0.667
        instead of 0.5 for 3 samples); a ``UserWarning`` names the classes
        where the difference exceeds 0.01.
    random_state : int, RandomState instance or None, default=None
        Controls the matrix and the corruption. Pass an int for reproducible
        output.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        Noisy labels with the dtype of ``y`` (string labels stay strings).

    Raises
    ------
    ValueError
        If ``y`` has fewer than two classes or a parameter is out of range.

    See Also
    --------
    NoisyLabelTransformer : The same as an estimator, with realised rates.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnaqc.noise import corrupt_labels
    >>> y = np.repeat(["cat", "dog", "fox"], 100)
    >>> y_noisy = corrupt_labels(y, noise_rate=0.2, exact=True, random_state=0)
    >>> y_noisy.dtype == y.dtype
    True
    >>> print(np.mean(y_noisy != y))
    0.2
    """
    y = _check_labels(y, min_classes=2)
    classes = np.unique(y)
    rng = check_random_state(random_state)
    T = _resolve_matrix(
        classes.shape[0], noise_rate, kind, transition_matrix, n_targets, exact, rng
    )
    codes = np.searchsorted(classes, y)
    noisy_codes = _corrupt_codes(codes, T, bool(exact), rng)
    return _decode(noisy_codes, classes, y)


class NoisyLabelTransformer(TransformerMixin, BaseEstimator):
    """Corrupt class labels with simulated class-conditional noise.

    ``fit(y)`` learns the classes and the transition matrix
    ``T[i, j] = P(noisy label = j | true label = i)`` (rows sum to 1, rows and
    columns in the order of ``classes_``); ``transform(y)`` returns noisy
    labels and records how much noise was actually injected.

    Unlike other transformers, ``fit`` and ``transform`` take the **labels**
    ``y`` as their first argument. A scikit-learn ``Pipeline`` never
    transforms ``y``, so do not put this transformer in a pipeline: corrupt
    the labels once, then fit any estimator on ``(X, y_noisy)``::

        y_noisy = NoisyLabelTransformer(noise_rate=0.3).fit_transform(y)
        clf.fit(X, y_noisy)

    Parameters
    ----------
    noise_rate : float, default=0.3
        Flip probability ``p`` in [0, 1] used to build ``T`` with
        :func:`make_transition_matrix`. Ignored if ``transition_matrix`` is
        given.
    kind : {"random", "symmetric", "pairflip", "sparse"}, default="random"
        Noise structure, see :func:`make_transition_matrix`; ``"random"`` is
        the paper's eq. (1). Ignored if ``transition_matrix`` is given.
    transition_matrix : array-like of shape (n_classes, n_classes), default=None
        Explicit ``T``, rows and columns in the order of ``np.unique(y)``;
        overrides ``noise_rate`` and ``kind``.
    n_targets : int, default=10
        Number of target classes per row for ``kind="sparse"``.
    exact : bool, default=False
        If False, each label of true class ``c`` is drawn from row ``c`` of
        ``T``. If True, exactly ``round(n_c * (1 - T[c, c]))`` labels of
        class ``c`` (halves rounded up) are flipped, with new labels drawn
        from row ``c`` without its diagonal, renormalised; the realised rate
        then equals the requested one up to this rounding (at most
        ``1 / (2 n_c)`` off; a ``UserWarning`` names the classes where the
        difference exceeds 0.01).
    random_state : int, RandomState instance or None, default=None
        Controls the matrix drawn in ``fit`` and the corruption. With an int,
        every ``transform`` call returns the same labels and ``fit_transform``
        matches :func:`corrupt_labels` with the same arguments.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels seen in ``fit``.
    transition_matrix_ : ndarray of shape (n_classes, n_classes)
        The matrix ``T`` used by ``transform``.
    flipped_mask_ : ndarray of shape (n_samples,), dtype bool
        For the last ``transform`` call, True where the noisy label differs
        from the true one.
    noise_rate_ : float
        For the last ``transform`` call, the realised fraction of flipped
        labels.
    class_noise_rates_ : ndarray of shape (n_classes,)
        For the last ``transform`` call, the realised flip rate of each class
        in ``classes_`` (NaN for a class absent from that ``y``).

    See Also
    --------
    corrupt_labels : Function form.
    make_transition_matrix : The noise structures.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnaqc.noise import NoisyLabelTransformer
    >>> y = np.repeat([3, 5, 9], 50)
    >>> noiser = NoisyLabelTransformer(noise_rate=0.2, kind="symmetric",
    ...                                exact=True, random_state=0)
    >>> y_noisy = noiser.fit_transform(y)
    >>> print(noiser.classes_, y_noisy.dtype == y.dtype)
    [3 5 9] True
    >>> print(noiser.noise_rate_, noiser.class_noise_rates_)
    0.2 [0.2 0.2 0.2]
    >>> int(noiser.flipped_mask_.sum())
    30
    """

    def __init__(
        self,
        noise_rate=0.3,
        kind="random",
        transition_matrix=None,
        n_targets=10,
        exact=False,
        random_state=None,
    ):
        self.noise_rate = noise_rate
        self.kind = kind
        self.transition_matrix = transition_matrix
        self.n_targets = n_targets
        self.exact = exact
        self.random_state = random_state

    def fit(self, y):
        """Learn the classes of ``y`` and the transition matrix.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            True class labels, at least two classes.

        Returns
        -------
        self : NoisyLabelTransformer
            Fitted transformer.
        """
        y = _check_labels(y, min_classes=2)
        self.classes_ = np.unique(y)
        rng = check_random_state(self.random_state)
        self.transition_matrix_ = _resolve_matrix(
            self.classes_.shape[0],
            self.noise_rate,
            self.kind,
            self.transition_matrix,
            self.n_targets,
            self.exact,
            rng,
        )
        # With an int seed, every transform continues the stream from here,
        # so repeated calls agree and the draws never reuse the matrix's.
        self._rng_state = (
            rng.get_state() if isinstance(self.random_state, numbers.Integral) else None
        )
        return self

    def _transform_rng(self):
        if self._rng_state is None:
            return check_random_state(self.random_state)
        rng = np.random.RandomState()
        rng.set_state(self._rng_state)
        return rng

    def transform(self, y):
        """Return noisy labels for ``y`` and record the realised noise.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            True class labels; all must have been seen in ``fit``.

        Returns
        -------
        y_noisy : ndarray of shape (n_samples,)
            Noisy labels with the dtype of ``y``.
        """
        check_is_fitted(self, "transition_matrix_")
        y = _check_labels(y, min_classes=1)
        codes = _encode(y, self.classes_)
        noisy_codes = _corrupt_codes(
            codes, self.transition_matrix_, bool(self.exact), self._transform_rng()
        )
        flipped = noisy_codes != codes
        n_classes = self.classes_.shape[0]
        counts = np.bincount(codes, minlength=n_classes)
        n_flipped = np.bincount(codes, weights=flipped, minlength=n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(counts > 0, n_flipped / np.maximum(counts, 1), np.nan)
        self.flipped_mask_ = flipped
        self.noise_rate_ = float(flipped.mean())
        self.class_noise_rates_ = rates
        return _decode(noisy_codes, self.classes_, y)

    def fit_transform(self, y):
        """Fit on ``y`` and return its noisy labels.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            True class labels, at least two classes.

        Returns
        -------
        y_noisy : ndarray of shape (n_samples,)
            Noisy labels with the dtype of ``y``.
        """
        return self.fit(y).transform(y)


# ---------------------------------------------------------------------------
# estimation
# ---------------------------------------------------------------------------


def check_proba(proba):
    """Validate predicted probabilities: a finite, non-negative float64 array of
    shape (n_samples, n_classes) with n_samples >= 1 and n_classes >= 2."""
    proba = _float64_array(proba, "proba")
    if proba.ndim != 2 or proba.shape[1] < 2 or proba.shape[0] < 1:
        raise ValueError(
            "proba must have shape (n_samples, n_classes) with n_samples >= 1 "
            f"and n_classes >= 2, got shape {proba.shape}"
        )
    if not np.all(np.isfinite(proba)) or np.any(proba < 0):
        raise ValueError("proba must contain finite, non-negative probabilities")
    return proba


def estimate_transition_matrix(proba, y_noisy=None, *, method="anchor", quantile=0.97):
    """Estimate ``T`` from a model's predicted noisy-label probabilities.

    Anchor-point estimator of forward loss correction (Patrini et al., 2017).
    A model trained on noisy labels predicts ``P(noisy = j | x)``, which is
    ``sum_i P(true = i | x) T[i, j]``. For an *anchor* of class ``i`` (a
    sample that surely belongs to class ``i``) this is exactly row ``i`` of
    ``T``. For each class ``i`` the anchor is taken as the sample whose
    ``proba[:, i]`` sits at the ``quantile`` of that column (the
    ``ceil(quantile * n_samples)``-th smallest value; ``quantile=1.0`` is the
    argmax, a lower quantile such as 0.97 skips outliers), and row ``i`` of
    the estimate is that sample's probability vector. Rows are renormalised
    to sum to 1.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities of the *noisy* labels, e.g.
        ``predict_proba`` of a classifier fitted on noisy labels, with
        columns in class order.
    y_noisy : array-like of shape (n_samples,), default=None
        Noisy labels of the same samples. Only used for validation: its
        length must be ``n_samples`` and it may hold at most ``n_classes``
        distinct labels. It does not change the estimate.
    method : {"anchor"}, default="anchor"
        Estimation method; only anchor points are available.
    quantile : float, default=0.97
        Quantile in (0, 1] of ``proba[:, i]`` used to pick the anchor of
        class ``i``.

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes), dtype float64
        Estimated ``T[i, j] = P(noisy label = j | true label = i)``; rows
        sum to 1.

    References
    ----------
    G. Patrini, A. Rozza, A. K. Menon, R. Nock and L. Qu, "Making deep neural
    networks robust to label noise: a loss correction approach", CVPR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnaqc.noise import estimate_transition_matrix
    >>> T = np.array([[0.8, 0.2], [0.3, 0.7]])
    >>> clean = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.9, 0.1]])
    >>> print(estimate_transition_matrix(clean @ T, quantile=1.0))
    [[0.8 0.2]
     [0.3 0.7]]
    """
    proba = check_proba(proba)
    if method != "anchor":
        raise ValueError(f"method must be one of 'anchor', got {_show(method)}")
    if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real):
        raise TypeError(f"quantile must be a real number in (0, 1], got {_show(quantile)}")
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile must be in (0, 1], got {_show(quantile)}")
    n_samples, n_classes = proba.shape
    if y_noisy is not None:
        y_noisy = column_or_1d(y_noisy, input_name="y_noisy")
        if y_noisy.shape[0] != n_samples:
            raise ValueError(
                f"y_noisy has {y_noisy.shape[0]} labels but proba has "
                f"{n_samples} rows"
            )
        n_labels = np.unique(y_noisy).shape[0]
        if n_labels > n_classes:
            raise ValueError(
                f"y_noisy has {n_labels} distinct labels but proba has only "
                f"{n_classes} columns"
            )

    rank = min(max(int(np.ceil(quantile * n_samples)) - 1, 0), n_samples - 1)
    T = np.empty((n_classes, n_classes), dtype=np.float64)
    for i in range(n_classes):
        order = np.argsort(proba[:, i], kind="stable")
        T[i] = proba[order[rank]]
    sums = T.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise ValueError(
            "proba: the anchor sample of some class has all-zero probabilities; "
            "cannot normalise its row"
        )
    return T / sums


# ---------------------------------------------------------------------------
# plotting
# ---------------------------------------------------------------------------


def plot_transition_matrix(T, *, ax=None, class_names=None, cmap="Blues", annotate=True):
    """Draw a transition matrix as a heatmap.

    Rows are true labels and columns noisy labels:
    ``T[i, j] = P(noisy label = j | true label = i)``.

    Parameters
    ----------
    T : array-like of shape (n_classes, n_classes)
        Row-stochastic transition matrix.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created if None.
    class_names : sequence of str, default=None
        Tick labels, one per class, in the row order of ``T``. If None, class
        indices are shown (ticks are dropped above 30 classes).
    cmap : str or Colormap, default="Blues"
        Colormap; the colour scale spans [0, 1].
    annotate : bool, default=True
        Write each cell's value (two decimals). Set False for many classes.

    Returns
    -------
    ax : matplotlib Axes
        The axes holding the heatmap.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install "sknnaqc[plot]"``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sknnaqc.noise import make_transition_matrix, plot_transition_matrix
    >>> T = make_transition_matrix(3, 0.2, kind="pairflip")
    >>> ax = plot_transition_matrix(T, class_names=["a", "b", "c"])
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('noisy label', 'true label')
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plot_transition_matrix needs matplotlib; install it with "
            'pip install "sknnaqc[plot]"'
        ) from exc
    T = check_transition_matrix(T)
    L = T.shape[0]
    if class_names is not None:
        class_names = [str(name) for name in class_names]
        if len(class_names) != L:
            raise ValueError(
                f"class_names must have {L} entries to match transition_matrix, "
                f"got {len(class_names)}"
            )
    if ax is None:
        _, ax = plt.subplots()
    image = ax.imshow(T, cmap=cmap, vmin=0.0, vmax=1.0)
    ax.figure.colorbar(image, ax=ax)
    if class_names is not None or L <= 30:
        labels = class_names if class_names is not None else [str(i) for i in range(L)]
        ax.set_xticks(np.arange(L), labels=labels)
        ax.set_yticks(np.arange(L), labels=labels)
    ax.set_xlabel("noisy label")
    ax.set_ylabel("true label")
    if annotate:
        for i in range(L):
            for j in range(L):
                ax.text(
                    j,
                    i,
                    f"{T[i, j]:.2f}",
                    ha="center",
                    va="center",
                    color="white" if T[i, j] > 0.5 else "black",
                )
    return ax
