"""Weights between torch.nn's recurrent modules and the book's names: torch.nn.GRU and torch.nn.RNN.

torch adds biases where the book subtracts thresholds, and stacks a GRU's three gates as row
blocks of one matrix, in the order ``GATES``. The readers give numpy float64 arrays in the
book's names, for ``rnnbook.gru`` and ``rnnbook.rnn``. Importing this module imports torch.
"""
import numpy as np
import torch

from ._validate import ArgumentTypeError, array_arg, choice, dict_arg, entry, positive_int

__all__ = ["GATES", "gate_rows", "gru_params_from_torch", "gru_params_to_torch",
           "rnn_params_from_torch"]

# The order of the gates' row blocks in torch.nn.GRU's weight_ih_l0, weight_hh_l0, bias_ih_l0 and
# bias_hh_l0: reset, update, candidate (torch calls the candidate n).
GATES = ("r", "z", "h")


def gate_rows(gate, N):
    """The rows of ``gate`` ("r", "z" or "h") in the stacked weights and biases of a torch.nn.GRU
    with N units: a slice, e.g. ``module.bias_ih_l0[gate_rows("z", N)]`` is the update gate's."""
    i = GATES.index(choice("gate", gate, GATES))
    N = positive_int("N", N)
    return slice(i * N, (i + 1) * N)


def gru_params_from_torch(module):
    """Read a one-layer ``torch.nn.GRU`` into the book's "after" parameters (numpy float64).

    torch adds two biases per gate where the book subtracts one threshold: theta_r =
    -(b_ir + b_hr), theta_z = -(b_iz + b_hz), theta_h = -b_in and theta_hv = -b_hn (the bias that
    the reset gate multiplies).
    """
    _gru_module(module)
    get = _weights(module)
    rows = {gate: gate_rows(gate, module.hidden_size) for gate in GATES}
    params = {}
    for gate in GATES:
        params[f"w_{gate}x"] = get["weight_ih_l0"][rows[gate]]
        params[f"w_{gate}v"] = get["weight_hh_l0"][rows[gate]]
    for gate in ("r", "z"):
        params[f"theta_{gate}"] = -(get["bias_ih_l0"][rows[gate]] + get["bias_hh_l0"][rows[gate]])
    params["theta_h"] = -get["bias_ih_l0"][rows["h"]]
    params["theta_hv"] = -get["bias_hh_l0"][rows["h"]]
    return params


def gru_params_to_torch(params, module):
    """Write the book's "after" parameters into a one-layer ``torch.nn.GRU``, in place.

    The gates' single thresholds become b_i = -theta and b_h = 0, so a round trip book -> torch ->
    book is exact, while torch -> book -> torch keeps only the sum of each gate's two biases
    (which is all the model depends on). Returns the module.
    """
    from . import gru
    N = _gru_module(module).hidden_size
    names = gru.param_names("after")
    dict_arg("params", params, names, what="the 'after' variant's parameters")
    sizes = {"N": N, ("by", "N"): "module.hidden_size",
             "K": module.input_size, ("by", "K"): "module.input_size"}
    params = {name: array_arg(entry("params", name), params[name], gru.param_dims(name), sizes)
              for name in names}
    bias_hh = np.zeros(3 * N)
    bias_hh[gate_rows("h", N)] = -params["theta_hv"]
    new = {
        "weight_ih_l0": np.concatenate([params[f"w_{g}x"] for g in GATES]),
        "weight_hh_l0": np.concatenate([params[f"w_{g}v"] for g in GATES]),
        "bias_ih_l0": -np.concatenate([params[f"theta_{g}"] for g in GATES]),
        "bias_hh_l0": bias_hh,
    }
    with torch.no_grad():
        for name, value in new.items():
            getattr(module, name).copy_(torch.as_tensor(value))
    return module


def rnn_params_from_torch(module):
    """Read a one-layer tanh ``torch.nn.RNN`` into eq. (1.1)'s arrays (numpy float64): returns
    ``(w_vv, w_vx, theta_v)`` with w_vv = W_hh, w_vx = W_ih and theta_v = -(b_ih + b_hh), in the
    order of ``rnnbook.rnn.rnn_forward``'s arguments."""
    if not isinstance(module, torch.nn.RNN):
        raise ArgumentTypeError(f"module: expected a torch.nn.RNN, got {type(module).__name__}")
    if (module.num_layers != 1 or module.bidirectional
            or module.nonlinearity != "tanh" or not module.bias or module.batch_first):
        raise ValueError("module: expected a one-layer, unidirectional, time-major torch.nn.RNN "
                         "with tanh and biases")
    get = _weights(module)
    return get["weight_hh_l0"], get["weight_ih_l0"], -(get["bias_ih_l0"] + get["bias_hh_l0"])


def _gru_module(module):
    """``module`` if it is a one-layer, unidirectional, time-major torch.nn.GRU with biases."""
    if not isinstance(module, torch.nn.GRU):
        raise ArgumentTypeError(f"module: expected a torch.nn.GRU, got {type(module).__name__}")
    if module.num_layers != 1 or module.bidirectional:
        raise ValueError("module: expected a one-layer, unidirectional torch.nn.GRU")
    if not module.bias or module.batch_first:
        raise ValueError("module: expected bias=True and batch_first=False (time-major, as the book)")
    return module


def _weights(module):
    """The layer's four tensors as numpy float64 copies."""
    return {name: getattr(module, name).detach().cpu().double().numpy().copy()
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
