"""bench/sa_bench.py — the benchmark workloads through SQLAlchemy 1.4 Core (Debian's
python3-sqlalchemy, with psycopg2 / pymysql for the servers): W2 executemany insert of N customers,
W3 load N rows, W4 10,000 primary-key lookups (one prepared-statement-shaped select, cached), W6c
compile time per statement (Select.compile(), no cache) and W6h a compiled-cache lookup
(ClauseElement._compile_w_cache, what Connection.execute does). The ORM workloads (1.4's ORM in
2.0 style: select(), Session.get, selectinload, joinedload): W1 N new Customer objects in one
flush, W3o N rows loaded as objects with every attribute read once, W4o 10,000 Session.get calls,
a new Session each (examples/performance/short_selects), W5s / W5j 1,000 parents with 10 children
each, children loaded by selectinload / joinedload and every child read. Setup is untimed; every
run's result is checked (counts, sums).
Usage: /usr/bin/python3 bench/sa_bench.py BACKEND URL WORKLOAD N RUNS; prints one JSON line."""
import json
import sys
import time

import sqlalchemy as sa
from sqlalchemy import orm

LOOKUPS = 10000
CHILDREN = 10
ORM_WORKLOADS = ("W1", "W3o", "W4o", "W5s", "W5j")


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


def orm_workload(engine, workload, n, nruns):
    """The ORM workloads; returns the list of run times."""
    reg = orm.registry()

    @reg.mapped
    class Customer:  # pylint: disable=unused-variable
        __tablename__ = "customer"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(255))
        description = sa.Column(sa.String(255))
        value = sa.Column(sa.Integer)

    @reg.mapped
    class Parent:
        __tablename__ = "parent"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(255))
        children = orm.relationship("Child", back_populates="parent")

    @reg.mapped
    class Child:
        __tablename__ = "child"
        id = sa.Column(sa.Integer, primary_key=True)
        parent_id = sa.Column(sa.Integer, sa.ForeignKey("parent.id"), nullable=False)
        name = sa.Column(sa.String(255))
        value = sa.Column(sa.Integer)
        parent = orm.relationship("Parent", back_populates="children")

    meta = reg.metadata

    def fresh():
        meta.drop_all(engine)
        meta.create_all(engine)

    def insert_customers():
        with orm.Session(engine) as session:
            session.add_all([Customer(name="name %d" % i, description="description of customer %d" % i, value=i % 1000)
                             for i in range(n)])
            session.commit()

    def check_customers():
        with engine.connect() as conn:
            count, total = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Customer.value), 0))).one()
        assert (count, total) == (n, sum(i % 1000 for i in range(n))), (count, total)

    runs = []
    if workload == "W1":
        for _ in range(nruns):
            fresh()
            t0 = time.perf_counter()
            insert_customers()
            runs.append(time.perf_counter() - t0)
            check_customers()
    elif workload in ("W3o", "W4o"):
        fresh()
        insert_customers()
        check_customers()
        for _ in range(nruns):
            t0 = time.perf_counter()
            if workload == "W3o":
                got = total = 0
                with orm.Session(engine) as session:
                    for c in session.execute(sa.select(Customer)).scalars():
                        got += (c.id > 0) + (len(c.name) > 0) + (len(c.description) > 0)
                        total += c.value
                runs.append(time.perf_counter() - t0)
                assert (got, total) == (3 * n, sum(i % 1000 for i in range(n))), (got, total)
            else:
                found = 0
                for k in range(LOOKUPS):
                    id_ = (k * 7919) % n + 1
                    with orm.Session(engine) as session:
                        c = session.get(Customer, id_)
                        found += c.id == id_ and c.value == (id_ - 1) % 1000
                runs.append(time.perf_counter() - t0)
                assert found == LOOKUPS, found
    else:  # W5s, W5j
        fresh()
        with orm.Session(engine) as session:
            for i in range(n):
                p = Parent(name="name %d" % i)
                p.children = [Child(name="name %d" % j, value=j % 1000)
                              for j in range(i * CHILDREN, (i + 1) * CHILDREN)]
                session.add(p)
            session.commit()
        expected = sum(j % 1000 for j in range(n * CHILDREN))
        loader = orm.selectinload if workload == "W5s" else orm.joinedload
        for _ in range(nruns):
            t0 = time.perf_counter()
            parents = children = total = 0
            with orm.Session(engine) as session:
                for p in session.execute(sa.select(Parent).options(loader(Parent.children))).unique().scalars():
                    parents += 1
                    for c in p.children:
                        children += len(c.name) > 0
                        total += c.value
            runs.append(time.perf_counter() - t0)
            assert (parents, children, total) == (n, n * CHILDREN, expected), (parents, children, total)
    meta.drop_all(engine)
    return runs


def main():
    backend, url, workload, n, nruns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if workload in ORM_WORKLOADS:
        # QueuePool on SQLite files too (1.4's default there is NullPool, a new sqlite3 connection per
        # Session; 2.0 and athanor pool them), so W4o measures the ORM, not sqlite3_open
        opts = {"poolclass": sa.pool.QueuePool} if backend == "sqlite" else {}
        runs = orm_workload(sa.create_engine(url, **opts), workload, n, nruns)
        print(json.dumps({"workload": workload, "impl": "sqlalchemy-orm", "backend": backend,
                          "n": LOOKUPS if workload == "W4o" else n, "runs": [round(r, 6) for r in runs],
                          "maxrss_kb": peak_rss_kb()}))
        return
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
