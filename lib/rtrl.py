"""Real-time recurrent learning (Williams and Zipser 1989): the gradient of H, forward in time.

RTRL carries the sensitivities p_{k,a}(t) = dV_k(t)/da of every hidden state to every parameter
a of the recurrent layer (the entries of w_vv, w_vx, theta_v and v0) along with the network, and
adds the contribution of each time step to the gradient as soon as that step's output error is
known. No history is stored, so it can learn online; the price is O(N^3) numbers per sequence
for the sensitivities to w_vv and O(N^4) operations per step, against O(T N) numbers and O(N^2)
operations per step for BPTT. The gradient is the same as BPTT's (``rnnbook.bptt.gradients``).
"""
import numpy as np

from . import activations
from ._validate import array_arg, checked
from .bptt import _network_args

__all__ = ["rtrl_step", "gradients"]


def _step_args(p, g_prime, w_vv, db):
    sizes = {}
    args = {"p": array_arg("p", p, ("B", "N", "P"), sizes),
            "g_prime": array_arg("g_prime", g_prime, ("B", "N"), sizes),
            "w_vv": array_arg("w_vv", w_vv, ("N", "N"), sizes), "db": None}
    if db is not None:
        args["db"] = array_arg("db", db, ("B", "N", "P"), sizes)
    return args


@checked(_step_args)
def rtrl_step(p, g_prime, w_vv, db):
    """Eq. (2.12): p_ka(t) = g'(b_k(t)) [sum_j w_kj p_ja(t-1) + db_k(t)/da].

    Shapes: p (B, N, P), the sensitivities at t-1 to P parameters a;
    g_prime = g'(b(t)) (B, N); w_vv (N, N); db (B, N, P), the explicit
    derivative of b(t) at fixed V(t-1), or None where it is zero.
    Returns the sensitivities at t, (B, N, P). Cost O(B N^2 P).
    """
    carried = w_vv @ p           # (N, N) @ (B, N, P): the path through V(t-1)
    if db is not None:
        carried += db
    return g_prime[:, :, None] * carried


def gradients(x, y, params, g="tanh", g_out="linear"):
    """H and all its gradients by RTRL, eqs. (2.12) and (2.13), in one pass forward in time.

    Arguments as ``rnnbook.bptt.gradients`` (without truncation). Returns ``(H, grads)`` with grads
    for w_vv, w_vx, theta_v, v0, w_ov and theta_o.
    """
    p = _network_args(x, y, params, g=g, g_out=g_out)
    act, out = activations.get(g), activations.get(g_out)
    w_vv, w_vx, theta_v = p["w_vv"], p["w_vx"], p["theta_v"]
    w_ov, theta_o = p["w_ov"], p["theta_o"]
    V = p["v0"]
    B, N = V.shape
    dtype = np.result_type(*p.values())     # float32 in, float32 out
    eye = np.eye(N, dtype=dtype)
    # sensitivities with the parameters flattened: sens[a][b, k, :] = dV_k(t)/da, at t = 0
    sens = {"w_vv": np.zeros((B, N, N * N), dtype), "w_vx": np.zeros((B, N, w_vx.size), dtype),
            "theta_v": np.zeros((B, N, N), dtype), "v0": np.tile(eye, (B, 1, 1))}
    per_seq = {name: np.zeros((B, s.shape[2]), dtype) for name, s in sens.items()}
    H, grads = 0.0, {"w_ov": np.zeros_like(w_ov), "theta_o": np.zeros_like(theta_o)}
    for x_t, y_t in zip(p["x"], p["y"]):
        b = V @ w_vv.T + x_t @ w_vx.T - theta_v
        db = {"w_vv": np.einsum("km,bn->bkmn", eye, V).reshape(B, N, -1),      # delta_km V_n(t-1)
              "w_vx": np.einsum("km,bn->bkmn", eye, x_t).reshape(B, N, -1),    # delta_km x_n(t)
              "theta_v": np.broadcast_to(-eye, (B, N, N)), "v0": None}
        # validated once above: no checks at every step
        sens = {name: rtrl_step.unchecked(s, act.g_prime(b), w_vv, db[name])
                for name, s in sens.items()}
        V = act.g(b)
        b_out = V @ w_ov.T - theta_o
        E = y_t - out.g(b_out)
        H += 0.5 * float(np.sum(E * E))
        eps = E * out.g_prime(b_out)            # -dH/db^(o)(t), eq. (2.7)
        e = eps @ w_ov                          # -dH/dV(t) through the outputs at time t
        for name, s in sens.items():            # eq. (2.13): this time step's share
            per_seq[name] -= np.einsum("bk,bka->ba", e, s)
        grads["w_ov"] -= eps.T @ V
        grads["theta_o"] += eps.sum(axis=0)
    # the weights are shared by all sequences of the batch; each sequence has its own v0
    return H, {"w_vv": per_seq["w_vv"].sum(axis=0).reshape(N, N),
               "w_vx": per_seq["w_vx"].sum(axis=0).reshape(w_vx.shape),
               "theta_v": per_seq["theta_v"].sum(axis=0), "v0": per_seq["v0"], **grads}
