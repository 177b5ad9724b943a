from lib import *
C = []
WHYS.update({'compound/as_subquery': "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a subquery/CTE (same result column names)", 'cte/simple': "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a subquery/CTE (same result column names)", 'cte/inferred_from': "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a subquery/CTE (same result column names)", 'cte/joined': "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a subquery/CTE (same result column names)", 'cte/on_compound': "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a subquery/CTE (same result column names)", 'cte/two': "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a subquery/CTE (same result column names)", 'subquery/join_aggregate': "athanor does not add SQLAlchemy's 'AS name' labels to plain columns inside a subquery/CTE (same result column names)", 'compound/order_limit': "SQLAlchemy's SQLite compiler adds OFFSET ? (bound 0) after LIMIT ?; athanor omits it", 'for_update/with_limit': "SQLAlchemy's SQLite compiler adds OFFSET ? (bound 0) after LIMIT ?; athanor omits it; FOR UPDATE is dropped on SQLite as SQLAlchemy does", 'for_update/of': 'MySQL 8 has FOR UPDATE OF (SQLAlchemy renders it for server versions >= 8; the oracle has no server version)', 'for_update/of_skip_locked': 'MySQL 8 has FOR UPDATE OF (SQLAlchemy renders it for server versions >= 8)', 'subquery/nested_two_levels': 'SQLAlchemy parenthesises an EXISTS inside AND; athanor does not (same meaning) - to align', 'subquery/alias_self_join_subquery': "the oracle cannot tell the aliased and plain users apart; athanor's SQL is SQLAlchemy's for select(max(users.id)) inside a query on aliased(users)", 'lit/backslash': 'PostgreSQL literals keep a backslash single (standard_conforming_strings is on by default since 9.1); SQLAlchemy 1.4 doubles it until it has detected the setting on a connection', 'lit/quote_and_backslash': 'PostgreSQL: backslash kept single (standard_conforming_strings)', 'table_fn/generate_series': "the oracle cannot name a table_valued column without a column list; SQL as SQLAlchemy's table_valued().alias()", 'table_fn/joined': 'the oracle cannot name a table_valued column without a column list'})
u = lambda c: col("users", c)
ad = lambda c: col("addresses", c)
s1 = sel([u("id"), u("name")], where=["=", u("name"), b(0)])
s2 = sel([u("id"), u("name")], where=["=", u("name"), b(1)])
for k in ("union", "union_all", "intersect", "intersect_all", "except", "except_all"):
    C.append(make("compound/" + k, {"k": k, "selects": [s1, s2]}))
C.append(make("compound/three", {"k": "union", "selects": [s1, s2, sel([u("id"), u("name")], where=[">", u("id"), b(2)])]}))
C.append(make("compound/order_limit", {"k": "union", "selects": [s1, s2], "order_by": [u("name")], "limit": b(2)}))
C.append(make("compound/order_desc_offset", {"k": "union_all", "selects": [s1, s2], "order_by": [["desc", u("id")]], "limit": b(2), "offset": b(3)}))
lim = sel([u("id"), u("name")], order_by=[u("id")], limit=b(0))
C.append(make("compound/member_with_limit", {"k": "union_all", "selects": [lim, s2]},
              why="SQLite does not accept a parenthesised SELECT in a compound: athanor wraps the member as SELECT * FROM (...); SQLAlchemy renders (SELECT ...), which SQLite rejects"))
C.append(make("compound/nested", {"k": "union", "selects": [s1, {"k": "intersect", "selects": [s2, sel([u("id"), u("name")])]}]},
              why="SQLite: nested compound wrapped as SELECT * FROM (...) (SQLAlchemy's parenthesised form is rejected by SQLite)"))
C.append(make("compound/as_subquery", sel([col("q", "id")], **{"from": [["subquery", {"k": "union", "selects": [s1, s2]}, "q"]]})))
C.append(make("compound/in_where", sel([ad("email")], where=["in", ad("user_id"), {"k": "union", "selects": [sel([u("id")], where=["=", u("name"), b(0)]), sel([u("id")], where=["=", u("name"), b(1)])]}])))
C.append(make("compound/needs_two", {"k": "union", "selects": [s1]}))
C.append(make("compound/unknown_key", {"k": "union", "selects": [s1, s2], "where": ["true"]}))
C.append(make("compound/count_labels", {"k": "union_all", "selects": [sel([["fn", "count", []]], **{"from": [T("users")]}), sel([["fn", "count", []]], **{"from": [T("addresses")]})]}))
# CTEs
cte1 = {"name": "big", "query": sel([u("id"), u("name")], where=[">", u("id"), b(0)])}
C.append(make("cte/simple", sel([col("big", "name")], **{"with": [cte1], "from": [["cte", "big"]]})))
C.append(make("cte/inferred_from", sel([col("big", "name")], **{"with": [cte1]})))
C.append(make("cte/two", sel([col("big", "name"), col("small", "id")], **{"with": [cte1, {"name": "small", "query": sel([u("id")], where=["<", u("id"), b(1)])}],
     "where": ["=", col("big", "id"), col("small", "id")]})))
