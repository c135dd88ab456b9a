"""The library behind the book: one module per concept, numpy first.

Import the modules you need, e.g. ``from rnnbook import rnn``. The numpy modules work without torch;
only ``rnnbook.reference`` (torch mirrors of the equations, the autograd oracle), ``rnnbook.torchnn``
(weights to and from torch.nn.GRU and torch.nn.RNN), ``rnnbook.bridge`` (the numpy GRU inside torch
training) and ``rnnbook.train`` (trainable models and the training loop) and ``rnnbook.shortcut`` (Chapter 4's
measurements during training) and ``rnnbook.shakespeare`` (Chapter 6's language models) import it, and
only when they are imported.

Conventions, followed by every module:

- Arrays are time-major: inputs x (T, B, K), states V (T+1, B, N) with V[0] the initial state,
  targets y (T, B, M) or (B, M). Weights are stored as in the equations, w_vv[i, j] = w_ij^(vv).
- Parameters: the arrays of one equation are passed by name, ``rnn.rnn_forward(x, w_vv, w_vx,
  theta_v)``, and returned as a tuple in that order (``rnn.random_weights``); a whole model (a
  network with its readout, a GRU cell's nine arrays) is one dict ``params`` keyed by the
  equations' names, passed and returned as such (``bptt.gradients``, ``gru.init_params``).
- Sizes come in the order the data flows, inputs first, as torch's (input_size, hidden_size):
  (K, N) or (K, N, M), e.g. ``gru.init_params(K, N, ...)``, ``train.make_model(cell, K, N, M, ...)``.
- Seeds: whatever draws random numbers takes ``seed`` as a keyword-only argument without a default,
  so that a result depends on nothing hidden: ``tasks.adding_problem(T, B, seed=0)``. The training
  loop calls a task as ``task(seed=...)``. One exception: ``train.SequenceModel(..., seed=None)``
  draws its readout from torch's global generator, as torch.nn modules do (``make_model`` uses it
  so inside its own seeded stream); the None must be written out.
- dtype: what computes keeps the floating dtype of its inputs (float32 in, float32 out; integer
  input counts as float64; mixed inputs promote as numpy does). What makes arrays (initialisers,
  tasks, the readers of ``torchnn``) makes float64; initialisers take ``dtype`` for another.
  Measurements (``diagnostics``, ``rnn.lyapunov_exponent``, ``gradcheck``) work and answer in
  float64 whatever the input: a gradient that shrinks geometrically underflows float32 (it would
  read as exactly zero), and finite differences need the digits. Torch modules are float32, as
  torch's, unless given ``dtype``; the oracle ``reference`` works in float64 (``as_tensor``).
- Bad input raises ValueError or TypeError naming the argument.
"""
