"""Small importable functions for tests that enqueue real RQ jobs."""


def add(a, b):
    return a + b
