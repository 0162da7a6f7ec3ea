"""The benchmarks of bench/run as a small library: `context` (options, counts, results), `tools`
(the load generators and the private environment), one module per section, and `results`
(RESULTS.md). bench/bench.py is the entry point."""
