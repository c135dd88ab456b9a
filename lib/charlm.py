"""The character-level language model of Chapter 6, in numpy: a GRU that reads a text one character
at a time and predicts the next one, with its learning rule.

A text is a sequence of ids 0..K-1, the characters' positions in the vocabulary
(``rnnbook.text.encode``). The model reads x(t), the one-hot code of character t, into the GRU of
eqs. (9.30a-d) in the variant "after" (torch.nn.GRU's placement of the reset gate, so that weights
trained by torch load through ``torchnn.gru_params_from_torch``), reads out one score per
character, O(t) = w_ov V(t) - theta_o (``rnn.output_forward``, M = K), and is scored by the
cross-entropy of the next character y(t): H = -(1/TB) sum_t,b ln p_y(t)(t) with p = softmax(O).
Its gradient dH/dO = (p - onehot(y)) / TB takes the place of the quadratic energy's O - y: the
rest of the learning rule, through the readout and the GRU, is that of Chapters 2 and 4.

Parameters are ONE dict ``params``: the GRU's arrays under ``gru.param_names("after")`` and the
readout's ``w_ov`` (K, N) and ``theta_o`` (K,) (``PARAMS``). Ids are integer arrays, time-major:
x_ids and y_ids (T, B); a single text (a prompt, the sequence of a gradient measurement) is 1-D.
What computes keeps the params' dtype (the one-hot inputs take it); the measurements of the
gradient against lag work in float64, as ``rnnbook.diagnostics`` does.
"""
import numpy as np

from . import activations, bptt, diagnostics, gru, rnn, text
from ._validate import (ArgumentTypeError, array_arg, cache_arg, dict_arg, entry,
                        flag_arg, number_arg, positive_int, seed_arg)

__all__ = ["GRU_PARAMS", "PARAMS", "RNN_PARAMS", "cross_entropy_forward",
           "cross_entropy_backward", "lm_forward", "lm_backward", "loss_and_gradients", "init_params", "evaluate",
           "next_char_probabilities", "generate", "state_gradient_norms",
           "rnn_state_gradient_norms"]

GRU_PARAMS = gru.param_names("after")
PARAMS = GRU_PARAMS + ("w_ov", "theta_o")
# the plain RNN's language model, for the comparison of the gradient against lag
RNN_PARAMS = bptt.PARAMS
_READOUT_DIMS = {"w_ov": ("K", "N"), "theta_o": ("K",)}   # M = K: one score per character
_RNN_DIMS = {"w_vv": ("N", "N"), "w_vx": ("N", "K"), "theta_v": ("N",), **_READOUT_DIMS}


def cross_entropy_forward(O, y_ids):
    """Cross-entropy of the next character: H = -mean ln p_y, p = softmax(O).

    Shapes: O (T, B, M) scores, y_ids (T, B) ids in [0, M). Returns (H, cache):
    H a float, nats per character, computed with the log-sum-exp so that no
    exp overflows; the cache holds p for cross_entropy_backward.
    """
    O, y_ids = _cross_entropy_args(O, y_ids)
    shifted = O - O.max(axis=-1, keepdims=True)     # <= 0: exp <= 1
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p_y = np.take_along_axis(log_p, y_ids[..., None], axis=-1)
    return -float(log_p_y.mean()), {"p": np.exp(log_p), "y_ids": y_ids}


def cross_entropy_backward(cache):
    """Eq. (6.4), dH/dO = (p - onehot(y)) / (T B): the gradient p - y
    where the quadratic energy (2.6) had O - y.

    ``cache`` from cross_entropy_forward. Returns dO (T, B, M).
    """
    p, y_ids = _cross_entropy_cache(cache)
    T, B, M = p.shape
    # each of the T B positions weighs 1 / (T B) in the mean H
    return (p - text.one_hot(y_ids, M, p.dtype)) / (T * B)


def lm_forward(x_ids, params, v0=None):
    """The model: one-hot x(t) -> GRU (9.30a-d) -> O(t) = w_ov V(t) - theta_o.

    Shapes: x_ids (T, B) ids in [0, K), params as in the module docstring,
    v0 (B, N) or None for zeros. Returns O (T, B, K) in the params' dtype and
    a cache for lm_backward (its "gru" entry holds the states V).
    """
    sizes = {}
    p = _params_arg("params", params, sizes)
    x_ids = _ids_arg("x_ids", x_ids, ("T", "B"), sizes)
    v0 = _v0_arg(v0, sizes)
    return _lm_forward(x_ids, p, v0)


