import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

from strategies import SEQUENCE_PROBLEMS  # tests/strategies.py

from rnnbook import charlm, gradcheck, gru, reference, rnn, text, torchnn

NAMES = charlm.PARAMS + ("v0",)


def problem(T=4, B=3, N=5, K=6, seed=0, dtype=np.float64):
    """x_ids, y_ids (T, B), params with weights large enough for the gates to matter, v0."""
    rng = np.random.default_rng(seed)
    params = gru.init_params(K, N, "after", seed=seed, scale=0.8)
    params.update(w_ov=rng.standard_normal((K, N)), theta_o=rng.standard_normal(K))
    params = {k: a.astype(dtype) for k, a in params.items()}
    x_ids, y_ids = (rng.integers(0, K, (T, B)) for _ in range(2))
    return x_ids, y_ids, params, rng.standard_normal((B, N)).astype(dtype)


def torch_loss(x_ids, y_ids, t, v0=None):
    """The model and its mean cross-entropy in torch: the oracle. ``t`` maps the names of PARAMS
    (and "v0", unless v0 is given: a constant) to float64 tensors."""
    K = t["w_ov"].shape[0]
    x = F.one_hot(torch.as_tensor(x_ids), K).double()
    V = reference.gru_forward(x, {k: t[k] for k in charlm.GRU_PARAMS}, t.get("v0", v0),
                              variant="after")
    O = V[1:] @ t["w_ov"].T - t["theta_o"]
    return F.cross_entropy(O.reshape(-1, K), torch.as_tensor(y_ids).reshape(-1))


def autograd(x_ids, y_ids, params, v0):
    return reference.autograd_gradients(lambda t: torch_loss(x_ids, y_ids, t),
                                        {**params, "v0": v0})


def worst(a, b):
    assert set(a) == set(b)
    return max(gradcheck.relative_error(a[k], b[k]) for k in a)


# ---- the cross-entropy -------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_cross_entropy_is_torchs_and_its_gradient_is_p_minus_y(scale):
    rng = np.random.default_rng(0)
    O, y_ids = scale * rng.standard_normal((3, 4, 5)), rng.integers(0, 5, (3, 4))
    H, cache = charlm.cross_entropy_forward(O, y_ids)
    O_t = reference.as_tensor(O, requires_grad=True)
    H_ref = F.cross_entropy(O_t.reshape(-1, 5), torch.as_tensor(y_ids).reshape(-1))
    H_ref.backward()
    # scores of order 1000 overflow a plain exp: the log-sum-exp keeps H exact
    assert np.isfinite(H) and H == pytest.approx(H_ref.item(), rel=1e-12)
    dO = charlm.cross_entropy_backward(cache)
    assert gradcheck.relative_error(dO, O_t.grad.numpy()) < 1e-10
    # each position's error sums to zero: p sums to 1, the one-hot too
    np.testing.assert_allclose(dO.sum(axis=-1), 0.0, atol=1e-16)


def test_cross_entropy_by_hand():
    # two positions, scores ln 1, ln 3: p = (1/4, 3/4)
    O = np.log([[[1.0, 3.0]], [[1.0, 3.0]]])
    H, cache = charlm.cross_entropy_forward(O, np.array([[0], [1]]))
    assert H == pytest.approx(-(np.log(0.25) + np.log(0.75)) / 2, rel=1e-15)
    np.testing.assert_allclose(charlm.cross_entropy_backward(cache),
                               [[[0.25 - 1, 0.75]], [[0.25, 0.75 - 1]]] / np.float64(2),
                               rtol=1e-15)


# ---- the model's learning rule: three-way agreement ---------------------------------------------

def test_lm_backward_matches_autograd():
    x_ids, y_ids, params, v0 = problem()
    O, cache = charlm.lm_forward(x_ids, params, v0)
    H, ce_cache = charlm.cross_entropy_forward(O, y_ids)
    grads = charlm.lm_backward(charlm.cross_entropy_backward(ce_cache), cache)
    H_ref, ref = autograd(x_ids, y_ids, params, v0)
    assert H == pytest.approx(H_ref, rel=1e-12)
    assert set(grads) == set(NAMES)
    assert worst(grads, ref) < 1e-10


