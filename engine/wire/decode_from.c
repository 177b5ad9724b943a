/* decode_from.c — wire FROM items (tables, aliases, joins, subqueries, LATERAL, CTE
 * references, VALUES, table-valued functions; docs/wire-format.md section 5) into AST nodes. Does
 * not check that names exist: FROM inference is the compiler's. Mirrors the FromClause
 * constructors of sqlalchemy/sql/selectable.py. */
#include "decode_int.h"

#include <stdio.h>
#include <string.h>

/* ---- FROM items --------------------------------------------------------------------------- */

int ath_wire__from(dec *d, mobj *o, ath_node **out)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 || o->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
		return fail(d, "a FROM item must be an array [kind, ...]");
	mobj *a = o->via.array.ptr;
	uint32_t n = o->via.array.size;
	int rc;
	ath_node *node;
	if (str_eq(&a[0], "table")) {
		if (n < 2 || n > 3)
			return fail(d, "\"table\" takes a name and optional {\"schema\": s}");
		if (!(node = ath_wire__new_node(d, ATH_N_TABLE, 0)))
			return oom(d);
		path_idx(d, 1);
		if ((rc = ath_wire__get_str(d, &a[1], "table name", &node->name)))
			return rc;
		path_pop(d);
		if (n == 3) {
			path_idx(d, 2);
			mobj *opts = &a[2];
			if (opts->type != MSGPACK_OBJECT_MAP)
				return fail(d, "table options must be a map");
			for (uint32_t i = 0; i < opts->via.map.size; i++) {
				mobj *k = &opts->via.map.ptr[i].key, *v = &opts->via.map.ptr[i].val;
				if (!str_eq(k, "schema"))
					return fail(d, "unknown table option");
				if (v->type != MSGPACK_OBJECT_NIL && (rc = ath_wire__get_str(d, v, "schema", &node->qual)))
					return rc;
			}
			path_pop(d);
		}
	} else if (str_eq(&a[0], "alias")) {
		if (n != 3)
			return fail(d, "\"alias\" takes a FROM item and a name");
		if (!(node = ath_wire__new_node(d, ATH_N_ALIAS, 1)))
			return oom(d);
		path_idx(d, 1);
		if ((rc = ath_wire__from(d, &a[1], &node->kids[0])))
			return rc;
		path_pop(d);
		path_idx(d, 2);
		if ((rc = ath_wire__get_str(d, &a[2], "alias name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "join")) {
		if (n < 4 || n > 5)
			return fail(d, "\"join\" takes left, right, on and a kind (\"inner\", \"left\", \"full\")");
		if (!(node = ath_wire__new_node(d, ATH_N_JOIN, 3)))
			return oom(d);
		for (uint32_t i = 1; i <= 2; i++) {
			path_idx(d, i);
			if ((rc = ath_wire__from(d, &a[i], &node->kids[i - 1])))
				return rc;
			path_pop(d);
		}
		if (a[3].type != MSGPACK_OBJECT_NIL && (rc = ath_wire__expr_at(d, o, 3, &node->kids[2])))
			return rc;
		node->op = ATH_JOIN_INNER;
		if (n == 5) {
			path_idx(d, 4);
			if (str_eq(&a[4], "inner"))
				node->op = ATH_JOIN_INNER;
			else if (str_eq(&a[4], "left"))
				node->op = ATH_JOIN_LEFT;
			else if (str_eq(&a[4], "full"))
				node->op = ATH_JOIN_FULL;
			else
				return fail(d, "join kind must be \"inner\", \"left\" or \"full\"");
			path_pop(d);
		}
		if (!node->kids[2])
			return fail(d, "a join needs an ON clause (a cross join is two FROM items)");
	} else if (str_eq(&a[0], "subquery") || str_eq(&a[0], "lateral")) {
		if (n != 3)
			return fail(d, "\"%s\" takes a select and a name", str_eq(&a[0], "lateral") ? "lateral" : "subquery");
		if (!(node = ath_wire__new_node(d, ATH_N_SUBQUERY, 0)))
			return oom(d);
		if (str_eq(&a[0], "lateral"))
			node->flags |= ATH_NF_LATERAL;
		ath_node *s;
		path_idx(d, 1);
		if ((rc = ath_wire__stmt(d, &a[1], &s)))
			return rc;
		if (s->kind != ATH_N_SELECT)
			return fail(d, "a subquery must be a select");
		path_pop(d);
		node->u.select = s->u.select;
		path_idx(d, 2);
		if ((rc = ath_wire__get_str(d, &a[2], "subquery name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "cte")) {
		if (n != 2)
			return fail(d, "\"cte\" takes the name of a CTE");
		if (!(node = ath_wire__new_node(d, ATH_N_CTE_REF, 0)))
			return oom(d);
		path_idx(d, 1);
		if ((rc = ath_wire__get_str(d, &a[1], "CTE name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "values")) {
		if (n != 4)
			return fail(d, "\"values\" takes rows, a name and column names");
		mobj *rows = &a[1];
		if (rows->type != MSGPACK_OBJECT_ARRAY || rows->via.array.size == 0)
			return fail(d, "VALUES needs a non-empty array of rows");
		if (!(node = ath_wire__new_node(d, ATH_N_VALUES, rows->via.array.size)))
			return oom(d);
		const char **cols;
		uint32_t ncols;
		path_idx(d, 3);
		if ((rc = ath_wire__names(d, &a[3], &cols, &ncols, "VALUES columns")))
			return rc;
		if (ncols == 0)
			return fail(d, "VALUES needs column names");
		path_pop(d);
		node->u.names = cols;
		node->index = ncols;
		path_idx(d, 1);
		for (uint32_t r = 0; r < rows->via.array.size; r++) {
			path_idx(d, r);
			ath_list row;
			if ((rc = ath_wire__list(d, &rows->via.array.ptr[r], &row, ath_wire__expr)))
				return rc;
			if (row.n != ncols)
				return fail(d, "row has %u values for %u columns", row.n, ncols);
			if (!(node->kids[r] = ath_wire__new_node(d, ATH_N_TUPLE, 0)))
				return oom(d);
			node->kids[r]->kids = row.v;
			node->kids[r]->n = row.n;
			path_pop(d);
		}
		path_pop(d);
		path_idx(d, 2);
		if ((rc = ath_wire__get_str(d, &a[2], "VALUES name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "table_fn")) {
		if (n < 3 || n > 4)
			return fail(d, "\"table_fn\" takes a function call, a name and optional column names");
		if (!(node = ath_wire__new_node(d, ATH_N_TABLE_FN, 1)))
			return oom(d);
		if ((rc = ath_wire__expr_at(d, o, 1, &node->kids[0])))
			return rc;
		if (node->kids[0]->kind != ATH_N_FN) {
			path_idx(d, 1);
			return fail(d, "a table-valued function needs [\"fn\", ...]");
		}
		path_idx(d, 2);
		if ((rc = ath_wire__get_str(d, &a[2], "table function name", &node->name)))
			return rc;
		path_pop(d);
		if (n == 4) {
			const char **cols;
			uint32_t ncols;
			path_idx(d, 3);
			if ((rc = ath_wire__names(d, &a[3], &cols, &ncols, "columns")))
				return rc;
			path_pop(d);
			node->u.names = cols;
			node->index = ncols;
		}
	} else {
		return fail(d, "unknown FROM kind \"%.*s\"", (int)(a[0].via.str.size > 40 ? 40 : a[0].via.str.size),
			    a[0].via.str.ptr);
	}
	*out = node;
	return 0;
}
