/* validate.c — bounded validation of msgpack bytes: one iterative pass over the type bytes
 * that proves the input holds exactly one complete object, within the depth, size and item
 * limits, and that no declared count or length exceeds the bytes that are really there. It
 * never allocates and never builds anything: decoding (msgpack-c, then wire/decode.c) comes
 * after it, and what the object means is not its business. No SQLAlchemy counterpart (Python's
 * callers hand over objects, not bytes).
 *
 * msgpack-c only ever sees accepted input, in which every declared element is a real object of
 * at least one byte, so it allocates at most a constant times the input size. The walk keeps,
 * per open container, how many objects it still owes, and their sum (`owed`): a container whose
 * count, added to what is already owed, exceeds the bytes left fails at its own header, where
 * the lie is, instead of at the end of the input. Each turn of the loop consumes a type byte,
 * so the walk is linear in the input whatever the headers claim. */
#include "validate.h"

#include <stdarg.h>
#include <stdio.h>

/* Type bytes 0xc0..0xdf by name, for messages. */
static const char *const type_names[32] = {
	"nil",      "0xc1",     "false",    "true",     "bin8",     "bin16",    "bin32",    "ext8",
	"ext16",    "ext32",    "float32",  "float64",  "uint8",    "uint16",   "uint32",   "uint64",
	"int8",     "int16",    "int32",    "int64",    "fixext1",  "fixext2",  "fixext4",  "fixext8",
	"fixext16", "str8",     "str16",    "str32",    "array16",  "array32",  "map16",    "map32",
};

static const char *type_name(unsigned b)
{
	if (b <= 0x7f || b >= 0xe0)
		return "fixint";
	if (b <= 0x8f)
		return "fixmap";
	if (b <= 0x9f)
		return "fixarray";
	if (b <= 0xbf)
		return "fixstr";
	return type_names[b - 0xc0];
}

static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

ath_wire_limits ath_wire__limits(const ath_wire_limits *in)
{
	ath_wire_limits l = { ATH_WIRE_DEFAULT_MAX_DEPTH, ATH_WIRE_DEFAULT_MAX_BYTES,
			      ATH_WIRE_DEFAULT_MAX_ITEMS };
	if (in) {
		if (in->max_depth)
			l.max_depth = in->max_depth;
		if (in->max_bytes)
			l.max_bytes = in->max_bytes;
		if (in->max_items)
			l.max_items = in->max_items;
	}
	if (l.max_depth > ATH_WIRE_MAX_DEPTH_CAP)
		l.max_depth = ATH_WIRE_MAX_DEPTH_CAP;
	return l;
}

/* The cold path: every rejection comes here, so the walk itself formats nothing. */
static int fail(ath_err *err, const char *what, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), cold, noinline));

static int fail(ath_err *err, const char *what, size_t at, const char *fmt, ...)
{
	char why[ATH_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "%s: byte %zu: %s",
			    what, at, why);
}