@settings(max_examples=30, deadline=None)
@given(T=SEQUENCE_PROBLEMS["T"], B=SEQUENCE_PROBLEMS["B"], N=SEQUENCE_PROBLEMS["N"],
       K=st.integers(1, 5), seed=SEQUENCE_PROBLEMS["seed"])
@example(T=1, B=1, N=1, K=2, seed=0)
def test_loss_and_gradients_match_autograd_on_random_shapes(T, B, N, K, seed):
    x_ids, y_ids, params, v0 = problem(T, B, N, K, seed)
    H, grads, V_last = charlm.loss_and_gradients(x_ids, y_ids, params, v0)
    H_ref, ref = autograd(x_ids, y_ids, params, v0)
    assert H == pytest.approx(H_ref, rel=1e-12, abs=1e-15)
    assert worst(grads, ref) < 1e-10
    tensors = {k: reference.as_tensor(params[k]) for k in charlm.GRU_PARAMS}
    x = F.one_hot(torch.as_tensor(x_ids), K).double()
    V_ref = reference.gru_forward(x, tensors, reference.as_tensor(v0), variant="after")
    np.testing.assert_allclose(V_last, V_ref[-1].numpy(), rtol=1e-13, atol=1e-15)


def test_loss_and_gradients_match_finite_differences():
    x_ids, y_ids, params, v0 = problem(T=3, B=2, N=3, K=3, seed=5)
    H, grads, _ = charlm.loss_and_gradients(x_ids, y_ids, params, v0)

    def f(p):
        return charlm.loss_and_gradients(x_ids, y_ids, {k: p[k] for k in charlm.PARAMS},
                                         p["v0"])[0]

    errors = gradcheck.gradient_check(f, {**params, "v0": v0}, grads)
    assert set(errors) == set(NAMES)
    assert max(errors.values()) < 1e-7, gradcheck.report(errors, 1e-7)


def test_weights_trained_by_torch_load_directly():
    x_ids, y_ids, params, v0 = problem(T=5, B=2, N=4, K=6, seed=1)
    module = torch.nn.GRU(6, 4, dtype=torch.float64)
    torchnn.gru_params_to_torch({k: params[k] for k in charlm.GRU_PARAMS}, module)
    readout = torch.nn.Linear(4, 6, dtype=torch.float64)
    with torch.no_grad():
        readout.weight.copy_(torch.as_tensor(params["w_ov"]))
        readout.bias.copy_(torch.as_tensor(-params["theta_o"]))
        x = F.one_hot(torch.as_tensor(x_ids), 6).double()
        states, _ = module(x, reference.as_tensor(v0)[None])
        O_torch = readout(states).numpy()
    O, _ = charlm.lm_forward(x_ids, params, v0)
    np.testing.assert_allclose(O, O_torch, rtol=1e-12, atol=1e-13)
    # and back: torch's module read into the book's names is the same model
    loaded = {**torchnn.gru_params_from_torch(module), "w_ov": params["w_ov"],
              "theta_o": params["theta_o"]}
    np.testing.assert_allclose(charlm.lm_forward(x_ids, loaded, v0)[0], O, rtol=1e-13, atol=1e-14)


# ---- truncated BPTT: the state carried, the gradient cut -----------------------------------------

def test_two_chunks_with_carried_state_are_truncated_bptt():
    x_ids, y_ids, params, _ = problem(T=10, B=2, N=4, K=5, seed=2)
    H, grads, V_end = charlm.loss_and_gradients(x_ids, y_ids, params)
    H1, grads1, V1 = charlm.loss_and_gradients(x_ids[:5], y_ids[:5], params)
    H2, grads2, V2 = charlm.loss_and_gradients(x_ids[5:], y_ids[5:], params, V1)
    # the forward pass does not see the cut: same loss, same final state
    assert (H1 + H2) / 2 == pytest.approx(H, rel=1e-13)
    np.testing.assert_allclose(V2, V_end, rtol=1e-14, atol=1e-15)
    # the second chunk's gradient is autograd's with V1 a constant, detached from the first chunk
    _, ref = reference.autograd_gradients(
        lambda t: torch_loss(x_ids[5:], y_ids[5:], t, v0=reference.as_tensor(V1)), params)
    assert worst({k: grads2[k] for k in charlm.PARAMS}, ref) < 1e-10
    # and the cut matters: the two chunks' gradients do not add up to the whole sequence's
    assert gradcheck.relative_error((grads1["w_zv"] + grads2["w_zv"]) / 2, grads["w_zv"]) > 1e-3


