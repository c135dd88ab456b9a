"""The corpus of Chapter 6's character-level language model: Tiny Shakespeare.

The corpus is "Tiny Shakespeare": about 40,000 lines of Shakespeare's plays,
1,115,394 characters of 65 distinct ones, the file
``data/tinyshakespeare/input.txt`` of Karpathy's char-rnn (MIT licence; the
text itself is in the public domain). It ships inside this package, compressed
with xz, as ``CORPUS`` (``lib/data/README.md`` says where it came from and how
it was compressed), and ``load_corpus`` checks the sha256 of the decompressed
text against ``SHA256`` at every load, so that every reader trains on the very
same characters.

A language model reads the text one character at a time and at each step
predicts the next one. ``vocabulary`` lists the distinct characters, sorted;
``encode`` turns text into their positions in that list, the ids, and
``decode`` turns ids back into text; ``one_hot`` makes the network's inputs
x(t), one unit per character. ``softmax`` and ``sample_next`` turn the
network's outputs O(t), one score per character, into probabilities and into
the next character of a generated text; ``nats_to_bits`` and ``perplexity``
restate the mean cross-entropy.

A million steps do not fit in one backward pass, so training cuts the text into
chunks (``chunks``): B parallel streams, each a contiguous stretch of the text,
read side by side as a batch, T characters at a time. Chunk c+1 of each stream
starts exactly where chunk c stopped, so the network's final state after chunk
c is the right initial state for chunk c+1: the state is carried across chunks
while the gradient is cut at their borders (truncated BPTT). The targets are
the inputs shifted by one character: the target at each step is the input of
the next.
"""
import hashlib
import lzma
import math
import numbers
import pathlib

import numpy as np

from ._validate import (ArgumentTypeError, array_arg, floating_dtype,
                        number_arg, positive_int, positive_number)

__all__ = ["CORPUS", "SHA256", "load_corpus", "vocabulary", "encode", "decode",
           "split", "chunks", "one_hot", "softmax", "sample_next",
           "nats_to_bits", "perplexity"]

CORPUS = (pathlib.Path(__file__).resolve().parent / "data"
          / "tinyshakespeare.txt.xz")
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
_FIX = ("reinstall the book's library rnnbook (pip install --force-reinstall "
        "git+https://github.com/open-rnn-book/rnn-gru-book), or copy "
        "lib/data/tinyshakespeare.txt.xz from that repository")


def load_corpus(path=CORPUS, sha256=SHA256):
    """The corpus as one str: the xz file ``path``, decompressed, checked
    against the checksum ``sha256`` and decoded as utf-8.

    The sha256 of the decompressed bytes must equal ``sha256`` (64 hex
    digits): a damaged or altered file raises, rather than train the model on
    other characters. A missing file, a file that is not an xz stream and a
    wrong checksum raise ValueError naming ``path``. Nothing is cached: each
    call reads the file again (a few hundredths of a second).
    """
    path = _path_arg("path", path)
    sha256 = _sha256_arg("sha256", sha256)
    where = repr(str(path))
    try:
        data = lzma.decompress(path.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"path: no file {where}; {_FIX}") from None
    except OSError as exc:
        raise ValueError(f"path: cannot read {where} ({exc}); "
                         f"{_FIX}") from None
    except (lzma.LZMAError, EOFError) as exc:
        raise ValueError(f"path: {where} is not a valid xz file ({exc}): it "
                         f"is damaged; {_FIX}") from None
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise ValueError(f"path: the text in {where} has sha256 {found}, "
                         f"expected {sha256}: the file is damaged or "
                         f"altered; {_FIX}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"path: the text in {where} is not utf-8 "
                         f"({exc})") from None


def vocabulary(text):
    """The vocabulary of ``text``: its distinct characters, sorted, as one str
    of length K.

    A character's id is its position in the vocabulary; the network has K
    inputs and K outputs, one per character (K = 65 for the corpus).
    """
    text = _text_arg("text", text)
    if not text:
        raise ValueError("text: expected at least one character, got ''")
    return "".join(sorted(set(text)))


def encode(text, vocab):
    """The ids of the characters of ``text``, their positions in ``vocab``:
    shape (len(text),), int64.

    A character that is not in the vocabulary raises ValueError naming the
    character and its position.
    """
    text, vocab = _text_arg("text", text), _vocab_arg("vocab", vocab)
    codes, known = _code_points(text), _code_points(vocab)
    # a table from code point to id, -1 for the characters not in vocab
    table = np.full(int(known.max()) + 2, -1, dtype=np.int64)
    table[known] = np.arange(len(vocab))
    ids = table[np.minimum(codes, len(table) - 1)]  # beyond: the last, -1
    unknown = np.flatnonzero(ids < 0)
    if unknown.size:
        i = int(unknown[0])
        raise ValueError(f"text: the character {text[i]!r} at position {i} "
                         f"is not in the vocabulary ({unknown.size} "
                         f"unknown characters in all)")
    return ids


