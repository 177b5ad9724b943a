from lib import *
C = []
a, t = col("t", "a"), "t"
W = lambda e: sel([col("t", "a")], where=e)
# affix
for k in ("contains", "startswith", "endswith", "not_contains", "not_startswith", "not_endswith"):
    C.append(make("affix/" + k, W([k, a, b(0)])))
C.append(make("affix/in_and_grouped", W(["and", ["contains", a, b(0)], ["=", col("t","b"), b(1)]])))
C.append(make("affix/escape", W(["contains", a, b(0), {"escape": "^"}])))
C.append(make("affix/autoescape", W(["contains", a, b(0), {"autoescape": True}]), params=["50%_off/now"], expect_params=["50/%/_off//now"]))
C.append(make("affix/startswith_autoescape", W(["startswith", a, b(0), {"autoescape": True}]), params=["a_b"], expect_params=["a/_b"]))
C.append(make("affix/column_operand", W(["endswith", a, col("t", "suffix")])))
C.append(make("affix/autoescape_needs_bind", W(["contains", a, lit("x"), {"autoescape": True}])))
# regexp / custom op
C.append(make("regexp/match", W(["regexp", a, b(0)])))
C.append(make("regexp/not_match", W(["not_regexp", a, b(0)])))
C.append(make("regexp/not_of_match", W(["not", ["regexp", a, b(0)]])))
C.append(make("op/custom_binary", sel([["op", "<->", col("t","p"), b(0)]])))
C.append(make("op/custom_in_comparison", W(["<", ["op", "<->", col("t","p"), b(0)], b(1)])))
C.append(make("op/custom_rejects_letters", sel([["op", "OR 1=1 --", a, b(0)]])))
C.append(make("op/json_contains_pg", W(["op", "@>", col("t","doc"), b(0)])))
# cast
for ty in (["Integer"], ["BigInteger"], ["String"], ["String", 10], ["Text"], ["Numeric", 10, 2], ["Float"], ["Date"], ["DateTime"], ["DateTime", {"timezone": True}], ["Time"], ["LargeBinary"], ["JSON"], ["Boolean"]):
    C.append(make("cast/" + "_".join(str(x) if not isinstance(x, dict) else "tz" for x in ty).lower(), sel([["cast", a, ty]])))
C.append(make("cast/expression_anon_label", sel([["cast", ["+", a, b(0)], ["Integer"]]])))
C.append(make("cast/bind", W(["=", a, ["cast", b(0), ["Numeric", 12, 4]]])))
C.append(make("cast/in_where", W([">", ["cast", a, ["Integer"]], b(0)])))
C.append(make("cast/pg_jsonb", sel([["cast", a, ["postgresql.JSONB"]]]), why="a dialect type is refused outside its dialect (SQLAlchemy renders JSONB as JSON on MySQL and fails on SQLite)"))
C.append(make("cast/uuid", sel([["cast", a, ["UUID"]]])))
C.append(make("cast/array", sel([["cast", a, ["ARRAY", ["Integer"]]]])))
C.append(make("cast/unknown_type", sel([["cast", a, ["Wibble"]]])))
C.append(make("cast/type_coerce_renders_expression", sel([["type_coerce", a, ["String"]]]), why="type_coerce decodes to its expression, so a column keeps its own (implicit) name; SQLAlchemy adds AS a"))
C.append(make("cast/mysql_tinyint", sel([["cast", a, ["mysql.TINYINT", 1]]]), why="a dialect type is refused outside its dialect"))
# extract / collate
for f in ("year", "month", "day", "hour", "epoch", "dow"):
    C.append(make("extract/" + f, sel([["extract", f, col("t", "d")]])))
C.append(make("extract/bad_field_chars", sel([["extract", "year FROM x); --", col("t", "d")]])))
C.append(make("collate/plain", sel([["collate", a, "nocase"]])))
C.append(make("collate/mixed_case_quoted", sel([["collate", a, "en_US"]])))
C.append(make("collate/in_comparison_grouped", W(["=", ["collate", a, "utf8_bin"], b(0)])))
C.append(make("collate/order_by", sel([a], order_by=[["asc", ["collate", a, "nocase"]]])))
# simple case
C.append(make("case/simple", sel([["case_on", a, [[b(0), lit("one")], [b(1), lit("two")]], lit("many")]])))
C.append(make("case/simple_no_else", sel([["case_on", a, [[lit(1), lit("x")]]]])))
C.append(make("case/searched_else", sel([["case", [[[">", a, b(0)], lit("big")]], lit("small")]])))
C.append(make("case/in_where", W(["=", ["case", [[["is", a, ["null"]], lit(0)]], a], b(0)])))
# json
C.append(make("json/get", sel([["json_get", col("t","doc"), b(0)]]), params=["name"],
              why="PostgreSQL: the key is bound as given; SQLite/MySQL bind the JSON path '$.\"name\"' as SQLAlchemy's JSONIndexType does"))
C.append(make("json/get_text", sel([["json_get_text", col("t","doc"), b(0)]]), params=["name"],
              why="PostgreSQL: ->> already yields text, so athanor does not add SQLAlchemy 1.4's CAST(... AS VARCHAR)"))
