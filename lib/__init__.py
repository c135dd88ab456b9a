"""The library behind the book: one module per concept, numpy first.

Import the modules you need, e.g. ``from rnnbook import rnn``. The numpy modules work without torch;
only ``rnnbook.reference`` (torch mirrors of the equations), ``rnnbook.bridge`` (the numpy GRU inside torch
training) and ``rnnbook.train`` (the training loop) import it, and only when they are imported.
"""
