"""bench/sa_bench.py — the benchmark workloads through SQLAlchemy 1.4 Core (Debian's
python3-sqlalchemy, with psycopg2 / pymysql for the servers): W2 executemany insert of N customers,
W3 load N rows, W4 10,000 primary-key lookups (one prepared-statement-shaped select, cached), W6c
compile time per statement (Select.compile(), no cache) and W6h a compiled-cache lookup
(ClauseElement._compile_w_cache, what Connection.execute does). Setup is untimed.
Usage: /usr/bin/python3 bench/sa_bench.py BACKEND URL WORKLOAD N RUNS; prints one JSON line."""
import json
import sys
import time

import sqlalchemy as sa

LOOKUPS = 10000


def peak_rss_kb():
    """VmHWM: this process image's peak (ru_maxrss would keep the driver's across fork + exec)."""
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def rows(n):
    return [{"name": "name %d" % i, "description": "description of customer %d" % i, "value": i % 1000}
            for i in range(n)]


def main():
    backend, url, workload, n, nruns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    meta = sa.MetaData()
    customer = sa.Table("customer", meta,
                        sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("name", sa.String(255)),
                        sa.Column("description", sa.String(255)),
                        sa.Column("value", sa.Integer))
    by_pk = sa.select(customer).where(customer.c.id == sa.bindparam("id"))
    engine = sa.create_engine(url)
    runs = []
    if workload in ("W6c", "W6h"):
        dialect = engine.dialect
        cache = {}
        by_pk._compile_w_cache(dialect, compiled_cache=cache, column_keys=[])
        for _ in range(nruns):
            t0 = time.perf_counter()
            if workload == "W6c":
                for _ in range(n):
                    by_pk.compile(dialect=dialect)
            else:
                for _ in range(n):
                    by_pk._compile_w_cache(dialect, compiled_cache=cache, column_keys=[])
            runs.append(time.perf_counter() - t0)
    else:
        data = rows(n)

        def fresh():
            meta.drop_all(engine)
            meta.create_all(engine)

        def insert():
            with engine.begin() as conn:
                conn.execute(customer.insert(), data)

        if workload != "W2":
            fresh()
            insert()
        for _ in range(nruns):
            if workload == "W2":
                fresh()
                t0 = time.perf_counter()
                insert()
            elif workload == "W3":
                t0 = time.perf_counter()
                with engine.begin() as conn:
                    got = sum(len(r.name) for r in conn.execute(sa.select(customer)))
                assert got > 0
            elif workload == "W4":
                t0 = time.perf_counter()
                with engine.begin() as conn:
                    for k in range(LOOKUPS):
                        row = conn.execute(by_pk, {"id": (k * 7919) % n + 1}).one()
                        assert row.id
            else:
                sys.exit("sa_bench: unknown workload " + workload)
            runs.append(time.perf_counter() - t0)
        meta.drop_all(engine)
    if workload == "W4":
        n = LOOKUPS
    print(json.dumps({"workload": workload, "impl": "sqlalchemy-core", "backend": backend, "n": n,
                      "runs": [round(r, 6) for r in runs],
                      "maxrss_kb": peak_rss_kb()}))


if __name__ == "__main__":
    main()
