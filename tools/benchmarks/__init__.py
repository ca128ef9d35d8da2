"""Benchmarks (make bench, bench-remote, bench-scale, bench-sweep): they print figures, they assert nothing."""
