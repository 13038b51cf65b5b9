"""Inference: the seed's ensemble policy and the combiners that go beyond it."""
