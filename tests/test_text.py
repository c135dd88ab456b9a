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
    path.write_bytes(lzma.compress(altered.encode("utf-8")))
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
