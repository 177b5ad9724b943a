/* params.c — parameter arrays: validation, unpacking and a readable rendering for echo logs
 * (SQLAlchemy's "[generated in 0.0001s] (1, 'a')" line). Binding values to a driver is the
 * driver's job (dialects/<db>/driver.c). */
#include "params.h"

#include <inttypes.h>
#include <string.h>

#include "util/strbuf.h"

static uint64_t be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* One scalar at data[*pos..len) into `o`, as msgpack-c's unpacker decodes it: strings, binaries
 * and ext data point into `data` (an empty one too, where msgpack-c may leave NULL or any earlier
 * pointer: readers look at the size). Returns 0, or -1 for anything else (a container, a reserved
 * or truncated value), left to the general path. */
static int scalar(msgpack_object *o, const unsigned char *data, size_t len, size_t *pos)
{
	size_t at = *pos, hdr = 0, n = 0;
	if (at >= len)
		return -1;
	unsigned b = data[at++];
	if (b <= 0x7f || b >= 0xe0) {
		if (b <= 0x7f) {
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o->via.u64 = b;
		} else {
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
			o->via.i64 = (int8_t)b;
		}
		*pos = at;
		return 0;
	}
	if (b >= 0xa0 && b <= 0xbf) {
		o->type = MSGPACK_OBJECT_STR;
		n = b & 0x1f;
		goto payload;
	}
	static const unsigned char fixed[] = { /* 0xc0..0xd8: bytes after the type byte; 0xff = not here */
		0, 0xff, 0, 0, 1, 2, 4, 1, 2, 4, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 3, 5, 9, 17,
	};
	if (b < 0xc0 || b > 0xdb)
		return -1; /* fixmap, fixarray, array, map */
	hdr = b <= 0xd8 ? fixed[b - 0xc0] : (size_t)1 << (b - 0xd9);
	if (hdr == 0xff || len - at < hdr)
		return -1;
	const unsigned char *h = data + at;
	at += hdr;
	switch (b) {
	case 0xc0: o->type = MSGPACK_OBJECT_NIL; break;
	case 0xc2:
	case 0xc3:
		o->type = MSGPACK_OBJECT_BOOLEAN;
		o->via.boolean = b == 0xc3;
		break;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = be(h, hdr);
		break;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
		uint64_t u = be(h, hdr);
		int64_t v = hdr == 1 ? (int8_t)u : hdr == 2 ? (int16_t)u : hdr == 4 ? (int32_t)u : (int64_t)u;
		if (v >= 0) {
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o->via.u64 = (uint64_t)v;
		} else {
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
			o->via.i64 = v;
		}
		break;
	}
	case 0xca: {
		uint32_t u = (uint32_t)be(h, 4);
		float f;
		memcpy(&f, &u, sizeof f);
		o->type = MSGPACK_OBJECT_FLOAT32;
		o->via.f64 = f;
		break;
	}
	case 0xcb: {
		uint64_t u = be(h, 8);
		o->type = MSGPACK_OBJECT_FLOAT64;
		memcpy(&o->via.f64, &u, sizeof u);
		break;
	}
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext: the type, then 1..16 bytes */
		o->type = MSGPACK_OBJECT_EXT;
		o->via.ext.type = (int8_t)h[0];
		o->via.ext.ptr = (const char *)h + 1;
		o->via.ext.size = (uint32_t)hdr - 1;
		break;
	case 0xc7: case 0xc8: case 0xc9: /* ext: the length, the type, the data */
		n = (size_t)be(h, hdr);
		if (len - at < n + 1)
			return -1;
		o->type = MSGPACK_OBJECT_EXT;
		o->via.ext.type = (int8_t)data[at];
		o->via.ext.ptr = (const char *)data + at + 1;
		o->via.ext.size = (uint32_t)n;
		at += n + 1;
		break;
	default: /* str8/16/32, bin8/16/32 */
		o->type = b >= 0xd9 ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN;
		n = (size_t)be(h, hdr);
		goto payload;
	}
	*pos = at;
	return 0;
payload:
	if (len - at < n)
		return -1;
	if (o->type == MSGPACK_OBJECT_STR) {
		o->via.str.ptr = (const char *)data + at;
		o->via.str.size = (uint32_t)n;
	} else {
		o->via.bin.ptr = (const char *)data + at;
		o->via.bin.size = (uint32_t)n;
	}
	*pos = at + n;
	return 0;
}

/* The common parameters: one flat array of scalars, decoded straight into `zone` without
 * validating and then unpacking them (most of an execute's own cost for a one-row lookup). It
 * takes only what ath_wire__validate() accepts and decodes it as msgpack_unpack() does; anything
 * else returns 0 and goes the general way, which decodes it or says what is wrong. Returns 1 when
 * decoded, 0, or -1 on out-of-memory. */
static int flat_params(msgpack_object *out, const unsigned char *data, size_t len, const ath_wire_limits *lim,
		       msgpack_zone *zone)
{
	/* the limits as ath_wire__limits() completes them; max_depth is at least 1, all this needs */
	size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : ATH_WIRE_DEFAULT_MAX_BYTES;
	uint32_t max_items = lim && lim->max_items ? lim->max_items : ATH_WIRE_DEFAULT_MAX_ITEMS;
	size_t pos = 1;
	uint64_t n;
	if (len > max_bytes)
		return 0;
	if (data[0] >= 0x90 && data[0] <= 0x9f)
		n = data[0] & 0x0f;
	else if (data[0] == 0xdc && len >= 3)
		n = be(data + 1, 2), pos = 3;
	else if (data[0] == 0xdd && len >= 5)
		n = be(data + 1, 4), pos = 5;
	else
		return 0;
	if (n > max_items || n > len - pos)
		return 0;
	msgpack_object *items = n ? msgpack_zone_malloc(zone, n * sizeof *items) : NULL;
	if (n && !items)
		return -1;
	for (uint64_t i = 0; i < n; i++)
		if (scalar(&items[i], data, len, &pos) < 0)
			return 0;
	if (pos != len)
		return 0;
	out->type = MSGPACK_OBJECT_ARRAY;
	out->via.array.size = (uint32_t)n;
	out->via.array.ptr = items;
	return 1;
}

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
	if (!rows) {
		int flat = flat_params(out, data, len, lim, zone);
		if (flat)
			return flat < 0 ? ath_err__oom(err) : 0;
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