def test_evaluate_carries_the_state_across_chunks():
    rng = np.random.default_rng(3)
    _, _, params, _ = problem(N=4, K=7, seed=3)
    ids = rng.integers(0, 7, 100)
    B, T = 3, 5             # streams of L = 33 characters: 6 chunks, the last 3 left out
    loss = charlm.evaluate(params, ids, B=B, T=T)
    # by hand: each stream read in one pass from zero, the state carried inside it
    x_ids, y_ids = text.chunks(ids, B, T)
    n = x_ids.shape[0]
    O, _ = charlm.lm_forward(x_ids.reshape(n * T, B), params)
    log_p = O - np.log(np.exp(O).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, y_ids.reshape(n * T, B, 1), axis=-1)
    assert loss == pytest.approx(-picked.mean(), rel=1e-13)
    # a state reset at every chunk (no carrying) gives another loss
    reset = np.mean([charlm.cross_entropy_forward(charlm.lm_forward(x, params)[0], y)[0]
                     for x, y in zip(x_ids, y_ids)])
    assert abs(reset - loss) > 1e-3
    assert charlm.evaluate(params, ids, B=B, T=T, carry=False) == pytest.approx(reset, rel=1e-13)


# ---- generation -------------------------------------------------------------------------------

def test_generate_is_reproducible_and_greedy_is_the_argmax():
    _, _, params, _ = problem(N=8, K=6, seed=4)
    prompt = np.array([1, 4, 2])
    ids = charlm.generate(params, prompt, 40, temperature=1.0, seed=7)
    assert ids.shape == (40,) and ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < 6
    np.testing.assert_array_equal(ids, charlm.generate(params, prompt, 40, temperature=1.0, seed=7))
    assert np.any(ids != charlm.generate(params, prompt, 40, temperature=1.0, seed=8))
    greedy = charlm.generate(params, prompt, 12, temperature=0, seed=0)
    for i in range(12):     # each character the most likely after the prompt and those before
        p = charlm.next_char_probabilities(params, np.concatenate([prompt, greedy[:i]]))
        assert greedy[i] == np.argmax(p), i
    # temperature 0 does not draw: the seed does not matter
    np.testing.assert_array_equal(greedy, charlm.generate(params, prompt, 12, temperature=0,
                                                          seed=1))


def cycle_params(K=3, gain=40.0):
    """A model that predicts character (c + 1) mod K after character c, with certainty: z = 0
    (V(t) = h(t)), nothing recurrent, V(t) = tanh(5) onehot(c), and a readout that scores the next
    character by ``gain``."""
    N = K
    zeros = {k: np.zeros([{"N": N, "K": K}[d] for d in gru.param_dims(k)])
             for k in gru.param_names("after")}
    return {**zeros, "theta_z": np.full(N, 50.0), "w_hx": 5.0 * np.eye(N),
            "w_ov": gain * np.roll(np.eye(K), 1, axis=0), "theta_o": np.zeros(K)}