int ath_wire__validate(const void *data, size_t len, const ath_wire_limits *lim, const char *what,
		       ath_err *err)
{
	const unsigned char *p = data;
	const ath_wire_limits l = ath_wire__limits(lim);
	/* left[d]: objects still owed by the container open at depth d; left[0] is the top level,
	 * which owes the one object. */
	uint64_t left[ATH_WIRE_MAX_DEPTH_CAP + 1];
	uint64_t owed = 1;
	unsigned top = 0;
	size_t pos = 0;

	if (!what)
		what = "input";
	if (len == 0)
		return fail(err, what, 0, "empty input: expected one msgpack object");
	if (!p)
		return fail(err, what, 0, "no data (NULL pointer with a non-zero length)");
	if (len > l.max_bytes)
		return fail(err, what, 0, "input is %zu bytes, more than the limit of %zu", len,
			    l.max_bytes);
	left[0] = 1;

	while (owed) {
		size_t at, hdr;  /* hdr: bytes after the type byte (length, count, ext type, fixed data) */
		uint64_t skip = 0; /* payload bytes after those */
		uint64_t count;    /* objects a container declares (2 per map entry) */
		uint32_t n = 0;
		unsigned b;
		int is_map = 0;

		while (left[top] == 0)
			top--;
		left[top]--;
		owed--;
		at = pos;
		if (pos >= len)
			return fail(err, what, at,
				    "truncated: input ends where an object was expected (%llu owed)",
				    (unsigned long long)owed + 1);
		b = p[pos++];

		if (b <= 0x7f || b >= 0xe0)
			continue;
		if (b >= 0xa0 && b <= 0xbf) {
			skip = b & 0x1f;
			goto payload;
		}
		if (b <= 0x9f) {
			n = b & 0x0f;
			is_map = b <= 0x8f;
			goto container;
		}
		switch (b) {
		case 0xc0: case 0xc2: case 0xc3:
			continue;
		case 0xc1:
			return fail(err, what, at, "type byte 0xc1 is never used in msgpack");
		case 0xcc: case 0xd0: case 0xc4: case 0xd9: hdr = 1; break;
		case 0xcd: case 0xd1: case 0xc5: case 0xda: case 0xdc: case 0xde: hdr = 2; break;
		case 0xca: case 0xce: case 0xd2: case 0xc6: case 0xdb: case 0xdd: case 0xdf: hdr = 4; break;
		case 0xcb: case 0xcf: case 0xd3: hdr = 8; break;
		/* fixext: the ext type byte and 1..16 bytes of data */
		case 0xd4: hdr = 2; break;
		case 0xd5: hdr = 3; break;
		case 0xd6: hdr = 5; break;
		case 0xd7: hdr = 9; break;
		case 0xd8: hdr = 17; break;
		/* ext: the length, then the ext type byte */
		case 0xc7: hdr = 2; break;
		case 0xc8: hdr = 3; break;
		default: hdr = 5; break; /* 0xc9 */
		}
		if (len - pos < hdr)
			return fail(err, what, at,
				    "truncated: %s needs %zu bytes after its type byte but %zu remain",
				    type_name(b), hdr, len - pos);
		switch (b) {
		case 0xc4: case 0xd9: case 0xc7: skip = p[pos]; break;
		case 0xc5: case 0xda: case 0xc8: skip = be16(p + pos); break;
		case 0xc6: case 0xdb: case 0xc9: skip = be32(p + pos); break;
		case 0xdc: n = be16(p + pos); break;
		case 0xdd: n = be32(p + pos); break;
		case 0xde: n = be16(p + pos); is_map = 1; break;
		case 0xdf: n = be32(p + pos); is_map = 1; break;
		default: break;
		}
		pos += hdr;
		if (b >= 0xdc)
			goto container;
	payload:
		if (skip > len - pos)
			return fail(err, what, at, "truncated: %s declares %llu bytes but %zu remain",
				    type_name(b), (unsigned long long)skip, len - pos);
		pos += (size_t)skip;
		continue;

	container:
		if (n > l.max_items)
			return fail(err, what, at, "%s declares %lu %s, more than the limit of %lu",
				    type_name(b), (unsigned long)n, is_map ? "entries" : "elements",
				    (unsigned long)l.max_items);
		count = is_map ? 2 * (uint64_t)n : n;
		if (count > len - pos) {
			if (is_map)
				return fail(err, what, at,
					    "%s declares %lu entries (%llu objects) but %zu bytes remain",
					    type_name(b), (unsigned long)n, (unsigned long long)count,
					    len - pos);
			return fail(err, what, at, "%s declares %lu elements but %zu bytes remain",
				    type_name(b), (unsigned long)n, len - pos);
		}
		if (count + owed > len - pos)
			return fail(err, what, at,
				    "%s declares %llu objects, but %llu more are owed to enclosing "
				    "containers: that needs at least %llu bytes and %zu remain",
				    type_name(b), (unsigned long long)count, (unsigned long long)owed,
				    (unsigned long long)(count + owed), len - pos);
		if (top + 1 > l.max_depth)
			return fail(err, what, at, "%s nested %u deep, more than the limit of %lu",
				    type_name(b), top + 1, (unsigned long)l.max_depth);
		if (count) {
			left[++top] = count;
			owed += count;
		}
	}

	if (pos != len)
		return fail(err, what, pos, "%zu trailing bytes after the object that ends here",
			    len - pos);
	return 0;
}
