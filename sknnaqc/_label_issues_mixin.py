"""``LabelIssuesMixin``: label-issue methods shared by every sknnaqc estimator.

Thin wrappers around :mod:`sknnaqc.label_issues`: they compute the clean
branch's probabilities (from the fitted estimator, or out of fold with
``cv``), map the given labels to class indices through ``classes_`` and call
the functional core.
"""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted
from torch.utils.data import Dataset

from . import label_issues as core

__all__ = ["LabelIssuesMixin"]


class LabelIssuesMixin:
    """Adds ``label_quality_scores``, ``find_label_issues`` and ``estimate_noise``.

    Needs ``fit``, ``predict_proba`` and ``classes_`` from the class it is
    mixed into. With ``cv=None`` the fitted estimator's clean-branch
    probabilities on ``X`` are used: one fit, no extra training. With ``cv``
    (an int, a scikit-learn splitter or an iterable of splits) a clone of the
    estimator is fitted on each training fold and predicts its held-out fold
    (``k`` extra fits; the estimator itself is left as it is and need not be
    fitted).
    """

    def _label_proba(self, X, y, cv):
        """Return ``(proba, label indices)`` for the given labels ``y``."""
        if isinstance(X, Dataset):
            raise TypeError(
                "X must be an array-like here (a torch Dataset is not supported by the "
                "label-issue methods); pass the inputs as an array and the labels as y."
            )
        if y is None:
            raise ValueError("y (the given labels to check) is required; got None.")
        y = np.asarray(y) if not hasattr(y, "iloc") else y.to_numpy()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per sample); got shape {y.shape}.")
        n_X = X.shape[0] if hasattr(X, "shape") else len(X)
        if len(y) != n_X:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: X has {n_X}, y has {len(y)}."
            )
        if cv is None:
            check_is_fitted(self, "net_")
            classes = self.classes_
        else:
            fitted = hasattr(self, "net_") and hasattr(self, "classes_")
            classes = self.classes_ if fitted else np.unique(y)
        codes = _encode(y, classes)
        if cv is None:
            return self.predict_proba(X), codes
        return self._cross_fit_proba(X, y, classes, cv), codes

    def _cross_fit_proba(self, X, y, classes, cv):
        splitter = check_cv(cv, y, classifier=True)
        proba = np.full((len(y), len(classes)), np.nan)
        for train, test in splitter.split(X, y):
            est = clone(self).fit(_safe_indexing(X, train), y[train])
            fold = est.predict_proba(_safe_indexing(X, test))
            block = np.zeros((len(test), len(classes)))
            block[:, np.searchsorted(classes, est.classes_)] = fold
            proba[test] = block
        if np.isnan(proba).any():
            raise ValueError(
                "cv must put every sample in exactly one test fold (a partition of the "
                "samples, as KFold and StratifiedKFold do); some samples were never "
                "predicted."
            )
        return proba

    def label_quality_scores(self, X, y, *, method="posterior", cv=None):
        """Score each given label: in [0, 1], low means likely wrong.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs.
        y : array-like of shape (n_samples,)
            Given labels, values from ``classes_``.
        method : {"posterior", "self_confidence", "normalized_margin"}, \
default="posterior"
            Scoring rule of :func:`sknnaqc.label_issues.label_quality_scores`.
            ``"posterior"`` is the probability that the given label is the
            true one, using the transition matrix estimated from the same
            probabilities (:meth:`estimate_noise`); ``"self_confidence"`` is
            the clean branch's probability of the given label.
        cv : int, cross-validation splitter, iterable or None, default=None
            None scores with this fitted estimator. Otherwise out-of-fold
            probabilities from clones fitted on the training folds
            (:func:`sklearn.model_selection.check_cv`; an int gives
            ``StratifiedKFold``).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        proba, codes = self._label_proba(X, y, cv)
        return core.label_quality_scores(proba, codes, method=method)

    def find_label_issues(self, X, y, *, num_issues=None, frac=None, threshold=None,
                          return_indices_ranked=False, method="posterior",
                          filter_by="per_class", cv=None):
        """Flag the samples whose given label is likely wrong.

        With no ``num_issues``, ``frac`` or ``threshold``, the number of
        wrong labels is estimated from the data (no noise rate needs to be
        known); see :func:`sknnaqc.label_issues.find_label_issues`.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs.
        y : array-like of shape (n_samples,)
            Given labels, values from ``classes_``.
        num_issues : int, default=None
            Flag this many samples (lowest scores); in [0, n_samples].
        frac : float, default=None
            Flag this fraction of the samples; in [0, 1].
        threshold : float, default=None
            Flag the samples whose score is below it; in [0, 1].
        return_indices_ranked : bool, default=False
            Return the flagged indices, most suspicious first, instead of a
            boolean mask.
        method : str, default="posterior"
            Scoring rule; see :meth:`label_quality_scores`.
        filter_by : {"per_class", "off_diagonal"}, default="per_class"
            Default rule when no number, fraction or threshold is given.
        cv : int, cross-validation splitter, iterable or None, default=None
            As in :meth:`label_quality_scores`.

        Returns
        -------
        issues : ndarray of bool of shape (n_samples,), or ndarray of int
        """
        proba, codes = self._label_proba(X, y, cv)
        return core.find_label_issues(
            proba, codes, method=method, filter_by=filter_by, num_issues=num_issues,
            frac=frac, threshold=threshold, return_indices_ranked=return_indices_ranked)

    def estimate_noise(self, X, y, *, cv=None):
        """Estimate the transition matrix of the given labels and their noise rate.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs.
        y : array-like of shape (n_samples,)
            Given labels, values from ``classes_``.
        cv : int, cross-validation splitter, iterable or None, default=None
            As in :meth:`label_quality_scores`.

        Returns
        -------
        transition_matrix : ndarray of shape (n_classes, n_classes)
            ``T[i, j] = P(given = j | true = i)``, rows and columns in the
            order of ``classes_``.
        noise_rate : float
            Estimated fraction of wrong labels.
        """
        proba, codes = self._label_proba(X, y, cv)
        return core.estimate_noise(proba, codes)


def _encode(y, classes):
    """Class indices of ``y`` in ``classes``; error naming unseen labels."""
    classes = np.asarray(classes)
    try:
        unseen = np.setdiff1d(np.unique(y), classes)
    except TypeError as exc:
        raise ValueError(f"y holds labels that cannot be compared with classes_: {exc}") from exc
    if unseen.size:
        shown = unseen[:5].tolist()
        raise ValueError(
            f"y contains labels not seen in fit: {shown}{' ...' if unseen.size > 5 else ''}; "
            f"the estimator knows classes_ = {classes.tolist()}."
        )
    return np.searchsorted(classes, y).astype(np.int64)