def decode(ids, vocab):
    """The text that the 1-D ``ids`` spell: vocab[ids[0]] + vocab[ids[1]]
    + ... An id outside [0, len(vocab)) raises ValueError naming ``ids``.
    """
    vocab = _vocab_arg("vocab", vocab)
    ids = _ids_arg("ids", ids, len(vocab), dims=1)
    codes = _code_points(vocab)[ids]
    return codes.tobytes().decode("utf-32-le", "surrogatepass")


def split(ids, fraction=0.9):
    """(train_ids, val_ids): the first ``fraction`` of the ids, to train on,
    and the rest, to validate on, as nanoGPT splits the corpus (char-rnn
    holds out 5 %).

    The split is contiguous and fixed, not shuffled: the validation text is a
    stretch of text that the model never trained on (for the corpus, the end
    of the plays), and chunks of it are not overlaps of chunks trained on.
    Training gets int(len(ids) * fraction) ids; both parts must be non-empty.
    """
    ids = _ids_arg("ids", ids, None, dims=1)
    fraction = number_arg("fraction", fraction, what="a fraction in (0, 1)")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction: expected a fraction in (0, 1), "
                         f"got {fraction!r}")
    if len(ids) < 2:
        raise ValueError(f"ids: expected at least 2 ids to split, "
                         f"got {len(ids)}")
    cut = int(len(ids) * fraction)
    if not 0 < cut < len(ids):
        raise ValueError(f"fraction: {fraction!r} of {len(ids)} ids leaves "
                         f"an empty part ({cut} to train on, "
                         f"{len(ids) - cut} to validate on)")
    return ids[:cut], ids[cut:]


def chunks(ids, B, T):
    """(x_ids, y_ids): the text as B parallel streams, cut into chunks of T
    steps for truncated BPTT with the state carried from chunk to chunk.
    Shapes (n, T, B), int64, time-major.

    The inputs ids[:-1] and the targets ids[1:] (the next characters) are
    each cut into B contiguous streams of L = (len(ids) - 1) // B characters
    (a tail too short for one more character per stream is dropped): stream
    b starts at ids[b * L]. Each stream is cut into n = L // T chunks of T
    steps (the last L - n T characters of a stream are dropped), so
        x_ids[c, t, b] = ids[b * L + c * T + t],
        y_ids[c, t, b] = ids[b * L + c * T + t + 1].
    Chunk c + 1 of stream b continues exactly where chunk c stopped:
    x_ids[c + 1, 0, b] follows x_ids[c, T - 1, b] in the text, so the final
    state of chunk c is the right initial state for chunk c + 1. Needs n >= 1.
    """
    ids = _ids_arg("ids", ids, None, dims=1)
    B, T = positive_int("B", B), positive_int("T", T)
    L = (len(ids) - 1) // B
    if L < 1:
        raise ValueError(f"B: {len(ids)} ids give {len(ids) - 1} "
                         f"input-target pairs, too few for B = {B} streams")
    n = L // T
    if n < 1:
        raise ValueError(f"T: {len(ids)} ids give B = {B} streams of L = {L} "
                         f"characters, too few for one chunk of T = {T} "
                         f"steps (needs T <= L)")
    x = ids[:B * L].reshape(B, L)[:, :n * T]
    y = ids[1:B * L + 1].reshape(B, L)[:, :n * T]
    # (B, n T) -> (B, n, T) -> (n, T, B): chunk c of every stream, time-major
    return tuple(np.ascontiguousarray(s.reshape(B, n, T).transpose(1, 2, 0))
                 for s in (x, y))


def one_hot(ids, K, dtype=np.float32):
    """The one-hot codes of ``ids``, the network's inputs x(t): shape
    ids.shape + (K,), 1 at each id and 0 elsewhere.

    float32 by default, the dtype in which Chapter 6's torch model trains.
    """
    K = positive_int("K", K)
    dtype = floating_dtype("dtype", dtype)
    ids = _ids_arg("ids", ids, K, dims=None)
    return np.eye(K, dtype=dtype)[ids]


def softmax(O, temperature=1.0):
    """The probabilities of the next character, softmax(O / temperature) along
    the last axis: shape (..., K), that of the scores O.

    Each row's largest score is subtracted first, so that exp never
    overflows. A temperature below 1 sharpens the distribution towards the
    most likely character, one above 1 flattens it towards uniform;
    temperature 0 (the argmax) is ``sample_next``'s.
    """
    O = _scores_arg("O", O)
    temperature = positive_number("temperature", temperature)
    with np.errstate(over="ignore"):    # -inf: a score far below the best
        Z = (O - O.max(axis=-1, keepdims=True)) / temperature
    P = np.exp(Z)
    return P / P.sum(axis=-1, keepdims=True)