def test_generate_follows_a_deterministic_model():
    params = cycle_params()
    p = charlm.next_char_probabilities(params, np.array([0, 2]))
    assert p[0] > 1 - 1e-15             # after a 2 comes a 0
    ids = charlm.generate(params, np.array([1]), 30, temperature=1.0, seed=0)
    np.testing.assert_array_equal(ids, np.arange(2, 32) % 3)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_generate_draws_with_the_models_probabilities(temperature):
    # no readout weights: the scores ln q whatever the state, so p = q at every step
    q = np.array([0.5, 0.3, 0.15, 0.05])
    params = {**cycle_params(K=4), "w_ov": np.zeros((4, 4)), "theta_o": -np.log(q)}
    np.testing.assert_allclose(charlm.next_char_probabilities(params, np.array([3])), q,
                               rtol=1e-14)
    n = 4000
    counts = np.bincount(charlm.generate(params, np.array([0]), n, temperature=temperature,
                                         seed=1), minlength=4)
    expected = q ** (1 / temperature) / np.sum(q ** (1 / temperature))
    # within 5 binomial standard deviations of n p for every character
    assert np.all(np.abs(counts - n * expected) < 5 * np.sqrt(n * expected * (1 - expected)))


# ---- the gradient against lag, on text -----------------------------------------------------------

def lag_problem(T=8, N=5, K=4, seed=6):
    rng = np.random.default_rng(seed)
    params = charlm.init_params(K, N, seed=seed)
    return params, rng.integers(0, K, T), rng.integers(0, K, T)


def test_state_gradient_norms_match_autograd():
    params, x_ids, y_ids = lag_problem()
    T = len(x_ids)
    norms = charlm.state_gradient_norms(params, x_ids, y_ids)
    assert norms.shape == (T + 1,) and norms.dtype == np.float64
    _, cache = charlm.lm_forward(x_ids[:, None], params)
    V = cache["gru"]["V"][:, 0]
    tensors = {k: reference.as_tensor(a) for k, a in params.items()}
    x = F.one_hot(torch.as_tensor(x_ids[:, None]), 4).double()
    for t in range(T + 1):
        # restart the recurrence at V(t) as a leaf: its gradient is dH(T)/dV(t)
        leaf = reference.as_tensor(V[t][None], requires_grad=True)
        rest = (reference.gru_forward(x[t:], {k: tensors[k] for k in charlm.GRU_PARAMS}, leaf,
                                      variant="after")[-1] if t < T else leaf)
        O = rest @ tensors["w_ov"].T - tensors["theta_o"]
        F.cross_entropy(O, torch.as_tensor(y_ids[-1:])).backward()
        assert norms[t] == pytest.approx(leaf.grad.norm().item(), rel=1e-12), t
    # float32 parameters are measured in float64: the same numbers
    params32 = {k: a.astype(np.float32) for k, a in params.items()}
    params32_64 = {k: a.astype(np.float64) for k, a in params32.items()}
    np.testing.assert_array_equal(charlm.state_gradient_norms(params32, x_ids, y_ids),
                                  charlm.state_gradient_norms(params32_64, x_ids, y_ids))


def test_rnn_state_gradient_norms_match_autograd():
    rng = np.random.default_rng(8)
    T, N, K = 7, 5, 4
    w_vv, w_vx, theta_v = rnn.random_weights(K, N, 1.2, seed=8)
    p = dict(w_vv=w_vv, w_vx=w_vx, theta_v=rng.standard_normal(N),
             w_ov=rng.standard_normal((K, N)), theta_o=rng.standard_normal(K))
    x_ids, y_ids = rng.integers(0, K, T), rng.integers(0, K, T)
    norms = charlm.rnn_state_gradient_norms(p, x_ids, y_ids)
    assert norms.shape == (T + 1,) and norms.dtype == np.float64
    t_p = {k: reference.as_tensor(a) for k, a in p.items()}
    x = F.one_hot(torch.as_tensor(x_ids[:, None]), K).double()
    V = reference.rnn_forward(x, t_p["w_vv"], t_p["w_vx"], t_p["theta_v"])
    for t in range(T + 1):
        leaf = V[t].detach().requires_grad_(True)
        rest = (reference.rnn_forward(x[t:], t_p["w_vv"], t_p["w_vx"], t_p["theta_v"], leaf)[-1]
                if t < T else leaf)
        O = rest @ t_p["w_ov"].T - t_p["theta_o"]
        F.cross_entropy(O, torch.as_tensor(y_ids[-1:])).backward()
        assert norms[t] == pytest.approx(leaf.grad.norm().item(), rel=1e-12), t


