"""The library behind the book: one module per concept, numpy first.

Import the modules you need, e.g. ``from lib import rnn``. The numpy modules work without torch;
only ``lib.reference`` (torch mirrors of the equations), ``lib.bridge`` (the numpy GRU inside torch
training) and ``lib.train`` (the training loop) import it, and only when they are imported.
"""