def _lm_forward(x_ids, p, v0):
    """lm_forward on validated arguments."""
    K = p["w_ov"].shape[0]
    x = text.one_hot(x_ids, K, p["w_ov"].dtype)
    gru_p = {name: p[name] for name in GRU_PARAMS}
    V, gru_cache = gru.gru_forward(x, gru_p, v0, variant="after")
    O, out_cache = rnn.output_forward(V, p["w_ov"], p["theta_o"])
    return O, {"gru": gru_cache, "readout": out_cache}


def lm_backward(dO, cache):
    """The learning rule of the model: backpropagation through the readout,
    then through time in the GRU. No clipping.

    Shapes: dO = dH/dO (T, B, K), e.g. from cross_entropy_backward; ``cache``
    from lm_forward. Returns grads for every parameter and "v0" (B, N).
    """
    cache = _lm_cache(cache)
    # eqs. (2.7), (2.8): dV(t) = w_ov^T dO(t) for t >= 1, zero at t = 0
    dV, grads = bptt.output_backward(dO, cache["readout"])
    gru_grads = gru.gru_backward(dV, cache["gru"])
    grads.update({k: gru_grads[k] for k in GRU_PARAMS + ("v0",)})
    return grads


def loss_and_gradients(x_ids, y_ids, params, v0=None):
    """One chunk of truncated BPTT: H, all its gradients, and V(T) to carry.

    Shapes: x_ids, y_ids (T, B) ids in [0, K), y_ids the characters that
    follow; v0 (B, N) or None for zeros, e.g. the V_last of the previous
    chunk. Returns (H, grads, V_last): grads as lm_backward's, with "v0";
    V_last = V(T) (B, N).
    """
    sizes = {}
    p = _params_arg("params", params, sizes)
    x_ids = _ids_arg("x_ids", x_ids, ("T", "B"), sizes)
    y_ids = _ids_arg("y_ids", y_ids, ("T", "B"), sizes)
    O, cache = _lm_forward(x_ids, p, _v0_arg(v0, sizes))
    H, ce_cache = cross_entropy_forward(O, y_ids)
    grads = lm_backward(cross_entropy_backward(ce_cache), cache)
    # a copy: the next chunk's v0 need not keep this chunk's V alive
    return H, grads, cache["gru"]["V"][-1].copy()


