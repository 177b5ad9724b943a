from lib import *
C = []
u = lambda c: col("users", c)
ins = lambda **kw: dict({"k": "insert", "table": T("users"), "columns": ["id", "name"], "values": [[b(0), b(1)]]}, **kw)
WHYS.update({
 "delete/cte": "SQLAlchemy 1.4 adds a USING users for the CTE's table (a bug in the oracle's statement); also " + "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a CTE",
 "insert/cte": "KNOWN GAP: MySQL needs INSERT INTO t (...) WITH ... SELECT (SQLAlchemy puts the WITH after INSERT INTO on MySQL); athanor renders WITH first on every dialect; also " + "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a CTE",
 "insert/expression_values": "the oracle's table lists columns in another order; athanor renders the given order",

 "upsert/do_nothing": "MySQL has no DO NOTHING upsert: NotSupportedError (INSERT IGNORE would also swallow other errors)",
 "upsert/returning": "RETURNING: SQLAlchemy 1.4 has no RETURNING on SQLite (SQLite >= 3.35 has it)",
 "upsert/constraint": "ON CONFLICT ON CONSTRAINT is PostgreSQL only",
 "upsert/index_where": "an upsert target predicate has no MySQL form",
 "upsert/set_where": "ON DUPLICATE KEY UPDATE has no WHERE",
})
C.append(make("upsert/do_nothing", ins(on_conflict={"target": ["id"], "do": "nothing"})))
C.append(make("upsert/do_nothing_no_target", ins(on_conflict={"do": "nothing"}), why="MySQL has no DO NOTHING upsert"))
C.append(make("upsert/do_update_excluded", ins(on_conflict={"target": ["id"], "do": "update", "set": [["name", ["excluded", "name"]]]})))
C.append(make("upsert/do_update_bind", ins(on_conflict={"target": ["id"], "set": [["name", b(2)]]})))
C.append(make("upsert/do_update_expression", ins(on_conflict={"target": ["id"], "set": [["name", ["||", u("name"), ["excluded", "name"]]]]})))
C.append(make("upsert/set_where", ins(on_conflict={"target": ["id"], "set": [["name", ["excluded", "name"]]], "set_where": ["!=", u("name"), ["excluded", "name"]]})))
C.append(make("upsert/index_where", ins(on_conflict={"target": ["name"], "where": ["is_not", u("name"), ["null"]], "do": "nothing"})))
C.append(make("upsert/constraint", ins(on_conflict={"constraint": "users_pkey", "set": [["name", ["excluded", "name"]]]})))
C.append(make("upsert/returning", ins(on_conflict={"target": ["id"], "set": [["name", ["excluded", "name"]]]}, returning=[u("id")])))
C.append(make("upsert/multi_row", {"k": "insert", "table": T("users"), "columns": ["id", "name"], "values": [[b(0), b(1)], [b(2), b(3)]],
                                   "on_conflict": {"target": ["id"], "set": [["name", ["excluded", "name"]]]}}))
C.append(make("upsert/update_needs_target", ins(on_conflict={"set": [["name", b(2)]]}), why="MySQL's target is implied by the table's keys"))
C.append(make("upsert/bad_do", ins(on_conflict={"do": "merge"})))
C.append(make("upsert/target_and_constraint", ins(on_conflict={"target": ["id"], "constraint": "x", "do": "nothing"})))
# update from / multi-table
upd = {"k": "update", "table": T("users"), "set": [["name", col("addresses", "email")]], "from": [T("addresses")], "where": ["=", u("id"), col("addresses", "user_id")]}
C.append(make("update/from", upd, why="SQLAlchemy infers the extra FROM from WHERE; athanor takes it from \"from\""))
C.append(make("update/from_two_sets", dict(upd, set=[["name", col("addresses", "email")], ["nick", b(0)]]), why="explicit \"from\""))
C.append(make("update/order_limit", {"k": "update", "table": T("users"), "set": [["name", b(0)]], "order_by": [u("id")], "limit": b(1)},
              why="UPDATE ... ORDER BY / LIMIT is MySQL's (SQLAlchemy: mysql_limit dialect option)"))
C.append(make("update/cte", {"k": "update", "with": [{"name": "old", "query": sel([u("id")], where=["<", u("id"), b(0)])}], "table": T("users"), "set": [["name", b(1)]],
                             "where": ["in", u("id"), sel([col("old", "id")])]}, why="the oracle hoists via add_cte; same SQL"))
C.append(make("update/set_quoted", {"k": "update", "table": T("order"), "set": [["group", b(0)], ["Total", lit(0)]], "where": ["=", col("order", "id"), b(1)]}))
C.append(make("update/scalar_subquery_set", {"k": "update", "table": T("users"), "set": [["n", ["scalar", sel([["fn", "count", []]], where=["=", col("addresses", "user_id"), u("id")])]]]}))
# delete
C.append(make("delete/using_two", {"k": "delete", "table": T("users"), "using": [T("banned"), T("flags")], "where": ["and", ["=", u("email"), col("banned", "email")], ["=", col("flags", "user_id"), u("id")]]},
              why="SQLAlchemy infers the USING list from WHERE; athanor takes it from \"using\"; SQLite has no DELETE ... USING"))
C.append(make("delete/returning", {"k": "delete", "table": T("users"), "where": ["=", u("id"), b(0)], "returning": [u("id"), u("name")]},
              why="SQLAlchemy 1.4 has no RETURNING on SQLite (SQLite >= 3.35 has it)"))
C.append(make("delete/cte", {"k": "delete", "with": [{"name": "old", "query": sel([u("id")], where=["<", u("id"), b(0)])}], "table": T("users"),
                             "where": ["in", u("id"), sel([col("old", "id")])]}))
C.append(make("delete/exists_correlated", {"k": "delete", "table": T("users"), "where": ["not_exists", sel([col("addresses", "id")], where=["=", col("addresses", "user_id"), u("id")])]}))
# insert
C.append(make("insert/cte", {"k": "insert", "with": [{"name": "src", "query": sel([u("id"), u("name")], where=[">", u("id"), b(0)])}], "table": T("archive"), "columns": ["id", "name"],
                             "select": sel([col("src", "id"), col("src", "name")])}))
C.append(make("insert/select_union", {"k": "insert", "table": T("archive"), "columns": ["id"], "select": {"k": "union", "selects": [sel([u("id")]), sel([col("old", "id")])]}}))
C.append(make("insert/expression_values", {"k": "insert", "table": T("users"), "columns": ["name", "created"], "values": [[["fn", "lower", [b(0)]], ["fn", "now", []]]]}))
C.append(make("insert/returning_expression", {"k": "insert", "table": T("users"), "columns": ["name"], "values": [[b(0)]], "returning": [u("id"), ["fn", "upper", [u("name")]]]},
              why="SQLAlchemy 1.4 has no RETURNING on SQLite"))
dump('/work/main/tests/compiler/cases/08_dml.json', C)
