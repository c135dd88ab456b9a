import hashlib
import lzma
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnbook import text
from rnnbook._validate import ArgumentTypeError


@pytest.fixture(scope="module")
def corpus():
    return text.load_corpus()


def test_the_corpus_is_tiny_shakespeare(corpus):
    assert len(corpus) == 1_115_394
    assert corpus.count("\n") == 40_000
    assert corpus.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert hashlib.sha256(corpus.encode("utf-8")).hexdigest() == text.SHA256
    assert text.CORPUS.name == "tinyshakespeare.txt.xz" and text.CORPUS.is_file()
    assert (text.CORPUS.parent / "README.md").read_text().count(text.SHA256) == 1


def test_the_corpus_has_65_characters(corpus):
    vocab = text.vocabulary(corpus)
    assert len(vocab) == 65
    assert vocab == "".join(sorted(vocab)) and vocab[0] == "\n" and vocab[1] == " "
    assert set("abcxyzABCXYZ.,;:!?'") <= set(vocab) and "0" not in vocab


def test_load_corpus_takes_a_str_path_and_is_not_cached(corpus):
    again = text.load_corpus(str(text.CORPUS))
    assert again == corpus and again is not corpus


def test_a_flipped_byte_is_caught(tmp_path):
    data = bytearray(text.CORPUS.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged = tmp_path / "damaged.txt.xz"
    damaged.write_bytes(bytes(data))
    # the xz stream's own check (CRC64) or the sha256: either way the file is refused
    with pytest.raises(ValueError, match=r"^path: .*damaged.*reinstall") as info:
        text.load_corpus(damaged)
    assert str(damaged) in str(info.value)


def test_an_altered_text_in_a_valid_xz_file_fails_the_checksum(tmp_path, corpus):
    altered = corpus.replace("First Citizen", "Frist Citizen", 1)
    path = tmp_path / "altered.txt.xz"
    # preset 0: quick, and any valid xz stream will do
    path.write_bytes(lzma.compress(altered.encode("utf-8"), preset=0))
    found = hashlib.sha256(altered.encode("utf-8")).hexdigest()
    with pytest.raises(ValueError, match=r"^path: the text in .* has sha256 ") as info:
        text.load_corpus(path)
    message = str(info.value)
    # both checksums shown, and what to do
    assert found in message and text.SHA256 in message and "reinstall" in message
    # the same file loads when its own checksum is given
    assert text.load_corpus(path, sha256=found.upper()) == altered


def test_a_truncated_xz_file_is_refused(tmp_path):
    path = tmp_path / "short.txt.xz"
    path.write_bytes(text.CORPUS.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"^path: .* is not a valid xz file"):
        text.load_corpus(path)


def test_a_file_that_is_not_xz_is_refused(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("First Citizen:\n")
    with pytest.raises(ValueError, match=r"^path: .* is not a valid xz file"):
        text.load_corpus(path)


def test_a_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(ValueError, match=r"^path: no file .*missing\.xz.*reinstall.*"
                                         r"tinyshakespeare\.txt\.xz"):
        text.load_corpus(tmp_path / "missing.xz")


def test_encode_and_decode_the_corpus(corpus):
    vocab = text.vocabulary(corpus)
    ids = text.encode(corpus, vocab)
    assert ids.shape == (len(corpus),) and ids.dtype == np.int64
    assert ids.min() == 0 and ids.max() == 64
    assert text.decode(ids, vocab) == corpus
    # the ids of "First" are the letters' places in the sorted vocabulary
    assert list(ids[:5]) == [vocab.index(c) for c in "First"]


VOCABS = st.text(min_size=1, max_size=12).map(lambda s: "".join(sorted(set(s))))


@given(data=st.data(), vocab=VOCABS)
def test_encode_decode_round_trip(data, vocab):
    s = data.draw(st.text(alphabet=vocab, max_size=30))
    ids = text.encode(s, vocab)
    assert ids.dtype == np.int64 and ids.shape == (len(s),)
    assert all(vocab[i] == c for i, c in zip(ids, s))
    assert text.decode(ids, vocab) == s
    assert text.decode(list(ids), vocab) == s


def test_encode_names_the_unknown_character_and_its_position():
    with pytest.raises(ValueError, match=r"^text: the character 'z' at position 3 is not "
                                         r"in the vocabulary \(2 unknown"):
        text.encode("abcz z", "abc ")
    # repr: a tab reads as '\t', not as blank space
    with pytest.raises(ValueError, match=r"^text: the character '\\t' at position 1"):
        text.encode("a\tb", "ab")
    with pytest.raises(ValueError, match="^text: the character '\u2603' at position 2"):
        text.encode("ab\u2603", "ab")


def test_vocabulary_of_a_text_need_not_be_ascii():
    assert text.vocabulary("b\u00e9a\u00e9b") == "ab\u00e9"


def test_split_is_contiguous_and_fixed():
    ids = np.arange(100) % 7
    train, val = text.split(ids)
    assert len(train) == 90 and len(val) == 10
    np.testing.assert_array_equal(np.concatenate([train, val]), ids)
    train, val = text.split(ids, fraction=0.25)
    np.testing.assert_array_equal(train, ids[:25])
    np.testing.assert_array_equal(val, ids[25:])
    train, val = text.split([3, 4], fraction=0.5)
    assert list(train) == [3] and list(val) == [4]
    # int(len * fraction) characters to train on, so validation is never empty
    assert [len(part) for part in text.split(np.arange(3), 0.99)] == [2, 1]


def test_split_of_the_corpus(corpus):
    train, val = text.split(text.encode(corpus, text.vocabulary(corpus)))
    assert (len(train), len(val)) == (1_003_854, 111_540)


@given(B=st.integers(1, 4), T=st.integers(1, 5), extra=st.integers(0, 30))
def test_chunks_continue_each_stream(B, T, extra):
    # ids that are their own positions in the text, so that every value says where it came from
    ids = np.arange(B * T + 1 + extra)
    x, y = text.chunks(ids, B, T)
    L = (len(ids) - 1) // B
    n = L // T
    assert x.shape == y.shape == (n, T, B) and x.dtype == y.dtype == np.int64
    # y is x shifted by one character in the text: the next character
    np.testing.assert_array_equal(y, x + 1)
    for b in range(B):
        stream = x[:, :, b].ravel()     # chunk after chunk
        # stream b starts at b L and runs on without a gap across the chunks
        np.testing.assert_array_equal(stream, b * L + np.arange(n * T))
    # chunk c + 1 starts where chunk c stopped, for every stream
    np.testing.assert_array_equal(x[1:, 0, :], x[:-1, T - 1, :] + 1)


def test_chunks_with_one_step_per_chunk():
    ids = np.array([5, 6, 7, 8, 9, 10, 11])
    x, y = text.chunks(ids, 2, 1)
    # streams of L = 3: inputs 5 6 7 and 8 9 10
    assert x.shape == (3, 1, 2)
    np.testing.assert_array_equal(x[:, 0, :], [[5, 8], [6, 9], [7, 10]])
    np.testing.assert_array_equal(y[:, 0, :], [[6, 9], [7, 10], [8, 11]])


def test_chunks_of_the_text_read_as_text(corpus):
    vocab = text.vocabulary(corpus)
    ids = text.encode(corpus[:10_001], vocab)
    x, y = text.chunks(ids, 4, 25)
    assert x.shape == (100, 25, 4)
    stream = text.decode(x[:, :, 2].ravel(), vocab)
    assert stream == corpus[5000:7500]
    assert text.decode(y[:, :, 2].ravel(), vocab) == corpus[5001:7501]


@pytest.mark.parametrize("call, message", [
    (lambda: text.chunks(np.arange(5), 2, 3), r"^T: 5 ids give B = 2 streams of L = 2 "),
    (lambda: text.chunks(np.arange(5), 5, 1), r"^B: 5 ids give 4 input-target pairs"),
    (lambda: text.chunks(np.arange(1), 1, 1), r"^B: 1 ids give 0"),
])
def test_chunks_of_a_text_too_short(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_one_hot():
    ids = np.array([[0, 2], [1, 2]])
    x = text.one_hot(ids, 3)
    assert x.shape == (2, 2, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, 1], [0, 0, 1])
    np.testing.assert_array_equal(x.argmax(axis=-1), ids)
    np.testing.assert_array_equal(x.sum(axis=-1), 1)
    assert text.one_hot([1], 2, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(text.one_hot(1, 4), [0, 1, 0, 0])


def test_one_hot_of_no_ids_and_of_the_corpus_vocabulary(corpus):
    assert text.one_hot([], 5).shape == (0, 5)
    vocab = text.vocabulary(corpus)
    x = text.one_hot(text.encode("To be", vocab), len(vocab))
    assert x.shape == (5, 65)
    assert text.decode(x.argmax(axis=1), vocab) == "To be"


def naive_softmax(O):
    P = np.exp(O)
    return P / P.sum(axis=-1, keepdims=True)


SCORES = st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(0, 2**16))


@given(shape=SCORES, temperature=st.floats(0.05, 20))
def test_softmax_is_a_distribution_along_the_last_axis(shape, temperature):
    rows, K, seed = shape
    O = 3 * np.random.default_rng(seed).standard_normal((rows, 2, K))
    P = text.softmax(O, temperature)
    assert P.shape == O.shape and P.dtype == np.float64
    assert np.all(P > 0)
    np.testing.assert_allclose(P.sum(axis=-1), 1, rtol=0, atol=1e-14)
    np.testing.assert_allclose(P, naive_softmax(O / temperature), rtol=1e-12, atol=0)
    # a score added to every character of a row changes nothing
    np.testing.assert_allclose(text.softmax(O + 50.0, temperature), P, rtol=1e-12, atol=1e-300)
    # the order of the probabilities is that of the scores
    assert np.all(np.argsort(P, axis=-1, kind="stable") == np.argsort(O, axis=-1, kind="stable"))


def test_softmax_does_not_overflow():
    P = text.softmax(np.array([1000.0, 1001.0, -1000.0]))
    np.testing.assert_allclose(P, [1 / (1 + math.e), math.e / (1 + math.e), 0], rtol=1e-14)
    P = text.softmax(np.array([1.0, 2.0, 3.0]), 1e-300)      # scores over the temperature: inf
    np.testing.assert_array_equal(P, [0, 0, 1])


def test_softmax_keeps_float32_and_makes_float64_of_integers():
    P = text.softmax(np.array([[1, 2, 3]], dtype=np.float32), 0.5)
    assert P.dtype == np.float32
    np.testing.assert_allclose(P, naive_softmax(np.array([[2.0, 4, 6]])), rtol=1e-6)
    assert text.softmax([1, 2, 3]).dtype == np.float64


def test_softmax_temperature_goes_from_argmax_to_uniform():
    O = np.array([[0.3, 1.2, -0.5, 1.1], [2.0, -1.0, 0.0, 1.9]])
    cold = text.softmax(O, 1e-3)
    np.testing.assert_allclose(cold, [[0, 1, 0, 0], [1, 0, 0, 0]], rtol=0, atol=1e-40)
    hot = text.softmax(O, 1e6)
    np.testing.assert_allclose(hot, 0.25, rtol=1e-5)
    # in between: the top probability falls as the temperature rises
    tops = [text.softmax(O[0], t).max() for t in (0.1, 0.5, 1, 2, 10)]
    assert all(a > b for a, b in zip(tops, tops[1:])) and tops[-1] > 0.25


def test_sample_next_at_temperature_zero_is_the_argmax():
    O = np.random.default_rng(1).standard_normal((3, 4, 7))
    rng = np.random.default_rng(0)
    ids = text.sample_next(O, 0, rng=rng)
    assert ids.dtype == np.int64 and ids.shape == (3, 4)
    np.testing.assert_array_equal(ids, O.argmax(axis=-1))
    # no random number was used
    assert rng.random() == np.random.default_rng(0).random()
    assert text.sample_next(np.array([0.1, 0.5, 0.2]), 0.0, rng=rng) == 1


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_sample_next_draws_with_the_softmax_probabilities(temperature):
    O = np.array([1.0, 0.0, -1.0, 2.0, 0.5])
    n = 40_000
    ids = text.sample_next(np.tile(O, (n, 1)), temperature, rng=np.random.default_rng(7))
    assert ids.shape == (n,) and ids.dtype == np.int64
    p = text.softmax(O, temperature)
    counts = np.bincount(ids, minlength=len(O))
    # each count is binomial (n, p_k): within 4.5 standard deviations
    sd = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts - n * p) < 4.5 * sd), (counts, n * p, sd)