def init_params(K, N, *, seed, dtype=np.float64):
    """Random parameters: the GRU as ``gru.init_params(K, N, "after", seed=seed)`` (torch.nn.GRU's
    initialisation) and the readout as torch.nn.Linear(N, K)'s, w_ov (K, N) and theta_o (K,)
    uniform in [-1/sqrt(N), 1/sqrt(N)], drawn from the same seed's stream after the GRU's arrays.
    Returns a dict of arrays drawn in float64 and given ``dtype``.
    """
    params = gru.init_params(K, N, "after", seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    # one double per entry: skipping that many draws continues gru.init_params's stream
    rng.random(sum(a.size for a in params.values()))
    bound = 1 / np.sqrt(N)
    params["w_ov"] = rng.uniform(-bound, bound, size=(K, N)).astype(dtype, copy=False)
    params["theta_o"] = rng.uniform(-bound, bound, size=K).astype(dtype, copy=False)
    return params


def evaluate(params, ids, *, B, T, carry=True):
    """The validation loss: the mean cross-entropy, in nats per character, of the text ``ids``
    (1-D) read as ``text.chunks(ids, B, T)``, B streams of chunks of T steps, with the state
    carried from chunk to chunk (zeros at the start), or with ``carry=False`` reset to zeros at
    the start of every chunk. The tail that does not fill whole chunks is left out, as in
    training. Returns a float.
    """
    sizes = {}
    p = _params_arg("params", params, sizes)
    ids = _ids_arg("ids", ids, ("L",), sizes)
    carry = flag_arg("carry", carry)
    x_chunks, y_chunks = text.chunks(ids, B, T)
    v0, total = None, 0.0
    for x_ids, y_ids in zip(x_chunks, y_chunks):
        O, cache = _lm_forward(x_ids, p, v0)
        total += cross_entropy_forward(O, y_ids)[0]
        v0 = cache["gru"]["V"][-1] if carry else None
    # every chunk holds T B characters: the mean of the chunks' means is the mean
    return total / len(x_chunks)


def next_char_probabilities(params, prompt_ids):
    """p(next character | prompt): the softmax of O after reading ``prompt_ids`` (1-D, from the
    zero state). Returns p (K,) in the params' dtype."""
    sizes = {}
    p = _params_arg("params", params, sizes)
    prompt_ids = _ids_arg("prompt_ids", prompt_ids, ("T",), sizes)
    O, _ = _lm_forward(prompt_ids[:, None], p, None)
    return text.softmax(O[-1, 0])


def generate(params, prompt_ids, n, *, temperature, seed):
    """Sample a text: read the prompt, then draw n characters one at a time,
    each fed back in as the next input. Temperature 0 is greedy (argmax).

    Shapes: prompt_ids (T,) ids in [0, K), read from the zero state.
    Draws with text.sample_next from np.random.default_rng(seed).
    Returns the n new ids (n,), int64.
    """
    sizes = {}
    p = _params_arg("params", params, sizes)
    prompt_ids = _ids_arg("prompt_ids", prompt_ids, ("T",), sizes)
    n = positive_int("n", n)
    temperature = number_arg("temperature", temperature, low=0.0,
                             what="a temperature")
    rng = np.random.default_rng(seed_arg("seed", seed))
    O, cache = _lm_forward(prompt_ids[:, None], p, None)
    O, V = O[-1], cache["gru"]["V"][-1]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = text.sample_next(O, temperature, rng=rng)[0]
        if i + 1 < n:           # the new character is the next input
            O, V = _step(out[i], V, p)
    return out


def _step(x_id, V, p):
    """One step of the model, eqs. (9.30a-d) "after" and the readout, on the
    character x_id, without the checks of lm_forward (generate's loop): the
    one-hot x(t) picks column x_id of each w_*x. V (B, N) -> (O, V(t))."""
    sigmoid = activations.get("sigmoid").g
    # the sums in gru_forward's order, so that both give the same numbers
    a_z, a_r, a_h = (p[f"w_{q}x"][:, x_id] - p[f"theta_{q}"] for q in "zrh")
    z = sigmoid(a_z + V @ p["w_zv"].T)                        # (9.30a)
    r = sigmoid(a_r + V @ p["w_rv"].T)                        # (9.30b)
    h = np.tanh(a_h + r * (V @ p["w_hv"].T - p["theta_hv"]))  # (9.30c)
    V = (1 - z) * h + z * V                                   # (9.30d)
    return V @ p["w_ov"].T - p["theta_o"], V


def state_gradient_norms(params, x_ids, y_ids):
    """The gradient against lag on text: ||dH(T)/dV(t)|| for t = 0..T, with H(T) = -ln p_y(T)(T)
    the cross-entropy of the LAST character only, through the GRU ("V" of ``gru.gru_backward``).

    Shapes: x_ids and y_ids (T,), one sequence (only y_ids[T-1] enters H(T)), read from the zero
    state. Returns norms (T+1,) in float64 whatever the params' dtype; norms[t] is at lag T - t.
    """
    sizes = {}
    p = _params_arg("params", params, sizes)
    x_ids = _ids_arg("x_ids", x_ids, ("T",), sizes)
    y_ids = _ids_arg("y_ids", y_ids, ("T",), sizes)
    # a measurement: float64, so that a vanishing gradient does not underflow float32
    p = {k: a.astype(np.float64) for k, a in p.items()}
    O, cache = _lm_forward(x_ids[:, None], p, None)
    dV = np.zeros_like(cache["gru"]["V"])
    dV[-1] = _last_char_gradient(O[-1], y_ids[-1], p["w_ov"])
    return diagnostics._norm(gru.gru_backward(dV, cache["gru"])["V"][:, 0])


def rnn_state_gradient_norms(params_rnn, x_ids, y_ids):
    """``state_gradient_norms`` for the plain RNN's language model: one-hot x(t) -> eq. (1.1) with
    tanh -> O(t) = w_ov V(t) - theta_o, through ``diagnostics.state_gradients``.

    ``params_rnn`` holds w_vv (N, N), w_vx (N, K), theta_v (N,), w_ov (K, N) and theta_o (K,)
    (``RNN_PARAMS``). Shapes and result as ``state_gradient_norms``: (T+1,), float64.
    """
    sizes = {}
    dict_arg("params_rnn", params_rnn, RNN_PARAMS, what="a dict of arrays of the RNN and its "
             "readout")
    p = {k: array_arg(entry("params_rnn", k), params_rnn[k], dims, sizes).astype(np.float64)
         for k, dims in _RNN_DIMS.items()}
    x_ids = _ids_arg("x_ids", x_ids, ("T",), sizes)
    y_ids = _ids_arg("y_ids", y_ids, ("T",), sizes)
    x = text.one_hot(x_ids[:, None], sizes["K"], np.float64)
    V, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], g="tanh")
    O_T = V[-1] @ p["w_ov"].T - p["theta_o"]
    dV_T = _last_char_gradient(O_T, y_ids[-1], p["w_ov"])
    return diagnostics._norm(diagnostics.state_gradients(cache, dV_T)[:, 0])