def sample_next(O, temperature, *, rng):
    """The next character, one id per row of scores O (..., K): shape
    O.shape[:-1], int64.

    Temperature 0 takes the most likely character (the argmax; ``rng`` is
    not used). Otherwise each row draws from p = softmax(O, temperature) by
    the inverse CDF: with one u = rng.random() per row (rows in C order),
    the id is the first k whose cumulative probability p_0 + ... + p_k
    exceeds u. The same state of ``rng`` gives the same draws.
    """
    O = _scores_arg("O", O)
    temperature = number_arg("temperature", temperature, low=0.0,
                             what="a temperature >= 0")
    if not isinstance(rng, np.random.Generator):
        raise ArgumentTypeError(f"rng: expected a numpy Generator, "
                                f"np.random.default_rng(seed), "
                                f"got {type(rng).__name__}")
    if temperature == 0:
        return O.argmax(axis=-1).astype(np.int64)
    # in float64, so that float32 scores draw as float64 ones do
    p = softmax(O.astype(np.float64), temperature)
    cdf = np.cumsum(p, axis=-1)
    # times the total, which is 1 up to rounding
    u = rng.random(O.shape[:-1]) * cdf[..., -1]
    ids = (cdf <= u[..., None]).sum(axis=-1)
    return np.minimum(ids, O.shape[-1] - 1).astype(np.int64)


def nats_to_bits(h):
    """The mean cross-entropy ``h``, in nats per character, in bits per
    character: h / ln 2.

    A number gives a float, an array an array; h must be finite and >= 0.
    """
    h = _entropy_arg("h", h)
    return h / math.log(2)


def perplexity(h):
    """The perplexity exp(h) of the mean cross-entropy ``h`` in nats per
    character: the number of equally likely characters among which the model
    is as uncertain (K for a uniform guess, 1 for a certain one).

    A number gives a float, an array an array; h must be finite and >= 0.
    """
    h = _entropy_arg("h", h)
    with np.errstate(over="ignore"):    # h > 709 nats: honestly infinite
        out = np.exp(h)
    return float(out) if isinstance(h, float) else out


_ENTROPY = "a cross-entropy in nats, finite and >= 0"


def _path_arg(name, value):
    if not isinstance(value, (str, pathlib.PurePath)) or not str(value):
        raise ArgumentTypeError(f"{name}: expected a path (str or "
                                f"pathlib.Path), got {value!r}")
    if "\0" in str(value):     # the OS would refuse it, naming no argument
        raise ValueError(f"{name}: expected a path without NUL characters, "
                         f"got {value!r}")
    return pathlib.Path(value)


def _sha256_arg(name, value):
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}: expected a checksum of 64 hex "
                                f"digits (str), got {value!r}")
    if len(value) != 64 or not set(value.lower()) <= set("0123456789abcdef"):
        raise ValueError(f"{name}: expected a checksum of 64 hex digits, "
                         f"got {value!r}")
    return value.lower()


def _text_arg(name, value):
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}: expected a str, "
                                f"got {type(value).__name__}")
    return value


def _vocab_arg(name, value):
    """``value`` if it is a vocabulary: a non-empty str of distinct
    characters."""
    value = _text_arg(name, value)
    if not value:
        raise ValueError(f"{name}: expected at least one character, got ''")
    if len(set(value)) != len(value):
        twice = sorted(c for c in set(value) if value.count(c) > 1)
        raise ValueError(f"{name}: expected distinct characters, got "
                         f"{twice} more than once")
    return value


def _ids_arg(name, value, K, dims):
    """``value`` as an int64 array of ids: 1-D for ``dims`` 1, any shape for
    None; each id in [0, K), or any id >= 0 for ``K`` None."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise ArgumentTypeError(f"{name}: expected an array of integer ids, "
                                f"got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ArgumentTypeError(
            f"{name}: expected an array of integer ids, "
            f"got a ragged {type(value).__name__}") from exc
    if arr.size == 0 and arr.dtype == np.float64:
        arr = arr.astype(np.int64)      # [] is an empty list of ids
    if arr.dtype.kind not in "iu":      # not bool, float, str, object
        raise ArgumentTypeError(f"{name}: expected integer ids, "
                                f"got dtype {arr.dtype}")
    if dims is not None and arr.ndim != dims:
        raise ValueError(f"{name}: expected a 1-D array of ids, "
                         f"got shape {arr.shape}")
    high = np.iinfo(np.int64).max if K is None else K - 1
    if arr.size and (arr.min() < 0 or arr.max() > high):
        at = tuple(int(i) for i in np.argwhere((arr < 0) | (arr > high))[0])
        span = "ids >= 0" if K is None else f"ids in [0, {K - 1}] (K = {K})"
        raise ValueError(f"{name}: expected {span}, got {arr[at]} at index "
                         f"{at[0] if len(at) == 1 else at}")
    return arr.astype(np.int64, copy=False)


def _scores_arg(name, value):
    """``value`` as a floating array of scores (..., K), finite."""
    arr = array_arg(name, value, None, {})
    if arr.ndim < 1:
        raise ValueError(f"{name}: expected scores of shape (..., K), "
                         f"got a scalar")
    return arr


def _code_points(text):
    """The Unicode code points of ``text``, as a uint32 array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4")


def _entropy_arg(name, value):
    """``value`` as a float (a number) or a floating array, finite, >= 0."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return number_arg(name, value, low=0.0, what=_ENTROPY)
    arr = array_arg(name, value, None, {})
    if np.any(arr < 0):
        raise ValueError(f"{name}: expected {_ENTROPY}, "
                         f"got {float(arr[arr < 0].flat[0])!r}")
    return arr
