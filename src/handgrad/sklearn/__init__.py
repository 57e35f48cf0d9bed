"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` on handgrad's hand-written backward pass.

Change one import and a scikit-learn script runs on handgrad::

    from handgrad.sklearn import MLPClassifier      # was: from sklearn.neural_network import …

Every parameter, fitted attribute, method and error of scikit-learn's two
estimators is here with the same meaning: the solvers "lbfgs", "sgd" and
"adam"; ``learning_rate`` "constant", "invscaling" and "adaptive" with
``power_t``; ``momentum`` and ``nesterovs_momentum``; ``alpha``;
``sample_weight`` in ``fit`` and ``partial_fit``; binary, multiclass and
multilabel classification; single and multi-output regression with the
squared error or the Poisson deviance; SciPy sparse input; ``warm_start``;
``partial_fit``; early stopping on a validation split; the stopping rule
(``tol``, ``n_iter_no_change``); ``verbose``; feature names;
``ConvergenceWarning``; the parameter validation. scikit-learn's own test
file for these estimators passes against them.

**The same random_state, the same run.** An int or a ``RandomState`` draws
what scikit-learn draws, in its order: the initial weights, the early-stopping
split, every epoch's shuffle. So ``fit`` ends with scikit-learn's weights
(in float64, "sgd" and "adam" agree to about 1e-15 relative after hundreds of
epochs; "lbfgs" reaches its loss). Pass a ``numpy.random.Generator`` instead
to have handgrad's own draws (``randomness`` says what each draws).

How it is built: the network is handgrad's ``MLP`` (``model_``; ``network``),
its gradient ``MLP.backward``'s. ``handgrad.train.train`` runs the epochs —
shuffling, mini-batches, sample weights, a diverging loss, Ctrl-C — and the
estimator does scikit-learn's bookkeeping after each (``base``). The loss is
handgrad's where it is scikit-learn's, with scikit-learn's terms where they
differ (``losses``); "sgd" and "adam" are scikit-learn's own update rules,
written as handgrad optimizers (``rules``); "lbfgs" is SciPy's L-BFGS-B
(``lbfgs``); ``backend`` runs a fit on a twin (``backends``).

What scikit-learn's estimators cannot do, opt-in (the defaults are scikit-learn's):

    dropout=0.2                   inverted dropout after every hidden activation
    norm="batch" | "layer" | "rms"    a norm between every hidden linear map and its activation
    activation="gelu" | "gelu_tanh" | "silu" | "swish" | "leaky_relu"    besides scikit-learn's
                                  four: every hidden activation of handgrad.nn.ACTIVATIONS
    solver="adamw" | "momentum" | "nesterov"    a handgrad optimizer, defined as PyTorch
                                  defines it: every other name of handgrad.optim.OPTIMIZERS
                                  (``weight_decay``; ``momentum``, ``beta_1``, ``beta_2`` and
                                  ``epsilon`` carry over)
    learning_rate="cosine" | "step"    a schedule of handgrad.optim.SCHEDULES over max_iter
                                  epochs (cosine: down to 0; step: a tenth every third)
    warmup_steps=100              a linear warm-up over the first steps (handgrad.optim.Warmup)
    dtype=np.float32              train and predict in float32 whatever the input's dtype
    backend="torch" | "mlx"       the same network and rules on PyTorch (CUDA when available) or MLX
    validation_loss_curve_        the held-out loss of every epoch beside ``loss_curve_``
    random_state=np.random.default_rng(0)    handgrad's draws instead of scikit-learn's

Two conventions differ between scikit-learn and PyTorch; these estimators use
scikit-learn's, handgrad.optim (and ``solver="adamw"``) PyTorch's: momentum
(scikit-learn keeps the learning rate inside the velocity) and Adam's ε
(scikit-learn adds it before the bias correction). ``rules`` has the formulas.

Other things to know:

- ``coefs_[i]`` is (n_in, n_out) as in scikit-learn, a transposed view of
  handgrad's (n_out, n_in) weight (``z = x @ W.T + b``). Writing into it, or
  assigning ``coefs_``, ``coefs_[i]``, ``intercepts_`` or ``intercepts_[i]``,
  writes into the network. A norm's γ and β live in ``model_.params``.
- ``random_state=None`` draws fresh numbers every fit from the operating
  system, never from NumPy's global state (scikit-learn's None reads that
  global state, which ``np.random.seed`` sets).
- For several regression outputs scikit-learn reports the squared error
  averaged over the outputs but steps along the gradient of their sum; so
  does this estimator (then runs agree), and "lbfgs" minimizes the sum (the
  function whose gradient it gets) while ``loss_`` reports the mean.
- ``n_iter_`` counts the epochs of the last call: 1 after ``partial_fit``, as
  in scikit-learn; ``t_`` counts every example seen. ``loss_curve_`` is also
  kept for "lbfgs" (the loss after each iteration).
- X keeps its dtype as in scikit-learn (float32 stays float32, anything else
  becomes float64) unless ``dtype`` says otherwise; weights and outputs follow.
- Sparse X (CSR, CSC; matrices or arrays) is never made dense: each batch's
  first-layer product touches only the columns it uses
  (``handgrad.nn.SparseLinear``).
- The early-stopping split is stratified where scikit-learn's is (two
  classes, with scikit-learn's error when a class has a single example); with
  a Generator for ``random_state``, for every single-label classifier.
- ``partial_fit`` exists for the stochastic solvers only, as scikit-learn
  documents (scikit-learn 1.9's ``MLPRegressor`` offers it with "lbfgs" too,
  and then runs a whole L-BFGS fit).
- A loss that turns NaN or infinite stops training at once. Without early
  stopping that is scikit-learn's ``ValueError``, with the weights of the
  start of that epoch put back, so the estimator still predicts and trains
  (scikit-learn's is left holding NaNs). With early stopping it is no error,
  as in scikit-learn: the epoch scores NaN, the best weights are kept, and a
  ``ConvergenceWarning`` says where it stopped (scikit-learn trains on with
  NaN weights until ``max_iter``).
- Ctrl-C stops training with the weights of the last whole epoch and warns
  "Training interrupted by user." (scikit-learn keeps those of the last step).
- ``sample_weight`` must be non-negative; a mini-batch whose weights are all
  zero is skipped (it carries no gradient). The twins (``backend="torch"`` or
  "mlx") take no ``sample_weight`` and no Poisson loss; "lbfgs" runs in NumPy.
"""

from .estimators import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