def _last_char_gradient(O_T, y_T, w_ov):
    """dH(T)/dV(T) (1, N) for H(T) = -ln p_y(T) with p = softmax(O(T)), O_T (1, K)."""
    _, cache = cross_entropy_forward(O_T[None], np.array([[y_T]]))
    return cross_entropy_backward(cache)[0] @ w_ov


def _params_arg(name, params, sizes):
    """Validate the model's parameters (module docstring) and give them one floating dtype."""
    dict_arg(name, params, PARAMS,
             what="a dict of arrays: the 'after' GRU's and the readout's w_ov, theta_o")
    dims = {**{k: gru.param_dims(k) for k in GRU_PARAMS}, **_READOUT_DIMS}
    p = {k: array_arg(entry(name, k), params[k], dims[k], sizes) for k in PARAMS}
    dtype = np.result_type(*p.values())
    return {k: a.astype(dtype, copy=False) for k, a in p.items()}


def _v0_arg(v0, sizes):
    return None if v0 is None else array_arg("v0", v0, ("B", "N"), sizes)


def _ids_arg(name, value, dims, sizes, K=None):
    """``value`` as an int64 array of ids with the named axes ``dims`` (as ``array_arg``), each in
    [0, K) with K from ``sizes`` (the vocabulary of the parameters) unless given."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise ArgumentTypeError(f"{name}: expected an array of integer ids, "
                                f"got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ArgumentTypeError(f"{name}: expected an array of integer ids, got a ragged "
                                f"{type(value).__name__}") from exc
    if arr.dtype.kind not in "iu":      # not bool, float, str, object
        raise ArgumentTypeError(f"{name}: expected integer ids, got dtype {arr.dtype}")
    array_arg(name, arr, dims, sizes)       # the shape, against the other arguments
    K = sizes["K"] if K is None else K
    low, high = arr.min(), arr.max()
    if low < 0 or high >= K:
        bad = low if low < 0 else high
        raise ValueError(f"{name}: expected ids in [0, {K - 1}] (K = {K}), got {bad}")
    return arr.astype(np.int64, copy=False)


def _cross_entropy_args(O, y_ids):
    sizes = {}
    O = array_arg("O", O, ("T", "B", "M"), sizes)
    return O, _ids_arg("y_ids", y_ids, ("T", "B"), sizes, K=sizes["M"])


def _cross_entropy_cache(cache):
    sizes = {}
    c = cache_arg("cache", cache, {"p": ("T", "B", "M")}, "charlm.cross_entropy_forward", sizes,
                  activations=())
    dict_arg("cache", cache, ("y_ids",), closed=False,
             what="the cache returned by charlm.cross_entropy_forward")
    y_ids = _ids_arg(entry("cache", "y_ids"), cache["y_ids"], ("T", "B"), sizes, K=sizes["M"])
    return c["p"], y_ids


def _lm_cache(cache):
    """The cache of lm_forward: its two parts, which the backward passes they go to check."""
    dict_arg("cache", cache, ("gru", "readout"), closed=False,
             what="the cache returned by charlm.lm_forward")
    # gru_backward checks the GRU's part, but would take a "before" one for its own
    if isinstance(cache["gru"], dict) and cache["gru"].get("variant", "after") != "after":
        raise ValueError(f'{entry("cache", "gru")}: expected the cache of the "after" GRU, '
                         f'got variant {cache["gru"]["variant"]!r}')
    return cache
