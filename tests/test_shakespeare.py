import json

import numpy as np
import pytest
import torch

from rnnbook import gru, rnn, shakespeare, text

STORED = shakespeare.load_results()
SETUP = shakespeare.SETUP


@pytest.fixture(scope="module")
def corpus():
    """(train_ids, val_ids, K) as run reads them."""
    return shakespeare._corpus()


def _ids(n, K, seed):
    return np.random.default_rng(seed).integers(K, size=n)


def _inputs(ids, K, dtype=torch.float64):
    return torch.from_numpy(text.one_hot(ids, K, dtype=str(dtype).split(".")[1]))


# ---------------------------------------------------------------- the model

@pytest.mark.parametrize("cell", shakespeare.CELLS)
@pytest.mark.parametrize("T", [1, 5])
def test_shapes_and_a_carried_state_continue_the_sequence(cell, T):
    model = shakespeare.CharModel(cell, 7, 4, seed=1, dtype=torch.float64)
    x = _inputs(_ids((2 * T, 3), 7, seed=T), 7)
    O, state = model(x)
    assert O.shape == (2 * T, 3, 7) and O.dtype == torch.float64
    pair = state if cell == "lstm" else (state,)
    assert [tuple(s.shape) for s in pair] == [(3, 4)] * len(pair)
    first, carried = model(x[:T])
    second, again = model(x[T:], carried)
    torch.testing.assert_close(torch.cat([first, second]), O, rtol=0, atol=1e-14)
    for a, b in zip(pair, again if cell == "lstm" else (again,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    # the state matters: from zeros the second half reads differently
    assert (model(x[T:])[0] - second).abs().max() > 1e-6
    detached = shakespeare.detach_state(again)
    for a, d in zip(*((s,) if cell != "lstm" else s for s in (again, detached))):
        assert a.requires_grad and not d.requires_grad and torch.equal(a, d)


def test_the_book_gru_starts_as_torchs_gru_and_follows_it(corpus, one_thread):
    train_ids, val_ids, K = corpus
    models = [shakespeare.CharModel(cell, K, SETUP["N"], seed=0) for cell in ("book-gru", "gru")]
    x = _inputs(text.chunks(train_ids[:SETUP["B"] * SETUP["T"] + 1], SETUP["B"], SETUP["T"])[0][0],
                K, torch.float32)
    (O_book, V_book), (O_torch, V_torch) = (m(x) for m in models)
    torch.testing.assert_close(O_book, O_torch, rtol=0, atol=1e-6)
    torch.testing.assert_close(V_book, V_torch, rtol=0, atol=1e-6)
    torch.testing.assert_close(models[0].readout.weight, models[1].readout.weight, rtol=0, atol=0)
    records = [shakespeare.train_lm(m, train_ids[:20000], val_ids, 3, seed=0, B=SETUP["B"],
                                    T=SETUP["T"], lr=SETUP["lr"], clip=SETUP["clip"], eval_every=3,
                                    val_chars=SETUP["B"] * SETUP["T"] + 1)
               for m in models]
    np.testing.assert_allclose(records[0]["loss"], records[1]["loss"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(records[0]["val_loss"], records[1]["val_loss"], rtol=0, atol=1e-4)
    assert records[0]["loss"][-1] < records[0]["loss"][0] - 0.05       # they learn, alike
    # the book's four thresholds against torch's six biases, of which two are redundant
    N = SETUP["N"]
    assert records[0]["params"] == 3 * N * (K + N) + 4 * N + (N + 1) * K
    assert records[1]["params"] == records[0]["params"] + 2 * N


def test_in_float64_the_two_gru_stay_equal_while_they_train():
    # same weights, same chunks, same optimiser: only the rounding of the learning rule differs
    ids = _ids(3 * 2 * 4 + 1, 6, seed=3)
    models = [shakespeare.CharModel(c, 6, 5, seed=2, dtype=torch.float64)
              for c in ("book-gru", "gru")]
    for m in models:
        shakespeare.train_lm(m, ids, ids, 4, seed=0, B=2, T=4, lr=1e-2, clip=1.0, eval_every=2,
                             val_chars=len(ids))
    book, ours = (shakespeare.params(m) for m in models)
    start = shakespeare.params(shakespeare.CharModel("gru", 6, 5, seed=2, dtype=torch.float64))
    assert set(book) == set(ours) == set(gru.param_names("after")) | {"w_ov", "theta_o"}
    for name in book:
        np.testing.assert_allclose(book[name], ours[name], rtol=1e-10, atol=1e-12, err_msg=name)
        assert not np.array_equal(book[name], start[name]), name


@pytest.mark.parametrize("cell", ["book-gru", "gru", "rnn"])
def test_params_compute_the_models_scores_with_the_books_numpy_code(cell):
    model = shakespeare.CharModel(cell, 6, 5, seed=4, dtype=torch.float64)
    ids = _ids((4, 3), 6, seed=5)
    O = model(_inputs(ids, 6))[0].detach().numpy()
    p = shakespeare.params(model)
    x = text.one_hot(ids, 6, dtype=np.float64)
    if cell == "rnn":
        V, _ = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"])
    else:
        V, _ = gru.gru_forward(x, {n: p[n] for n in gru.param_names("after")}, variant="after")
    np.testing.assert_allclose(V[1:] @ p["w_ov"].T - p["theta_o"], O, rtol=1e-12, atol=1e-13)
    assert all(v.dtype == np.float64 for v in p.values())


# ---------------------------------------------------------------- the training loop

def _scaled(model, factor):
    """The model with its recurrent weights scaled, so that its state matters for its output."""
    with torch.no_grad():
        for p in model.recurrent.parameters():
            p.mul_(factor)
    return model


@pytest.mark.parametrize("cell", ["book-gru", "lstm"])
def test_train_lm_carries_the_state_across_chunks_and_resets_it_on_a_new_pass(cell):
    B, T, K = 3, 4, 5
    ids = _ids(2 * B * T + 1, K, seed=6)         # exactly two chunks per pass
    model = _scaled(shakespeare.CharModel(cell, K, 6, seed=0, dtype=torch.float64), 3.0)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # a learning rate so small that Adam's steps leave every weight as it was
    record = shakespeare.train_lm(model, ids, ids, 3, seed=9, B=B, T=T, lr=1e-300, clip=None,
                                  eval_every=3, val_chars=len(ids))
    assert all(torch.equal(start[k], v) for k, v in model.state_dict().items())
    xs, ys = text.chunks(ids, B, T)
    loss = torch.nn.functional.cross_entropy
    O, _ = model(_inputs(np.concatenate(xs), K))      # one pass over both chunks
    whole = [loss(O[c * T:(c + 1) * T].reshape(-1, K), torch.from_numpy(ys[c]).reshape(-1)).item()
             for c in range(2)]
    offset = int(np.random.default_rng(9).integers(T))
    x3, y3 = (a[0] for a in text.chunks(ids[offset:], B, T))
    O3, _ = model(_inputs(x3, K))      # the third step: a new pass from zeros, shifted
    expected = [*whole, loss(O3.reshape(-1, K), torch.from_numpy(y3).reshape(-1)).item()]
    assert record["loss"] == [round(v, 5) for v in expected]
    assert record["val_loss"] == [round(float(np.mean(whole)), 5)] * 2
    # from zeros, the second chunk would read differently: the test can tell
    alone = model(_inputs(xs[1], K))[0]
    assert abs(loss(alone.reshape(-1, K), torch.from_numpy(ys[1]).reshape(-1)).item()
               - whole[1]) > 1e-3
    assert record["stopped"] == "steps" and record["clipped"] == 0.0


def test_train_lm_records_evaluations_clipping_and_leaves_torchs_random_state():
    ids = _ids(2 * 2 * 3 + 1, 4, seed=7)
    model = shakespeare.CharModel("rnn", 4, 3, seed=0)
    rng_state = torch.get_rng_state()
    seen = []
    record = shakespeare.train_lm(model, ids, ids, 5, seed=0, B=2, T=3, lr=1e-3, clip=1e-6,
                                  eval_every=2, val_chars=len(ids),
                                  callback=lambda step, m: seen.append(step) or step * 10)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert record["eval_step"] == seen == [0, 2, 4, 5] and record["callback"] == [0, 20, 40, 50]
    assert len(record["loss"]) == 5 and len(record["val_loss"]) == 4
    assert record["clipped"] == 1.0 and record["seconds_per_step"] > 0
    assert record["params"] == sum(p.numel() for p in model.parameters())


def test_without_validation_the_training_is_the_same():
    # eval_every=None (run(..., validate=False), the chapter's live rerun) skips the evaluations
    # and nothing else: evaluating changes neither the weights nor the draws of the offsets
    ids = _ids(2 * 2 * 3 * 3 + 1, 4, seed=8)
    records = []
    for every in (2, None):
        model = shakespeare.CharModel("gru", 4, 3, seed=0)
        records.append(shakespeare.train_lm(model, ids, ids, 7, seed=0, B=2, T=3, lr=1e-2,
                                            clip=1.0, eval_every=every, val_chars=len(ids)))
    assert records[1]["loss"] == records[0]["loss"] and len(records[0]["eval_step"]) == 5
    assert records[1]["eval_step"] == records[1]["val_loss"] == []


def test_the_learning_rate_decays_along_a_cosine_to_zero():
    assert [shakespeare._cosine(1.0, s, 4) for s in (0, 2, 4, 9)] == [1.0, 0.5, 0.0, 0.0]
    assert shakespeare._cosine(2.0, 1, 4) == pytest.approx(1 + np.cos(np.pi / 4))
    # decaying over one step, Adam stops after it: three steps leave the weights of one
    ids = _ids(2 * 2 * 3 + 1, 4, seed=7)
    models = [shakespeare.CharModel("gru", 4, 3, seed=0, dtype=torch.float64) for _ in range(3)]
    for model, steps, decay in zip(models, (3, 1, 3), (1, None, None)):
        shakespeare.train_lm(model, ids, ids, steps, seed=0, B=2, T=3, lr=1e-2, clip=1.0,
                             eval_every=3, val_chars=len(ids), decay_steps=decay)
    decayed, one, three = (m.state_dict() for m in models)
    assert all(torch.equal(decayed[k], one[k]) for k in one)
    assert not torch.equal(three["readout.weight"], one["readout.weight"])


def test_a_non_finite_loss_stops_the_run():
    ids = _ids(2 * 2 * 3 + 1, 4, seed=7)
    model = shakespeare.CharModel("rnn", 4, 3, seed=0)
    with torch.no_grad():
        model.readout.bias[0] = torch.inf
    record = shakespeare.train_lm(model, ids, ids, 3, seed=0, B=2, T=3, lr=1e-3, clip=1.0,
                                  eval_every=3, val_chars=len(ids))
    assert record["stopped"] == "non-finite loss" and record["loss"] == []


def test_evaluate_is_the_mean_over_the_chunks_with_the_state_carried():
    B, T, K = 2, 3, 5
    ids = _ids(3 * B * T + 2, K, seed=8)
    model = _scaled(shakespeare.CharModel("gru", K, 4, seed=0, dtype=torch.float64), 2.0)
    xs, ys = text.chunks(ids, B, T)
    O, _ = model(_inputs(np.concatenate(xs), K))
    expected = torch.nn.functional.cross_entropy(O.reshape(-1, K),
                                                 torch.from_numpy(np.concatenate(ys)).reshape(-1))
    assert shakespeare.evaluate(model, ids, B=B, T=T) == pytest.approx(expected.item(), rel=1e-13)


# ---------------------------------------------------------------- the stored run

def test_the_stored_file_has_the_four_networks_on_the_books_setup():
    assert STORED["setup"] == SETUP
    assert list(STORED["networks"]) == list(shakespeare.CELLS)
    assert STORED["weights"] == {"gru": "book-gru", "rnn": "rnn"}
    every = SETUP["eval_every"]
    for cell, r in STORED["networks"].items():
        assert r["network"] == cell and r["seed"] == SETUP["seed"]
        assert r["steps"] == SETUP["steps"] and r["stopped"] == "steps"
        assert len(r["loss"]) == min(shakespeare.HEAD, SETUP["steps"])
        assert r["block_step"] == list(range(shakespeare.HEAD + every, SETUP["steps"] + 1, every))
        assert len(r["block_loss"]) == len(r["block_step"])
        assert r["eval_step"] == list(range(0, SETUP["steps"] + 1, every))
        assert r["val_loss"][0] == pytest.approx(np.log(65), abs=0.05)      # about a uniform guess
        assert r["full_val_loss"] < r["val_loss"][0] - 1
    gru_, book = STORED["networks"]["gru"], STORED["networks"]["book-gru"]
    assert book["full_val_loss"] <= 1.6 and gru_["full_val_loss"] <= 1.6
    # the gated networks beat the tanh network on the same budget
    assert STORED["networks"]["rnn"]["full_val_loss"] > max(book["full_val_loss"],
                                                            gru_["full_val_loss"])


@pytest.mark.parametrize("network", ["gru", "rnn"])
def test_the_stored_weights_give_the_stored_validation_curves_end(network, corpus):
    # the numpy code, in float64, on the validation slice with the state carried
    weights = shakespeare.load_weights()
    p = weights[network]
    assert all(v.dtype == np.float64 for v in p.values())
    _, val_ids, K = corpus
    xs, ys = text.chunks(val_ids[:SETUP["val_chars"]], SETUP["B"], SETUP["T"])
    v, total = None, 0.0
    for x_ids, y_ids in zip(xs, ys):
        x = text.one_hot(x_ids, K, dtype=np.float64)
        if network == "rnn":
            V, _ = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], v0=v)
        else:
            V, _ = gru.gru_forward(x, {n: p[n] for n in gru.param_names("after")}, v0=v,
                                   variant="after")
        O = V[1:] @ p["w_ov"].T - p["theta_o"]
        O = O - O.max(axis=-1, keepdims=True)
        logp = O - np.log(np.exp(O).sum(axis=-1, keepdims=True))
        total -= np.take_along_axis(logp, y_ids[..., None], axis=-1).mean()
        v = V[-1]
    stored = STORED["networks"][STORED["weights"][network]]["val_loss"][-1]
    assert total / len(xs) == pytest.approx(stored, abs=2e-4)


@pytest.fixture(scope="module")
def live_slice():
    """The first 20 steps of the stored book-gru run, rerun here (one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return shakespeare.run("book-gru", seed=0, steps=20)[0]
    finally:
        torch.set_num_threads(threads)


def test_a_live_slice_starts_as_the_stored_run(live_slice):
    stored = STORED["networks"]["book-gru"]
    assert shakespeare.same_start(live_slice, stored, 20)
    assert live_slice["val_loss"][0] == pytest.approx(stored["val_loss"][0], abs=1e-4)


def test_another_seed_does_not_pass_for_the_stored_run(one_thread):
    stored = STORED["networks"]["book-gru"]
    other = shakespeare.run("book-gru", seed=1, steps=3)[0]
    assert not shakespeare.same_start(other, stored, 3)
    # not only by its name: its losses leave the tolerance
    assert not shakespeare.same_start({"loss": other["loss"]}, stored, 3)


def test_same_start_uses_the_tolerance():
    stored = {"loss": [4.0, 3.5, 3.0], "network": "gru", "seed": 0}
    tol = shakespeare.START_TOLERANCE
    assert shakespeare.same_start(dict(stored), stored, 3)
    near = dict(stored, loss=[4.0, 3.5 + 0.9 * tol, 3.0 - 0.9 * tol])
    far = dict(stored, loss=[4.0, 3.5 + 1.5 * tol, 3.0])
    assert shakespeare.same_start(near, stored, 3) and not shakespeare.same_start(far, stored, 3)
    assert shakespeare.same_start(far, stored, 1)        # only the steps asked for
    assert shakespeare.same_start(far, stored, 3, tol=2 * tol)
    assert not shakespeare.same_start(dict(stored, network="rnn"), stored, 3)


def test_the_tolerance_covers_what_was_measured_with_margin():
    # the spread measured, and the rounding of both records to 5 decimals
    assert shakespeare.START_TOLERANCE >= 2 * (shakespeare.START_MEASURED + 1e-5)
    # and stays far below what another seed changes (the test above): the check can fail
    assert shakespeare.START_TOLERANCE < 0.01
    assert shakespeare.START_STEPS <= shakespeare.HEAD


# ---------------------------------------------------------------- files and the script

def test_load_results_and_weights_fetch_the_files_when_they_are_not_there(tmp_path):
    source = tmp_path / "published.json"
    source.write_text('{"networks": {}}')
    assert shakespeare.load_results(tmp_path / "missing.json", url=source.as_uri()) == \
        {"networks": {}}
    npz = tmp_path / "published.npz"
    shakespeare._save_weights({"rnn": {"w_vv": np.eye(2)}}, npz)
    loaded = shakespeare.load_weights(tmp_path / "missing.npz", url=npz.as_uri())
    assert list(loaded) == ["rnn"] and np.array_equal(loaded["rnn"]["w_vv"], np.eye(2))
    assert loaded["rnn"]["w_vv"].dtype == np.float64


def test_weights_beside_a_chapter_are_read_without_the_network(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    shakespeare._save_weights({"gru": {"theta_z": np.ones(3)}},
                              tmp_path / "data" / shakespeare.WEIGHTS.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shakespeare, "WEIGHTS", tmp_path / "absent" / "shakespeare_weights.npz")

    def offline(*args, **kwargs):
        raise AssertionError("the network was used")
    monkeypatch.setattr(shakespeare.urllib.request, "urlopen", offline)
    assert shakespeare.load_weights(shakespeare.WEIGHTS)["gru"]["theta_z"].tolist() == [1.0] * 3


def _fake_run(cell, steps):
    """What _run_network returns, made up (no training)."""
    record = {"network": cell, "seed": 0, "loss": [4.0 - 0.001 * i for i in range(steps)],
              "eval_step": [0, steps], "val_loss": [4.2, 2.0], "clipped": 0.1,
              "seconds_per_step": 0.01, "params": 10, "stopped": "steps"}
    weights = None if cell == "lstm" else {"w": np.full(2, len(cell), dtype=np.float32)}
    return shakespeare._stored(record, 1.5, 1.0), weights


def test_the_script_writes_and_merges_the_files(tmp_path, monkeypatch):
    out, weights = tmp_path / "results.json", tmp_path / "weights.npz"
    ran = []
    monkeypatch.setattr(shakespeare, "_run_network", lambda c, s: ran.append(c) or _fake_run(c, s))
    files = ["--out", str(out), "--weights", str(weights), "--steps", "700"]
    shakespeare.main(files)
    assert sorted(ran) == sorted(shakespeare.CELLS)
    results = json.loads(out.read_text())
    assert results["setup"] == dict(SETUP, steps=700) and list(results["networks"]) == list(
        shakespeare.CELLS)
    r = results["networks"]["gru"]
    every = SETUP["eval_every"]
    assert len(r["loss"]) == shakespeare.HEAD and r["block_step"] == list(range(
        shakespeare.HEAD + every, 701, every))
    assert r["block_loss"][0] == pytest.approx(np.mean([4.0 - 0.001 * i for i in range(500, 600)]),
                                               abs=1e-5)
    assert results["weights"] == {"gru": "book-gru", "rnn": "rnn"}
    assert shakespeare.load_weights(weights)["gru"]["w"].tolist() == [8.0, 8.0]    # book-gru's
    # --only gru: its record is replaced, the book-gru's weights are kept
    results["networks"]["gru"]["full_val_loss"] = 9.0
    out.write_text(json.dumps(results))
    shakespeare.main(files + ["--only", "gru"])
    merged = json.loads(out.read_text())
    assert ran[4:] == ["gru"] and merged["networks"]["gru"]["full_val_loss"] == 1.5
    assert merged["weights"] == results["weights"]
    assert shakespeare.load_weights(weights)["gru"]["w"].tolist() == [8.0, 8.0]
    shakespeare.main(files + ["--only", "rnn,book-gru"])
    assert ran[5:] == ["book-gru", "rnn"]
    for argv, message in ((["--only", "gru,transformer"], "only: expected one of"),
                          (["--only", "gru", "--jobs", "2"], "only: .* was made with jobs 1"),
                          (["--only", "gru", "--steps", "600"], "only: .* was made with setup"),
                          (["--jobs", "0"], "jobs"), (["--steps", "0"], "steps")):
        with pytest.raises(ValueError, match=message):
            shakespeare.main(files + argv)
    with pytest.raises(ValueError, match="only: merges into"):
        shakespeare.main(["--out", str(tmp_path / "none.json"), "--only", "gru"])
    assert len(ran) == 7


# ---------------------------------------------------------------- bad input

def _valid():
    ids = _ids(2 * 2 * 3 + 1, 4, seed=0)
    return dict(model=shakespeare.CharModel("rnn", 4, 3, seed=0), train_ids=ids, val_ids=ids,
                steps=1, seed=0, B=2, T=3, lr=1e-3, clip=1.0, eval_every=1, val_chars=len(ids))


@pytest.mark.parametrize("arg, bad, message", [
    ("model", torch.nn.GRU(4, 3), "model: expected a shakespeare.CharModel"),
    ("train_ids", [0, 1, 2], "train_ids: expected a 1-D numpy array of integer ids"),
    ("train_ids", np.zeros(13), "train_ids: expected a 1-D numpy array of integer ids"),
    ("train_ids", np.zeros(6, dtype=int), "train_ids: expected a 1-D array of at least"),
    ("train_ids", np.full(13, 4), r"train_ids: expected ids in \[0, 3\]"),
    ("val_ids", np.full(13, -1), r"val_ids: expected ids in \[0, 3\]"),
    ("val_chars", 14, "val_chars: expected between"),
    ("val_chars", 6, "val_chars: expected between"),
    ("val_chars", 13.0, "val_chars"),
    ("steps", 0, "steps"), ("seed", -1, "seed"), ("seed", None, "seed"), ("B", 0, "B"),
    ("T", 7, "train_ids: .* T = 7"), ("lr", 0.0, "lr"), ("clip", -1.0, "clip"),
    ("eval_every", 0, "eval_every"),
    ("progress", "yes", "progress"), ("callback", "print", "callback"),
    ("decay_steps", 0, "decay_steps"), ("decay_steps", 2.5, "decay_steps"),
])
def test_train_lm_names_a_bad_argument(arg, bad, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        shakespeare.train_lm(**{**_valid(), arg: bad})


sh, Model = shakespeare, shakespeare.CharModel


@pytest.mark.parametrize("call, message", [
    (lambda: Model("transformer", 4, 3, seed=0), "cell: expected one of"),
    (lambda: Model("gru", 0, 3, seed=0), "K"),
    (lambda: Model("gru", 4, 2.5, seed=0), "N"),
    (lambda: Model("gru", 4, 3, seed=None), "seed"),
    (lambda: Model("gru", 4, 3, seed=0, dtype="float32"), "dtype"),
    (lambda: Model("gru", 4, 3, seed=0)(torch.zeros(2, 1, 5)), r"x: expected shape"),
    (lambda: Model("gru", 4, 3, seed=0)(torch.zeros(2, 4)), "x: expected 3 axes"),
    (lambda: Model("gru", 4, 3, seed=0)(np.zeros((2, 1, 4))), "x: expected a torch"),
    (lambda: Model("gru", 4, 3, seed=0)(torch.zeros(2, 1, 4, dtype=torch.float64)),
     "x: expected dtype torch.float32 to agree with the model"),
    (lambda: Model("gru", 4, 3, seed=0)(torch.full((2, 1, 4), torch.nan)),
     "x: contains NaN"),
    (lambda: Model("book-gru", 4, 3, seed=0)(torch.zeros(2, 1, 4), torch.zeros(2, 3)),
     r"state: expected shape \(B, N\)"),
    (lambda: Model("rnn", 4, 3, seed=0)(torch.zeros(2, 1, 4), torch.zeros(1, 2)),
     r"state: expected shape \(B, N\)"),
    (lambda: Model("lstm", 4, 3, seed=0)(torch.zeros(2, 1, 4), torch.zeros(1, 3)),
     "state: expected the LSTM's pair"),
    (lambda: Model("gru", 4, 3, seed=0)(torch.zeros(2, 1, 4), (torch.zeros(1, 3),) * 2),
     "state: expected a torch tensor"),
    (lambda: sh.detach_state([torch.zeros(2)]), "state: expected a tensor or a pair"),
    (lambda: sh.evaluate(torch.nn.GRU(4, 3), np.zeros(13, dtype=int), B=2, T=3), "model"),
    (lambda: sh.evaluate(Model("gru", 4, 3, seed=0), np.zeros(13, dtype=int), B=2, T=0),
     "T"),
    (lambda: sh.params(Model("lstm", 4, 3, seed=0)), "model: expected a GRU"),
    (lambda: sh.params("gru"), "model"),
    (lambda: sh.run("transformer", seed=0), "cell"),
    (lambda: sh.run("gru", seed=0, steps=0), "steps"),
    (lambda: sh.run("gru", seed=-1), "seed"),
    (lambda: sh.same_start({"loss": [1.0]}, {"loss": [1.0]}, 2), "steps: expected at most"),
    (lambda: sh.same_start({"loss": [1.0] * 101}, {"loss": [1.0] * 101}, 101),
     "steps: expected at most START_STEPS"),
    (lambda: sh.same_start({"loss": [1.0]}, {"loss": [1.0]}, 1, tol=0.0), "tol"),
    (lambda: sh.same_start({"loss": [1.0]}, {"curve": [1.0]}, 1), "stored"),
    (lambda: sh.same_start({"loss": 1.0}, {"loss": [1.0]}, 1), r'live\["loss"\]'),
    (lambda: sh.load_weights(5), "path"),
    (lambda: sh.load_weights("missing.npz", url="nowhere"), "url"),
    (lambda: sh.merge_results(STORED, {}), "update"),
    (lambda: sh.merge_results(STORED, dict(STORED, jobs=STORED["jobs"] + 1)), "update: its jobs"),
    (lambda: sh.main(["--steps", "-1"]), "steps"),
    (lambda: sh.main(("--only", 5)), "argv"),
])
def test_bad_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        call()