C.append(make("cte/joined", sel([u("name"), col("cnt", "n")], **{"with": [{"name": "cnt", "query": sel([ad("user_id"), ["label", "n", ["fn", "count", []]]], group_by=[ad("user_id")])}],
     "from": [["join", T("users"), ["cte", "cnt"], ["=", u("id"), col("cnt", "user_id")], "inner"]]})))
rec = {"name": "nums", "recursive": True, "query": {"k": "union_all", "selects": [sel([["label", "n", lit(1)]]), sel([["label", "n", ["+", col("nums", "n"), lit(1)]]], where=["<", col("nums", "n"), b(0)])]}}
C.append(make("cte/recursive_counter", sel([col("nums", "n")], **{"with": [rec]}), why="the oracle builds the recursive CTE with SQLAlchemy's cte().union_all(); same SQL"))
tree = {"name": "tree", "recursive": True, "columns": ["id", "parent_id"], "query": {"k": "union_all", "selects": [
    sel([col("nodes", "id"), col("nodes", "parent_id")], where=["=", col("nodes", "id"), b(0)]),
    sel([col("n", "id"), col("n", "parent_id")], **{"from": [["join", ["alias", T("nodes"), "n"], ["cte", "tree"], ["=", col("n", "parent_id"), col("tree", "id")], "inner"]]})]}}
C.append(make("cte/recursive_tree", sel([col("tree", "id")], **{"with": [tree], "from": [["cte", "tree"]]}), why="columns given explicitly; SQLAlchemy derives the same list"))
C.append(make("cte/recursive_needs_names", sel([col("r", "x")], **{"with": [{"name": "r", "recursive": True, "query": {"k": "union_all", "selects": [sel([lit(1)]), sel([lit(2)])]}}]})))
C.append(make("cte/columns_nonrecursive", sel([col("c", "x")], **{"with": [{"name": "c", "columns": ["x"], "query": sel([u("id")])}]}),
              why="a non-recursive CTE with explicit \"columns\" renders its column list (SQLAlchemy has no such option)"))
C.append(make("cte/on_compound", {"k": "union", "with": [cte1], "selects": [sel([col("big", "id")]), sel([ad("user_id")])]}))
C.append(make("cte/missing_query", sel([lit(1)], **{"with": [{"name": "x"}]})))
# DISTINCT ON
C.append(make("distinct_on/one", sel([u("name"), u("id")], distinct=[u("name")], order_by=[u("name"), ["desc", u("id")]]),
              why="DISTINCT ON is PostgreSQL only: NotSupportedError elsewhere (SQLAlchemy 1.4 warns and renders plain DISTINCT)"))
C.append(make("distinct_on/two", sel([u("name"), u("id")], distinct=[u("name"), u("id")]), why="DISTINCT ON is PostgreSQL only"))
C.append(make("distinct_on/empty_list", sel([u("name")], distinct=[])))
# FOR UPDATE
fu = lambda **kw: sel([u("id")], where=["=", u("id"), b(0)], for_update=kw)
C.append(make("for_update/plain", fu()))
C.append(make("for_update/nowait", fu(nowait=True)))
C.append(make("for_update/skip_locked", fu(skip_locked=True)))
C.append(make("for_update/read", fu(read=True)))
C.append(make("for_update/read_nowait", fu(read=True, nowait=True)))
C.append(make("for_update/key_share", fu(key_share=True)))
C.append(make("for_update/read_key_share", fu(read=True, key_share=True)))
C.append(make("for_update/of", sel([u("id"), ad("id")], where=["=", u("id"), ad("user_id")], for_update={"of": ["users"]})))
C.append(make("for_update/of_skip_locked", sel([u("id")], for_update={"of": [["table", "users"]], "skip_locked": True})))
C.append(make("for_update/with_limit", sel([u("id")], limit=b(0), for_update={})))
C.append(make("for_update/nowait_and_skip", fu(nowait=True, skip_locked=True)))
# LATERAL
lat = ["lateral", sel([ad("email")], where=["=", ad("user_id"), u("id")], limit=b(0)), "a"]
C.append(make("lateral/join", sel([u("name"), col("a", "email")], **{"from": [["join", T("users"), lat, ["true"], "inner"]]}),
              why="LATERAL: PostgreSQL and MySQL 8; NotSupportedError on SQLite and MariaDB (SQLAlchemy renders LATERAL, which they reject)"))
C.append(make("lateral/left_join", sel([u("name"), col("a", "email")], **{"from": [["join", T("users"), lat, ["true"], "left"]]}),
              why="LATERAL: PostgreSQL and MySQL 8 only"))
