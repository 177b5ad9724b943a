/* params.c — parameter arrays: validation, unpacking and a readable rendering for echo logs
 * (SQLAlchemy's "[generated in 0.0001s] (1, 'a')" line). Binding values to a driver is the
 * driver's job (dialects/<db>/driver.c). */
#include "params.h"

#include <inttypes.h>

#include "util/strbuf.h"

int ath_wire__decode_params(msgpack_object *out, const void *data, size_t len, int rows,
			    const ath_wire_limits *lim, msgpack_zone *zone, ath_err *err)
{
	const char *what = rows ? "params_rows" : "params";
	if (!data || len == 0) {
		if (rows)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "executemany needs an array of parameter rows");
		out->type = MSGPACK_OBJECT_ARRAY;
		out->via.array.size = 0;
		out->via.array.ptr = NULL;
		return 0;
	}
	int rc = ath_wire__validate(data, len, lim, what, err);
	if (rc)
		return rc;
	size_t off = 0;
	msgpack_unpack_return ur = msgpack_unpack(data, len, &off, zone, out);
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
		return ath_err__oom(err);
	if (ur != MSGPACK_UNPACK_SUCCESS)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "%s: not valid msgpack", what);
	if (out->type != MSGPACK_OBJECT_ARRAY)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "%s: must be an array", what);
	if (rows)
		for (uint32_t i = 0; i < out->via.array.size; i++)
			if (out->via.array.ptr[i].type != MSGPACK_OBJECT_ARRAY)
				return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR,
						    "%s[%u]: each parameter row must be an array", what, i);
	return 0;
}

static void repr(ath_strbuf *b, const msgpack_object *o, size_t max)
{
	if (b->len > max)
		return;
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: ath_strbuf__puts(b, "None"); break;
	case MSGPACK_OBJECT_BOOLEAN: ath_strbuf__puts(b, o->via.boolean ? "True" : "False"); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: ath_strbuf__printf(b, "%" PRIu64, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: ath_strbuf__printf(b, "%" PRId64, o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: ath_strbuf__printf(b, "%.17g", o->via.f64); break;
	case MSGPACK_OBJECT_STR: {
		uint32_t n = o->via.str.size;
		ath_strbuf__putc(b, '\'');
		ath_strbuf__put(b, o->via.str.ptr, n > 100 ? 100 : n);
		ath_strbuf__puts(b, n > 100 ? "...'" : "'");
		break;
	}
	case MSGPACK_OBJECT_BIN: ath_strbuf__printf(b, "<%u bytes>", o->via.bin.size); break;
	case MSGPACK_OBJECT_EXT:
		if (o->via.ext.type >= 2 && o->via.ext.type <= 5)
			ath_strbuf__printf(b, "'%.*s'", (int)(o->via.ext.size > 64 ? 64 : o->via.ext.size), o->via.ext.ptr);
		else
			ath_strbuf__printf(b, "<ext %d>", o->via.ext.type);
		break;
	case MSGPACK_OBJECT_ARRAY:
		ath_strbuf__putc(b, '[');
		for (uint32_t i = 0; i < o->via.array.size && b->len <= max; i++) {
			if (i)
				ath_strbuf__puts(b, ", ");
			repr(b, &o->via.array.ptr[i], max);
		}
		ath_strbuf__putc(b, ']');
		break;
	case MSGPACK_OBJECT_MAP: ath_strbuf__printf(b, "{%u items}", o->via.map.size); break;
	}
}

void ath_wire__repr(ath_strbuf *b, const msgpack_object *o, size_t max)
{
	size_t limit = b->len + max;
	repr(b, o, limit);
	if (b->len > limit) {
		b->len = limit;
		ath_strbuf__puts(b, " ...");
	}
}
