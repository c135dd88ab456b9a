"""The library behind the book: one module per concept, numpy first.

Import the modules you need, e.g. ``from lib import rnn``. Nothing here imports torch; only
``lib.reference`` does, and only when it is imported.
"""