C.append(make("lateral/cross", sel([u("name"), col("a", "email")], **{"from": [T("users"), lat]}), why="LATERAL: PostgreSQL and MySQL 8 only"))
# VALUES
C.append(make("values/two_rows", sel([col("v", "x"), col("v", "y")], **{"from": [["values", [[b(0), b(1)], [b(2), b(3)]], "v", ["x", "y"]]]}),
              why="SQLite and MySQL/MariaDB accept no column list on a derived table: the rows render as SELECT ... UNION ALL SELECT ...; SQLAlchemy renders (VALUES ...) AS v (x, y) everywhere, which they reject",
              params=[1, "a", 2, "b"]))
C.append(make("values/join", sel([u("name"), col("v", "rank")], **{"from": [["join", T("users"), ["values", [[lit(1), lit(10)], [lit(2), lit(20)]], "v", ["id", "rank"]], ["=", u("id"), col("v", "id")], "inner"]]}),
              why="SQLite/MySQL: VALUES as SELECT ... UNION ALL; literal rows"))
C.append(make("values/one_column", sel([col("v", "n")], **{"from": [["values", [[b(0)], [b(1)], [b(2)]], "v", ["n"]]]}), why="SQLite/MySQL: VALUES as SELECT ... UNION ALL", params=[1, 2, 3]))
C.append(make("values/row_length", sel([col("v", "n")], **{"from": [["values", [[b(0)], [b(1), b(2)]], "v", ["n"]]]})))
# table-valued functions
C.append(make("table_fn/json_each", sel([col("j", "value")], **{"from": [["table_fn", ["fn", "json_each", [b(0)]], "j", ["key", "value"]]]}), why="the oracle names its table_valued alias; same SQL"))
C.append(make("table_fn/generate_series", sel([col("g", "value")], **{"from": [["table_fn", ["fn", "generate_series", [lit(1), b(0)]], "g"]]})))
C.append(make("table_fn/joined", sel([u("name"), col("j", "value")], **{"from": [T("users"), ["table_fn", ["fn", "json_each", [u("tags")]], "j"]]})))
C.append(make("table_fn/not_a_function", sel([col("j", "value")], **{"from": [["table_fn", ["col", "t", "a"], "j"]]})))
# subqueries
sq = ["subquery", sel([ad("user_id"), ["label", "n", ["fn", "count", []]]], group_by=[ad("user_id")]), "counts"]
C.append(make("subquery/join_aggregate", sel([u("name"), col("counts", "n")], **{"from": [["join", T("users"), sq, ["=", u("id"), col("counts", "user_id")], "left"]]})))
C.append(make("subquery/scalar_in_columns", sel([u("name"), ["label", "n", ["scalar", sel([["fn", "count", []]], where=["=", ad("user_id"), u("id")])]]])))
C.append(make("subquery/scalar_in_where", sel([u("name")], where=[">", ["scalar", sel([["fn", "count", []]], where=["=", ad("user_id"), u("id")])], b(0)])))
C.append(make("subquery/exists_correlated", sel([u("name")], where=["exists", sel([ad("id")], where=["=", ad("user_id"), u("id")])])))
C.append(make("subquery/not_in_select", sel([u("name")], where=["not_in", u("id"), sel([ad("user_id")])])))
C.append(make("subquery/nested_two_levels", sel([u("name")], where=["exists", sel([ad("id")], where=["and", ["=", ad("user_id"), u("id")], ["exists", sel([col("orders", "id")], where=["=", col("orders", "address_id"), ad("id")])]])])))
C.append(make("subquery/tuple_in_select", sel([u("name")], where=["in", ["tuple", u("id"), u("name")], sel([ad("user_id"), ad("email")])])))
C.append(make("subquery/alias_self_join_subquery", sel([col("u2", "name")], **{"from": [["alias", T("users"), "u2"]]}, where=["=", col("u2", "id"), ["scalar", sel([["fn", "max", [u("id")]]], **{"from": [T("users")]})]])))
# quoting / literals per dialect
C.append(make("quote/cte_and_alias_names", sel([col("Select", "Order")], **{"with": [{"name": "Select", "query": sel([["label", "Order", u("id")]])}]})))
C.append(make("lit/backslash", sel([lit("a\\b")])))
C.append(make("lit/percent", sel([lit("100%")])))
C.append(make("lit/quote_and_backslash", sel([u("id")], where=["=", u("name"), lit("O'Re\\illy")])))
C.append(make("lit/bool_per_dialect", sel([lit(True), lit(False)])))
C.append(make("lit/negative_and_float", sel([lit(-5), lit(2.5), lit(1e20)])))
C.append(make("lit/unicode", sel([lit("héllo ✓")])))
C.append(make("quote/odd_characters", sel([col("my table", "my col"), col("my table", "a\"b")])))
C.append(make("quote/mixed_case_table_schema", sel([col("Users", "Id")], **{"from": [["table", "Users", {"schema": "Sales"}]]})))
dump('/work/main/tests/compiler/cases/07_select.json', C)