C.append(make("json/get_index", sel([["json_get", col("t","doc"), b(0)]]), params=[2], why="same SQL as SQLAlchemy; the oracle names its anonymous JSON binds"))
C.append(make("json/path", sel([["json_path", col("t","doc"), b(0)]]), params=[["a", 1, "b"]], why="same SQL as SQLAlchemy; path bound as '$.\"a\"[1].\"b\"' (SQLite/MySQL) or '{a, 1, b}' (PostgreSQL)"))
C.append(make("json/path_text", sel([["json_path_text", col("t","doc"), b(0)]]), params=[["a", "b"]], why="PostgreSQL: #>> without SQLAlchemy 1.4's CAST(... AS VARCHAR)"))
C.append(make("json/get_text_in_where", W(["=", ["json_get_text", col("t","doc"), b(0)], b(1)]), params=["k", "v"], why="PostgreSQL: ->> without the CAST"))
C.append(make("json/literal_key", sel([["json_get", col("t","doc"), lit("name")]]), why="a literal key renders inline (SQLite/MySQL as the path '$.\"name\"')"))
C.append(make("json/key_must_be_bind", sel([["json_get", col("t","doc"), col("t","k")]])))
# arrays
C.append(make("array/any", W(["=", b(0), ["any", col("t","arr")]])))
C.append(make("array/all", W(["<", b(0), ["all", col("t","arr")]])))
C.append(make("array/index", W(["=", ["index", col("t","arr"), b(0)], b(1)])))
C.append(make("array/slice", sel([["slice", col("t","arr"), b(0), b(1)]])))
C.append(make("array/index_literal", sel([["index", col("t","arr"), lit(1)]])))
# windows
sa = col("t", "a")
def over(fn, args, w): return ["fn", fn, args, {"over": w}]
C.append(make("window/row_number", sel([over("row_number", [], {"order_by": [["desc", sa]]})])))
C.append(make("window/partition", sel([over("sum", [col("t","x")], {"partition_by": [col("t","g")]})])))
C.append(make("window/partition_order", sel([over("rank", [], {"partition_by": [col("t","g")], "order_by": [sa]})])))
C.append(make("window/empty", sel([over("count", [], {})])))
C.append(make("window/rows_unbounded_current", sel([over("sum", [sa], {"order_by": [sa], "rows": [None, 0]})])))
C.append(make("window/rows_offsets", sel([over("avg", [sa], {"order_by": [sa], "rows": [-2, 2]})]), why="frame offsets are shape, rendered inline; SQLAlchemy binds them as parameters"))
C.append(make("window/range_current_unbounded", sel([over("sum", [sa], {"order_by": [sa], "range": [0, None]})])))
C.append(make("window/range_unbounded_both", sel([over("max", [sa], {"partition_by": [col("t","g")], "range": [None, None]})])))
C.append(make("window/labelled", sel([["label", "rn", over("row_number", [], {"order_by": [sa]})]])))
C.append(make("window/two_windows_anon", sel([over("lag", [sa], {"order_by": [sa]}), over("lead", [sa], {"order_by": [sa]})])))
C.append(make("window/filter_and_over", sel([["fn", "count", [], {"filter": [">", sa, b(0)], "over": {"partition_by": [col("t","g")]}}]]),
              why="MySQL has no FILTER: athanor emulates it as count(CASE WHEN ... THEN 1 END); SQLAlchemy renders FILTER, which MySQL rejects"))
C.append(make("window/bad_frame", sel([over("sum", [sa], {"rows": [1.5, 0]})])))
C.append(make("window/rows_and_range", sel([over("sum", [sa], {"rows": [None, 0], "range": [None, 0]})])))
# filter / within group
C.append(make("filter/count_star", sel([["fn", "count", [], {"filter": [">", sa, b(0)]}]]),
              why="MySQL has no FILTER: emulated as count(CASE WHEN cond THEN 1 END)"))
C.append(make("filter/sum", sel([["fn", "sum", [col("t","x")], {"filter": ["=", col("t","g"), b(0)]}]]),
              why="MySQL has no FILTER: emulated as sum(CASE WHEN cond THEN x END)"))
C.append(make("filter/count_distinct", sel([["fn", "count", [["distinct", col("t","x")]], {"filter": ["is_not", col("t","x"), ["null"]]}]]),
              why="MySQL has no FILTER: emulated as count(DISTINCT CASE WHEN cond THEN x END)"))
C.append(make("filter/grouped", sel([col("t","g"), ["label", "n", ["fn", "count", [col("t","x")], {"filter": ["and", [">", col("t","x"), b(0)], ["<", col("t","x"), b(1)]]}]]], group_by=[col("t","g")]),
              why="MySQL has no FILTER: CASE emulation"))
C.append(make("within_group/percentile", sel([["fn", "percentile_cont", [lit(0.5)], {"within_group": [sa]}]])))
C.append(make("within_group/mode_desc", sel([["fn", "mode", [], {"within_group": [["desc", sa]]}]])))
C.append(make("fn/unknown_option", sel([["fn", "count", [], {"ovr": {}}]])))
dump('/work/main/tests/compiler/cases/06_expressions.json', C)