def test_sample_next_never_draws_an_impossible_character():
    O = np.tile([0.0, -1e4, 0.0, -1e4], (5000, 1))
    ids = text.sample_next(O, 1.0, rng=np.random.default_rng(8))
    assert set(np.unique(ids)) == {0, 2}


def test_sample_next_is_the_inverse_cdf_of_one_uniform_per_row():
    O = np.random.default_rng(2).standard_normal((6, 3, 9))
    rng = np.random.default_rng(11)
    ids = text.sample_next(O, 0.8, rng=rng)
    mirror = np.random.default_rng(11)
    u = mirror.random((6, 3))
    cdf = np.cumsum(naive_softmax(O / 0.8), axis=-1)
    expected = np.array([np.searchsorted(c, v, side="right") for c, v in
                         zip(cdf.reshape(-1, 9), u.ravel())]).reshape(6, 3)
    np.testing.assert_array_equal(ids, expected)
    # one number per row, no more: both generators are at the same place now
    assert rng.random() == mirror.random()


def test_sample_next_is_reproducible_with_the_same_seed():
    O = np.random.default_rng(3).standard_normal((50, 65)).astype(np.float32)
    a = text.sample_next(O, 1.0, rng=np.random.default_rng(4))
    b = text.sample_next(O, 1.0, rng=np.random.default_rng(4))
    c = text.sample_next(O, 1.0, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # float32 scores draw as their float64 copies do
    np.testing.assert_array_equal(
        a, text.sample_next(O.astype(np.float64), 1.0, rng=np.random.default_rng(4)))


def test_nats_bits_and_perplexity():
    h = math.log(65)        # a uniform guess among the 65 characters
    assert text.nats_to_bits(h) == pytest.approx(math.log2(65), rel=1e-15)
    assert text.perplexity(h) == pytest.approx(65, rel=1e-14)
    assert type(text.nats_to_bits(h)) is float and type(text.perplexity(h)) is float
    assert text.nats_to_bits(0) == 0.0 and text.perplexity(0) == 1.0
    assert text.nats_to_bits(math.log(2)) == pytest.approx(1.0, rel=1e-15)
    assert text.perplexity(1000.0) == math.inf      # honestly infinite, without a warning
    curve = np.array([math.log(65), 1.5, 1.0], dtype=np.float32)
    bits, ppl = text.nats_to_bits(curve), text.perplexity(curve)
    assert bits.dtype == ppl.dtype == np.float32
    np.testing.assert_allclose(bits, curve / math.log(2), rtol=1e-6)
    np.testing.assert_allclose(ppl, [65, math.exp(1.5), math.e], rtol=1e-6)


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("call, message", [
    (lambda: text.load_corpus(3), "path: expected a path"),
    (lambda: text.load_corpus(""), "path: expected a path"),
    (lambda: text.load_corpus(text.CORPUS.parent), "path: cannot read"),
    (lambda: text.load_corpus(sha256="abc"), "sha256: expected a checksum of 64 hex digits"),
    (lambda: text.load_corpus(sha256="g" * 64), "sha256: expected a checksum"),
    (lambda: text.load_corpus(sha256=None), "sha256: expected a checksum"),
    (lambda: text.vocabulary(""), "text: expected at least one character"),
    (lambda: text.vocabulary(["a", "b"]), "text: expected a str, got list"),
    (lambda: text.encode(b"ab", "ab"), "text: expected a str, got bytes"),
    (lambda: text.encode("ab", ""), "vocab: expected at least one character"),
    (lambda: text.encode("ab", "aba"), r"vocab: expected distinct characters, got \['a'\]"),
    (lambda: text.encode("ab", None), "vocab: expected a str"),
    (lambda: text.decode([0, 3], "abc"), r"ids: expected ids in \[0, 2\] \(K = 3\), got 3 at "
                                         r"index 1"),
    (lambda: text.decode([-1], "abc"), r"ids: expected ids in \[0, 2\]"),
    (lambda: text.decode([[0]], "abc"), r"ids: expected a 1-D array of ids, got shape \(1, 1\)"),
    (lambda: text.decode([0.0], "abc"), "ids: expected integer ids, got dtype float64"),
    (lambda: text.decode([True], "abc"), "ids: expected integer ids, got dtype bool"),
    (lambda: text.decode("ab", "ab"), "ids: expected an array of integer ids, got str"),
    (lambda: text.decode([[0], [1, 2]], "abc"), "ids: expected an array of integer ids"),
    (lambda: text.decode([0], "abb"), "vocab: expected distinct characters"),
    (lambda: text.split(np.arange(10), 1.0), r"fraction: expected a fraction in \(0, 1\)"),
    (lambda: text.split(np.arange(10), 0), r"fraction: expected a fraction in \(0, 1\)"),
    (lambda: text.split(np.arange(10), float("nan")), "fraction: expected a fraction"),
    (lambda: text.split(np.arange(10), "half"), "fraction: expected a fraction"),
    (lambda: text.split(np.arange(10), True), "fraction: expected a fraction"),
    (lambda: text.split(np.arange(3), 0.1), "fraction: 0.1 of 3 ids leaves an empty part"),
    (lambda: text.split(np.arange(3), 0.3), r"fraction: 0.3 of 3 ids leaves an empty part \(0 "),
    (lambda: text.split([4], 0.5), "ids: expected at least 2 ids to split, got 1"),
    (lambda: text.split(np.zeros(5)), "ids: expected integer ids"),
    (lambda: text.split([2, -1, 3]), r"ids: expected ids >= 0, got -1 at index 1"),
    (lambda: text.chunks(np.arange(20), 0, 2), "B: expected an integer >= 1, got 0"),
    (lambda: text.chunks(np.arange(20), 2.0, 2), "B: expected an integer"),
    (lambda: text.chunks(np.arange(20), 2, 0), "T: expected an integer >= 1, got 0"),
    (lambda: text.chunks(np.arange(20), 2, None), "T: expected an integer"),
    (lambda: text.chunks(np.arange(20).reshape(4, 5), 2, 2), "ids: expected a 1-D array"),
    (lambda: text.one_hot([3], 3), r"ids: expected ids in \[0, 2\]"),
    (lambda: text.one_hot([[0, 1], [-2, 0]], 3), r"ids: .* got -2 at index \(1, 0\)"),
    (lambda: text.one_hot([0.5], 3), "ids: expected integer ids"),
    (lambda: text.one_hot([0], 0), "K: expected an integer >= 1, got 0"),
    (lambda: text.one_hot([0], 3, dtype=np.int64), "dtype: expected float32 or float64"),
    (lambda: text.softmax(np.array([1.0, np.nan])), "O: contains NaN or inf"),
    (lambda: text.softmax(np.array(1.0)), r"O: expected scores of shape \(\.\.\., K\)"),
    (lambda: text.softmax(np.zeros((2, 0))), "O: expected at least one entry"),
    (lambda: text.softmax("ab"), "O: expected an array"),
    (lambda: text.softmax([1.0, 2.0], 0), "temperature: expected a positive number"),
    (lambda: text.softmax([1.0, 2.0], -1.0), "temperature: expected a positive number"),
    (lambda: text.softmax([1.0, 2.0], math.inf), "temperature: expected a positive number"),
    (lambda: text.sample_next([1.0, 2.0], -0.5, rng=RNG), "temperature: expected a temperature"),
    (lambda: text.sample_next([1.0, 2.0], None, rng=RNG), "temperature: expected a temperature"),
    (lambda: text.sample_next([1.0, 2.0], 1.0, rng=0), "rng: expected a numpy Generator"),
    (lambda: text.sample_next([1.0, 2.0], 1.0, rng=np.random.RandomState(0)),
     "rng: expected a numpy Generator"),
    (lambda: text.sample_next([[np.inf, 1.0]], 1.0, rng=RNG), "O: contains NaN or inf"),
    (lambda: text.sample_next(2.0, 1.0, rng=RNG), "O: expected scores of shape"),
    (lambda: text.nats_to_bits(-1), "h: expected a cross-entropy in nats, finite and >= 0"),
    (lambda: text.nats_to_bits(math.nan), "h: expected a cross-entropy"),
    (lambda: text.nats_to_bits("1.2"), "h: expected an array"),
    (lambda: text.nats_to_bits(True), "h: expected real numbers"),
    (lambda: text.perplexity(math.inf), "h: expected a cross-entropy"),
    (lambda: text.perplexity(np.array([1.0, -0.5])), "h: expected a cross-entropy in nats, "
                                                     "finite and >= 0, got -0.5"),
    (lambda: text.perplexity(np.array([1.0, np.nan])), "h: contains NaN or inf"),
])
def test_bad_arguments_are_rejected(call, message):
    with pytest.raises(ValueError, match="^" + message):
        call()


@pytest.mark.parametrize("call", [
    lambda: text.vocabulary(None), lambda: text.decode([0.0], "a"), lambda: text.split([1, 2], "x"),
    lambda: text.sample_next([1.0], 1.0, rng=None), lambda: text.load_corpus(None),
])
def test_arguments_of_the_wrong_kind_are_type_errors(call):
    with pytest.raises(ArgumentTypeError):
        call()


def test_sample_next_takes_rng_only_by_keyword():
    with pytest.raises(TypeError):
        text.sample_next([1.0, 2.0], 1.0, np.random.default_rng(0))
