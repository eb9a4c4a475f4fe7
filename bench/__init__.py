"""okrplan benchmarks: `make bench` runs bench/run.py."""

CHILD_ENV = "OKRPLAN_BENCH_CHILD"  # set for the timing processes the benchmark starts itself