# ---- parameters and dtypes -----------------------------------------------------------------------

def test_init_params_is_the_grus_and_a_linear_readout_from_the_same_stream():
    K, N = 6, 9
    params = charlm.init_params(K, N, seed=3)
    assert set(params) == set(charlm.PARAMS)
    the_gru = gru.init_params(K, N, "after", seed=3)
    for name in gru.param_names("after"):
        np.testing.assert_array_equal(params[name], the_gru[name])
    # one stream: the GRU's arrays in their order, then the readout's
    rng, bound = np.random.default_rng(3), 1 / np.sqrt(N)
    for name in gru.param_names("after"):
        rng.uniform(-bound, bound, size=the_gru[name].shape)
    np.testing.assert_array_equal(params["w_ov"], rng.uniform(-bound, bound, size=(K, N)))
    np.testing.assert_array_equal(params["theta_o"], rng.uniform(-bound, bound, size=K))
    assert np.abs(params["w_ov"]).max() <= bound and params["theta_o"].shape == (K,)
    assert {a.dtype for a in params.values()} == {np.dtype(np.float64)}
    params32 = charlm.init_params(K, N, seed=3, dtype=np.float32)
    assert {a.dtype for a in params32.values()} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(params32["w_ov"], params["w_ov"].astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_outputs_keep_the_dtype_of_the_params(dtype):
    x_ids, y_ids, params, v0 = problem(dtype=dtype)
    O, cache = charlm.lm_forward(x_ids, params)
    H, grads, V_last = charlm.loss_and_gradients(x_ids, y_ids, params, v0)
    p = charlm.next_char_probabilities(params, x_ids[:, 0])
    out = {"O": O, "V_last": V_last, "p": p, **grads}
    assert {k: a.dtype for k, a in out.items()} == {k: np.dtype(dtype) for k in out}
    assert isinstance(H, float) and isinstance(charlm.evaluate(params, x_ids[:, 0], B=1, T=2),
                                               float)


def test_float32_loss_and_gradients_agree_with_float64():
    x_ids, y_ids, params, v0 = problem(T=6, seed=9)
    H, grads, _ = charlm.loss_and_gradients(x_ids, y_ids, params, v0)
    H32, grads32, _ = charlm.loss_and_gradients(
        x_ids, y_ids, {k: a.astype(np.float32) for k, a in params.items()}, v0.astype(np.float32))
    assert H32 == pytest.approx(H, rel=1e-6)
    assert worst(grads32, grads) < 1e-5


# ---- bad input names the argument ----------------------------------------------------------------

def _without(params, key):
    return {k: a for k, a in params.items() if k != key}


_, _, P, V0 = problem()
X, Y = np.zeros((4, 3), dtype=int), np.ones((4, 3), dtype=int)
BAD_CALLS = [
    (lambda: charlm.lm_forward(X.astype(float), P), "^x_ids: expected integer ids, got dtype"),
    (lambda: charlm.lm_forward(X > 0, P), "^x_ids: expected integer ids, got dtype bool"),
    (lambda: charlm.lm_forward(None, P), "^x_ids: expected an array of integer ids"),
    (lambda: charlm.lm_forward(X + 6, P), r"^x_ids: expected ids in \[0, 5\] \(K = 6\), got 6"),
    (lambda: charlm.lm_forward(X - 1, P), r"^x_ids: expected ids in \[0, 5\]"),
    (lambda: charlm.lm_forward(X[:0], P), "^x_ids: expected at least one time step"),
    (lambda: charlm.lm_forward(X[0], P), "^x_ids: expected 2 axes"),
    (lambda: charlm.lm_forward(X, _without(P, "w_ov")), r"^params: expected .*missing \['w_ov'\]"),
    (lambda: charlm.lm_forward(X, {**P, "v0": V0}), r"^params: expected .*unexpected \['v0'\]"),
    (lambda: charlm.lm_forward(X, "weights"), "^params: expected a dict"),
    (lambda: charlm.lm_forward(X, {**P, "w_ov": np.zeros((5, 5))}), r'^params\["w_ov"\]: expected'),
    (lambda: charlm.lm_forward(X, {**P, "theta_o": np.full(6, np.nan)}),
     r'^params\["theta_o"\]: contains NaN'),
    (lambda: charlm.lm_forward(X, P, V0[:2]), "^v0: expected shape"),
    (lambda: charlm.loss_and_gradients(X, Y[:3], P), "^y_ids: expected shape"),
    (lambda: charlm.loss_and_gradients(X, Y * 9, P), r"^y_ids: expected ids in \[0, 5\]"),
    (lambda: charlm.cross_entropy_forward(np.zeros((4, 3, 2)), Y * 2), r"^y_ids: expected ids in"),
    (lambda: charlm.cross_entropy_forward(np.full((4, 3, 2), np.inf), Y),
     "^O: contains NaN or inf"),
    (lambda: charlm.cross_entropy_backward({"p": np.zeros((4, 3, 2))}),
     r"^cache: expected the cache returned by charlm.cross_entropy_forward .*missing \['y_ids'\]"),
    (lambda: charlm.cross_entropy_backward([1.0]), "^cache: expected the cache"),
    (lambda: charlm.lm_backward(np.zeros((4, 3, 5)), charlm.lm_forward(X, P)[1]),
     "^dO: expected shape"),
    (lambda: charlm.lm_backward(np.zeros((4, 3, 6)), {}), r"^cache: expected .*missing \['gru'"),
    (lambda: charlm.lm_backward(np.zeros((4, 3, 6)), {
        **charlm.lm_forward(X, P)[1], "gru": {**charlm.lm_forward(X, P)[1]["gru"],
                                              "variant": "before"}}),
     r'^cache\["gru"\]: expected the cache of the "after" GRU'),
    (lambda: charlm.generate(P, [1, 2], 5, temperature=-1.0, seed=0), "^temperature: expected"),
    (lambda: charlm.generate(P, [1, 2], 0, temperature=1.0, seed=0), "^n: expected an integer"),
    (lambda: charlm.generate(P, [1, 2], 5, temperature=1.0, seed=-1), "^seed: expected"),
    (lambda: charlm.generate(P, [], 5, temperature=1.0, seed=0), "^prompt_ids: expected"),
    (lambda: charlm.generate(P, [[1, 2]], 5, temperature=1.0, seed=0), "^prompt_ids: expected 1 "),
    (lambda: charlm.next_char_probabilities(P, [7]), r"^prompt_ids: expected ids in \[0, 5\]"),
    (lambda: charlm.evaluate(P, np.arange(6), B=0, T=2), "^B: expected an integer"),
    (lambda: charlm.evaluate(P, np.arange(6), B=2, T=5), "^T: "),
    (lambda: charlm.evaluate(P, np.arange(6.0), B=2, T=5), "^ids: expected integer ids"),
    (lambda: charlm.evaluate(P, np.arange(6), B=2, T=2, carry="yes"), "^carry: "),
    (lambda: charlm.state_gradient_norms(P, X, Y), "^x_ids: expected 1 axes"),
    (lambda: charlm.state_gradient_norms(P, X[:, 0], Y[:2, 0]), "^y_ids: expected shape"),
    (lambda: charlm.rnn_state_gradient_norms(P, X[:, 0], Y[:, 0]), r"^params_rnn: expected .*"),
    (lambda: charlm.rnn_state_gradient_norms(
        dict(w_vv=np.eye(3), w_vx=np.zeros((3, 6)), theta_v=np.zeros(3), w_ov=np.zeros((5, 3)),
             theta_o=np.zeros(5)), X[:, 0], Y[:, 0]), r'^params_rnn\["w_ov"\]: expected shape'),
    (lambda: charlm.init_params(6, 0, seed=0), "^N: expected an integer"),
    (lambda: charlm.init_params(6, 3, seed=None), "^seed: expected an integer seed"),
    (lambda: charlm.init_params(6, 3, seed=0, dtype=np.int64), "^dtype: expected float32"),
]


@pytest.mark.parametrize("call, message", BAD_CALLS, ids=[m for _, m in BAD_CALLS])
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
