"""Benchmarks: the handler micro-benchmark and the proxy load benchmark (``make bench``)."""
