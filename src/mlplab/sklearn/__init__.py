"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

Drop-in where scikit-learn's own MLP goes (Pipeline, GridSearchCV,
cross_val_score, clone, pickle), trained by mlplab's engine. scikit-learn's
solver names mean scikit-learn's algorithms: "sgd" is its mini-batch SGD with
(Nesterov) momentum and ``learning_rate`` constant / invscaling / adaptive,
"adam" is Adam on mini-batches, "lbfgs" is scipy's L-BFGS-B on the full-batch
objective. On top, what scikit-learn's MLP lacks: GD with exact or Armijo line
search ("gd"), the lecture's per-sample SGD ("lecture_sgd"), per-step schedules
γ_k, mlplab's momentum form ("momentum"), per-layer activations, the lecture's
losses, class weights, a gradient-norm stopping rule and the engine's history
(‖∇E‖, step sizes, cost, per-layer gradient norms) in ``history_``.

The objective is scikit-learn's: for a block B (all samples for gd/lbfgs),

    E_B(w) = (1/Σ_{s∈B} c_s) [ Σ_{s∈B} c_s f e(y^s, ŷ^s) + (alpha/2) Σ_ℓ ‖W^ℓ‖²_F ]

with c_s the sample (times class) weights (1 without), e the chosen loss and
f = 1/(2k) for the regressor's default loss "squared_error" (scikit-learn's
½·mean over the k outputs of (y_i − ŷ_i)², on mlplab's Σ_i (y_i − ŷ_i)²) and 1
otherwise (the cross-entropies are scikit-learn's log-loss already; an explicit
loss="squared" keeps the lecture's Σ_i (y_i − ŷ_i)²). ``loss_``, ``loss_curve_``
and ``best_loss_`` are this E, on scikit-learn's scale. Biases are not penalised.
With k > 1 outputs scikit-learn's gradient is that of ½Σ_i (it back-propagates
ŷ − y), k times its reported loss's: "sgd", "adam" and "lbfgs" step along that
gradient, as scikit-learn's (same weights, same R²), while mlplab's own solvers
("gd" with its line searches, "minibatch", "momentum", "lecture_sgd")
differentiate the loss they report. For k = 1 the two are the same function.
Likewise the classifier's E for "sgd", "adam" and "lbfgs" is scikit-learn's
log-loss value, computed from the probabilities clipped to [eps, 1 − eps] (it
differs from the exact cross-entropy only on saturated outputs, where L-BFGS-B's
line search and the stopping rules then decide as scikit-learn's do).
"sgd" and "adam" are scikit-learn's loop (each block's E_B and penalty over its
own |B| rows, the last block included); mlplab's own solvers run through
:func:`mlplab.train` with the penalty divided by the nominal batch size (the
mean weight times it).

X may be sparse (SciPy CSR/CSC matrices or arrays) for fit, partial_fit and every
prediction method, with every solver: layer 1's products Z^1 = X (W^1)ᵀ and
∇_{W^1} = (Xᵀ dZ^1)ᵀ go through scipy.sparse and the data are never densified
(:mod:`mlplab.network`). Initial weights are scikit-learn's by default
(``init="sklearn"``: W and b uniform in ±√(f/(N_{ℓ−1} + N_ℓ)), f = 2 for the
logistic activation, else 6).

scikit-learn is imported only by this module: ``import mlplab`` does not load it.
"""

from mlplab.sklearn.compat import SOLVERS
from mlplab.sklearn.estimators import MLPClassifier, MLPRegressor
from mlplab.sklearn.restore import restore_estimator


__all__ = ["MLPClassifier", "MLPRegressor", "SOLVERS", "restore_estimator"]
