/* test_validate.c — ath_wire__validate() and ath_wire__limits(): every msgpack format accepted,
 * every way of lying about lengths rejected with a message that says where and why, and a
 * random-input check that whatever the validator accepts, msgpack-c decodes exactly.
 * Does not test decoding into statements (tests of wire/decode.c do). */
#include <msgpack.h>
#include <time.h>

#include "test.h"
#include "util/alloc.h"
#include "wire/validate.h"

#define B(s) (const unsigned char *)(s), sizeof(s) - 1

/* ---------------------------------------------------------------- valid inputs, every format */

struct ok_case {
	const char *name;
	const unsigned char *bytes;
	size_t len;
};

static const struct ok_case ok_cases[] = {
	{ "wire/validate/nil", B("\xc0") },
	{ "wire/validate/false", B("\xc2") },
	{ "wire/validate/true", B("\xc3") },
	{ "wire/validate/posfixint_0", B("\x00") },
	{ "wire/validate/posfixint_127", B("\x7f") },
	{ "wire/validate/negfixint_-32", B("\xe0") },
	{ "wire/validate/negfixint_-1", B("\xff") },
	{ "wire/validate/uint8", B("\xcc\xff") },
	{ "wire/validate/uint16", B("\xcd\xff\xff") },
	{ "wire/validate/uint32", B("\xce\xff\xff\xff\xff") },
	{ "wire/validate/uint64", B("\xcf\xff\xff\xff\xff\xff\xff\xff\xff") },
	{ "wire/validate/int8", B("\xd0\x80") },
	{ "wire/validate/int16", B("\xd1\x80\x00") },
	{ "wire/validate/int32", B("\xd2\x80\x00\x00\x00") },
	{ "wire/validate/int64", B("\xd3\x80\x00\x00\x00\x00\x00\x00\x00") },
	{ "wire/validate/float32", B("\xca\x3f\x80\x00\x00") },
	{ "wire/validate/float64", B("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00") },
	{ "wire/validate/fixstr_empty", B("\xa0") },
	{ "wire/validate/fixstr_3", B("\xa3" "abc") },
	{ "wire/validate/fixstr_31", B("\xbf" "0123456789012345678901234567890") },
	{ "wire/validate/str8_empty", B("\xd9\x00") },
	{ "wire/validate/str8", B("\xd9\x03" "abc") },
	{ "wire/validate/str16", B("\xda\x00\x03" "abc") },
	{ "wire/validate/str32", B("\xdb\x00\x00\x00\x03" "abc") },
	{ "wire/validate/bin8_empty", B("\xc4\x00") },
	{ "wire/validate/bin8", B("\xc4\x02\x00\xff") },
	{ "wire/validate/bin16", B("\xc5\x00\x02\x00\xff") },
	{ "wire/validate/bin32", B("\xc6\x00\x00\x00\x02\x00\xff") },
	{ "wire/validate/fixext1", B("\xd4\x01\xaa") },
	{ "wire/validate/fixext2", B("\xd5\x02\xaa\xbb") },
	{ "wire/validate/fixext4", B("\xd6\x03\x00\x00\x00\x01") },
	{ "wire/validate/fixext8", B("\xd7\x06\x00\x00\x00\x00\x00\x00\x00\x01") },
	{ "wire/validate/fixext16", B("\xd8\x07" "0123456789abcdef") },
	{ "wire/validate/timestamp32", B("\xd6\xff\x00\x00\x00\x00") },
	{ "wire/validate/ext8_empty", B("\xc7\x00\x05") },
	{ "wire/validate/ext8", B("\xc7\x03\x02" "1.5") },
	{ "wire/validate/ext16", B("\xc8\x00\x03\x02" "1.5") },
	{ "wire/validate/ext32", B("\xc9\x00\x00\x00\x03\x02" "1.5") },
	{ "wire/validate/fixarray_empty", B("\x90") },
	{ "wire/validate/fixarray_3", B("\x93\x01\x02\x03") },
	{ "wire/validate/fixarray_15", B("\x9f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e") },
	{ "wire/validate/array16_empty", B("\xdc\x00\x00") },
	{ "wire/validate/array16", B("\xdc\x00\x02\xc0\xc3") },
	{ "wire/validate/array32", B("\xdd\x00\x00\x00\x02\xc0\xc3") },
	{ "wire/validate/fixmap_empty", B("\x80") },
	{ "wire/validate/fixmap_1", B("\x81\xa1" "a\x01") },
	{ "wire/validate/map16", B("\xde\x00\x01\xa1" "a\x01") },
	{ "wire/validate/map32", B("\xdf\x00\x00\x00\x01\xa1" "a\x01") },
	{ "wire/validate/map_container_key", B("\x81\x92\x01\x02\x80") },
	{ "wire/validate/nested_empty_last", B("\x92\x91\x90\x90") },
	{ "wire/validate/statement_shape",
	  B("\x82\xa1" "k" "\xa6" "select" "\xa7" "columns" "\x91\x93\xa3" "col" "\xa5" "users"
	    "\xa2" "id") },
};

/* One object of every format, nested; built by hand so the wide formats carry small payloads. */
static const unsigned char rich[] =
	"\xdf\x00\x00\x00\x0c"                        /* map32, 12 entries */
	"\xa3" "int" "\xdc\x00\x11\x00\x7f\xe0\xff\xcc\xff\xcd\xff\xff\xce\xff\xff\xff\xff"
	"\xcf\x00\x00\x00\x00\x00\x00\x00\x01\xd0\x80\xd1\x80\x00\xd2\x80\x00\x00\x00"
	"\xd3\x80\x00\x00\x00\x00\x00\x00\x00\xc0\xc2\xc3\xca\x3f\x80\x00\x00"
	"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"      /* array16 of 17 scalars */
	"\xd9\x03" "str" "\xdc\x00\x04\xa0\xd9\x01" "a" "\xda\x00\x01" "b" "\xdb\x00\x00\x00\x01" "c"
	"\xda\x00\x03" "bin" "\xdd\x00\x00\x00\x03\xc4\x01\x00\xc5\x00\x01\x01\xc6\x00\x00\x00\x01\x02"
	"\xdb\x00\x00\x00\x03" "ext" "\x98\xd4\x01\x00\xd5\x01\x00\x00\xd6\xff\x00\x00\x00\x00"
	"\xd7\x01\x00\x00\x00\x00\x00\x00\x00\x00\xd8\x01" "0123456789abcdef"
	"\xc7\x00\x02\xc8\x00\x01\x02\x00\xc9\x00\x00\x00\x02\x02\x00\x00"
	"\xa4" "maps" "\x93\x80\xde\x00\x01\x01\x02\xdf\x00\x00\x00\x01\x90\x80"
	"\xa4" "deep" "\x91\x91\x91\x91\x81\xa1" "k" "\x91\x90"
	"\x01" "\xc0"                                 /* int key, nil value */
	"\xc3" "\x80"                                 /* bool key */
	"\x90" "\xa0"                                 /* container key */
	"\xcb\x00\x00\x00\x00\x00\x00\x00\x00" "\xff"
	"\xa5" "empty" "\xdc\x00\x00"
	"\xa4" "last" "\xc7\x01\x05" "x";

/* msgpack-c's verdict: 1 when it decodes data[0..len) as one object using every byte. */
static int msgpack_c_decodes(const unsigned char *data, size_t len)
{
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	msgpack_unpack_return r = msgpack_unpack_next(&u, (const char *)data, len, &off);
	msgpack_unpacked_destroy(&u);
	return r == MSGPACK_UNPACK_SUCCESS && off == len;
}

static void test_ok_cases(void)
{
	ath_err err = { 0 };
	for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
		const struct ok_case *c = &ok_cases[i];
		TEST_CASE(c->name);
		int rc = ath_wire__validate(c->bytes, c->len, NULL, "shape", &err);
		CHECK_INT(0, rc);
		if (rc)
			fprintf(stderr, "  message: %s\n", err.message);
		CHECK(msgpack_c_decodes(c->bytes, c->len));
	}
	TEST_CASE("wire/validate/rich");
	CHECK_INT(0, ath_wire__validate(rich, sizeof rich - 1, NULL, "shape", &err));
	CHECK(msgpack_c_decodes(rich, sizeof rich - 1));
	ath_err__clear(&err);
}

/* ---------------------------------------------------------------- rejected inputs */

struct bad_case {
	const char *name;
	const unsigned char *bytes;
	size_t len;
	ath_wire_limits lim;  /* zero fields: defaults */
	const char *msg;      /* the whole expected message, "what" being "params" */
};

#define HUGE_ITEMS { 0, 0, UINT32_MAX }

static const struct bad_case bad_cases[] = {
	{ "wire/validate/empty", (const unsigned char *)"", 0, { 0 },
	  "params: byte 0: empty input: expected one msgpack object" },
	{ "wire/validate/c1", B("\xc1"), { 0 },
	  "params: byte 0: type byte 0xc1 is never used in msgpack" },
	{ "wire/validate/c1_nested", B("\x92\x01\xc1"), { 0 },
	  "params: byte 2: type byte 0xc1 is never used in msgpack" },
	{ "wire/validate/trailing", B("\xc0\xc0"), { 0 },
	  "params: byte 1: 1 trailing bytes after the object that ends here" },
	{ "wire/validate/trailing_after_array", B("\x91\x01\x02\x03"), { 0 },
	  "params: byte 2: 2 trailing bytes after the object that ends here" },
	{ "wire/validate/map32_huge", B("\xdf\xff\xff\xff\xff\x00\x00"), HUGE_ITEMS,
	  "params: byte 0: map32 declares 4294967295 entries (8589934590 objects) but 2 bytes remain" },
	{ "wire/validate/map32_huge_default_limits", B("\xdf\xff\xff\xff\xff\x00\x00"), { 0 },
	  "params: byte 0: map32 declares 4294967295 entries, more than the limit of 1048576" },
	{ "wire/validate/array32_huge", B("\xdd\xff\xff\xff\xff\x00\x00"), HUGE_ITEMS,
	  "params: byte 0: array32 declares 4294967295 elements but 2 bytes remain" },
	{ "wire/validate/array16_short", B("\xdc\x00\x05\xc0\xc0"), { 0 },
	  "params: byte 0: array16 declares 5 elements but 2 bytes remain" },
	{ "wire/validate/map16_short", B("\x91\xde\x00\x02\x01\x02\x03"), { 0 },
	  "params: byte 1: map16 declares 2 entries (4 objects) but 3 bytes remain" },
	{ "wire/validate/fixarray_short", B("\x92\x01"), { 0 },
	  "params: byte 0: fixarray declares 2 elements but 1 bytes remain" },
	{ "wire/validate/owed_to_parent", B("\x92\xdc\x00\x02\xc0\xc0"), { 0 },
	  "params: byte 1: array16 declares 2 objects, but 1 more are owed to enclosing containers: "
	  "that needs at least 3 bytes and 2 remain" },
	{ "wire/validate/str32_huge", B("\xdb\xff\xff\xff\xff\x61"), { 0 },
	  "params: byte 0: truncated: str32 declares 4294967295 bytes but 1 remain" },
	{ "wire/validate/bin32_huge", B("\xc6\xff\xff\xff\xff\x00\x00"), { 0 },
	  "params: byte 0: truncated: bin32 declares 4294967295 bytes but 2 remain" },
	{ "wire/validate/ext32_huge", B("\xc9\xff\xff\xff\xff\x01\x00"), { 0 },
	  "params: byte 0: truncated: ext32 declares 4294967295 bytes but 1 remain" },
	{ "wire/validate/fixstr_short", B("\x91\xa5" "abc"), { 0 },
	  "params: byte 1: truncated: fixstr declares 5 bytes but 3 remain" },
	{ "wire/validate/uint16_header", B("\xcd\x01"), { 0 },
	  "params: byte 0: truncated: uint16 needs 2 bytes after its type byte but 1 remain" },
	{ "wire/validate/fixext16_header", B("\x91\xd8\x01" "0123"), { 0 },
	  "params: byte 1: truncated: fixext16 needs 17 bytes after its type byte but 5 remain" },
	{ "wire/validate/ext8_no_type", B("\xc7\x00"), { 0 },
	  "params: byte 0: truncated: ext8 needs 2 bytes after its type byte but 1 remain" },
	{ "wire/validate/ends_early", B("\x92\xa1" "a"), { 0 },
	  "params: byte 3: truncated: input ends where an object was expected (1 owed)" },
	{ "wire/validate/max_depth", B("\x91\x91\x91\xc0"), { 2, 0, 0 },
	  "params: byte 2: fixarray nested 3 deep, more than the limit of 2" },
	{ "wire/validate/max_depth_empty", B("\x91\x81\x01\x90"), { 2, 0, 0 },
	  "params: byte 3: fixarray nested 3 deep, more than the limit of 2" },
	{ "wire/validate/max_depth_in_map_key", B("\x81\x81\x90\x01\x02"), { 2, 0, 0 },
	  "params: byte 2: fixarray nested 3 deep, more than the limit of 2" },
	{ "wire/validate/max_items_array", B("\x93\x01\x02\x03"), { 0, 0, 2 },
	  "params: byte 0: fixarray declares 3 elements, more than the limit of 2" },
	{ "wire/validate/max_items_map", B("\x91\x83\x01\x01\x02\x02\x03\x03"), { 0, 0, 2 },
	  "params: byte 1: fixmap declares 3 entries, more than the limit of 2" },
	{ "wire/validate/max_bytes", B("\x93\x01\x02\x03"), { 0, 3, 0 },
	  "params: byte 0: input is 4 bytes, more than the limit of 3" },
};

static void test_bad_cases(void)
{
	ath_err err = { 0 };
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		unsigned long allocs = ath__alloc_count();
		TEST_CASE(c->name);
		CHECK_INT(ATH_EINVALID, ath_wire__validate(c->bytes, c->len, &c->lim, "params", &err));
		CHECK_INT(ATH_EINVALID, err.code);
		CHECK_INT(ATH_ERRCLASS_WIRE_FORMAT_ERROR, err.klass);
		CHECK_STR(c->msg, err.message);
		CHECK_INT(allocs, ath__alloc_count());
	}
	ath_err__clear(&err);
}

/* ---------------------------------------------------------------- depth, limits, odd arguments */

static void test_depth(void)
{
	unsigned char buf[40];
	ath_err err = { 0 };
	ath_wire_limits lim = { 100, 0, 0 }; /* clamped to the cap */

	TEST_CASE("wire/validate/depth_32_ok");
	memset(buf, 0x91, 32);
	buf[32] = 0xc0;
	CHECK_INT(0, ath_wire__validate(buf, 33, &lim, "shape", &err));
	CHECK(msgpack_c_decodes(buf, 33));

	TEST_CASE("wire/validate/depth_33_fails_even_when_asked_for_100");
	memset(buf, 0x91, 33);
	buf[33] = 0xc0;
	CHECK_INT(ATH_EINVALID, ath_wire__validate(buf, 34, &lim, "shape", &err));
	CHECK_STR("shape: byte 32: fixarray nested 33 deep, more than the limit of 32", err.message);
	CHECK(!msgpack_c_decodes(buf, 34)); /* why the cap exists */

	TEST_CASE("wire/validate/depth_33_empty_innermost");
	buf[32] = 0x90;
	CHECK_INT(ATH_EINVALID, ath_wire__validate(buf, 33, NULL, "shape", &err));
	CHECK_CONTAINS(err.message, "byte 32: fixarray nested 33 deep");
	CHECK(!msgpack_c_decodes(buf, 33));

	TEST_CASE("wire/validate/depth_siblings_do_not_add_up");
	/* [[[]], [[]], [[]]] is 3 deep however many siblings */
	static const unsigned char sib[] = "\x93\x91\x90\x91\x90\x91\x90";
	lim = (ath_wire_limits){ 3, 0, 0 };
	CHECK_INT(0, ath_wire__validate(sib, sizeof sib - 1, &lim, "shape", &err));
	lim.max_depth = 2;
	CHECK_INT(ATH_EINVALID, ath_wire__validate(sib, sizeof sib - 1, &lim, "shape", &err));
	CHECK_CONTAINS(err.message, "byte 2: fixarray nested 3 deep");

	TEST_CASE("wire/validate/scalar_needs_no_depth");
	lim.max_depth = 1;
	CHECK_INT(0, ath_wire__validate(B("\x91\x01"), &lim, "shape", &err));
	CHECK_INT(0, ath_wire__validate(B("\xa1" "x"), &lim, "shape", &err));
	ath_err__clear(&err);
}

static void test_limits(void)
{
	ath_err err = { 0 };
	ath_wire_limits l, in;

	TEST_CASE("wire/validate/limits_null");
	l = ath_wire__limits(NULL);
	CHECK_INT(ATH_WIRE_DEFAULT_MAX_DEPTH, l.max_depth);
	CHECK_INT(ATH_WIRE_DEFAULT_MAX_BYTES, l.max_bytes);
	CHECK_INT(ATH_WIRE_DEFAULT_MAX_ITEMS, l.max_items);

	TEST_CASE("wire/validate/limits_zero_fields");
	in = (ath_wire_limits){ 0, 10, 0 };
	l = ath_wire__limits(&in);
	CHECK_INT(ATH_WIRE_DEFAULT_MAX_DEPTH, l.max_depth);
	CHECK_INT(10, l.max_bytes);
	CHECK_INT(ATH_WIRE_DEFAULT_MAX_ITEMS, l.max_items);

	TEST_CASE("wire/validate/limits_clamped");
	in = (ath_wire_limits){ 1000, 0, 7 };
	l = ath_wire__limits(&in);
	CHECK_INT(ATH_WIRE_MAX_DEPTH_CAP, l.max_depth);
	CHECK_INT(7, l.max_items);
	in.max_depth = 5;
	CHECK_INT(5, ath_wire__limits(&in).max_depth);

	TEST_CASE("wire/validate/max_bytes_exact");
	in = (ath_wire_limits){ 0, 4, 0 };
	CHECK_INT(0, ath_wire__validate(B("\x93\x01\x02\x03"), &in, "params", &err));

	TEST_CASE("wire/validate/max_items_exact");
	in = (ath_wire_limits){ 0, 0, 3 };
	CHECK_INT(0, ath_wire__validate(B("\x93\x01\x02\x03"), &in, "params", &err));
	CHECK_INT(0, ath_wire__validate(B("\x83\x01\x01\x02\x02\x03\x03"), &in, "params", &err));

	TEST_CASE("wire/validate/what_null");
	CHECK_INT(ATH_EINVALID, ath_wire__validate(B("\xc1"), NULL, NULL, &err));
	CHECK_STR("input: byte 0: type byte 0xc1 is never used in msgpack", err.message);

	TEST_CASE("wire/validate/data_null");
	CHECK_INT(ATH_EINVALID, ath_wire__validate(NULL, 3, NULL, "shape", &err));
	CHECK_CONTAINS(err.message, "shape: byte 0: no data");

	TEST_CASE("wire/validate/ok_leaves_err_alone");
	ath_err__set(&err, ATH_ERROR, ATH_ERRCLASS_SQLALCHEMY_ERROR, "earlier");
	CHECK_INT(0, ath_wire__validate(B("\xc0"), NULL, "shape", &err));
	CHECK_STR("earlier", err.message);
	ath_err__clear(&err);
}

/* Every proper prefix of the rich message fails cleanly, saying truncated (or empty); every
 * extension of it fails as trailing bytes. */
static void test_prefixes(void)
{
	ath_err err = { 0 };
	const size_t n = sizeof rich - 1;
	int bad_rc = 0, bad_msg = 0, bad_c = 0;
	ath_wire_limits lim = { 0, 0, UINT32_MAX };

	TEST_CASE("wire/validate/every_prefix_of_rich");
	for (size_t len = 0; len < n; len++) {
		/* a heap copy of exactly len bytes, so ASan sees any read past the end */
		unsigned char *copy = malloc(len ? len : 1);
		memcpy(copy, rich, len);
		int rc = ath_wire__validate(copy, len, &lim, "shape", &err);
		int c_ok = msgpack_c_decodes(copy, len);
		free(copy);
		if (rc != ATH_EINVALID) {
			if (!bad_rc++)
				fprintf(stderr, "  prefix %zu: rc %d\n", len, rc);
			continue;
		}
		int said = len == 0 ? strstr(err.message, "empty input") != NULL
				    : strstr(err.message, "truncated") || strstr(err.message, "remain");
		if (!said || strncmp(err.message, "shape: byte ", 12) != 0) {
			if (!bad_msg++)
				fprintf(stderr, "  prefix %zu: %s\n", len, err.message);
		}
		if (c_ok && !bad_c++)
			fprintf(stderr, "  prefix %zu: msgpack-c accepts it\n", len);
	}
	CHECK_INT(0, bad_rc);
	CHECK_INT(0, bad_msg);
	CHECK_INT(0, bad_c);

	TEST_CASE("wire/validate/rich_plus_one_byte");
	for (unsigned b = 0; b < 256; b++) {
		unsigned char copy[sizeof rich];
		memcpy(copy, rich, n);
		copy[n] = (unsigned char)b;
		if (ath_wire__validate(copy, n + 1, NULL, "shape", &err) != ATH_EINVALID ||
		    !strstr(err.message, "1 trailing bytes")) {
			CHECK(0);
			fprintf(stderr, "  extra byte 0x%02x: %s\n", b, err.message);
			break;
		}
	}
	ath_err__clear(&err);
}

/* ---------------------------------------------------------------- random inputs against msgpack-c */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* The msgpack spec read plainly and recursively, as an independent second opinion: 1 when
 * data[*pos..len) starts with one complete object no deeper than the cap. Loops over declared
 * counts consume a byte per element or stop at the end, so they are bounded by len. */
static int oracle(const unsigned char *p, size_t len, size_t *pos, unsigned depth)
{
	static const unsigned char width[32] = {
		/* c0..c7 */ 0, 0, 0, 0, 1, 2, 4, 1, /* c8..cf */ 2, 4, 0, 0, 0, 0, 0, 0,
		/* d0..d7 */ 0, 0, 0, 0, 0, 0, 0, 0, /* d8..df */ 0, 1, 2, 4, 2, 4, 2, 4,
	};
	static const unsigned char fixed[32] = {
		/* c0..c7 */ 0, 0, 0, 0, 0, 0, 0, 1, /* c8..cf */ 1, 1, 4, 8, 1, 2, 4, 8,
		/* d0..d7 */ 1, 2, 4, 8, 2, 3, 5, 9, /* d8..df */ 17, 0, 0, 0, 0, 0, 0, 0,
	};
	uint64_t n = 0, items = 0;
	int container = 0;
	if (*pos >= len)
		return 0;
	unsigned b = p[(*pos)++];
	if (b <= 0x7f || b >= 0xe0) {
		return 1;
	} else if (b <= 0x8f) {
		items = 2u * (b & 0x0f);
		container = 1;
	} else if (b <= 0x9f) {
		items = b & 0x0f;
		container = 1;
	} else if (b <= 0xbf) {
		n = b & 0x1f;
	} else if (b == 0xc1) {
		return 0;
	} else {
		unsigned w = width[b - 0xc0];
		if (len - *pos < w)
			return 0;
		for (unsigned i = 0; i < w; i++)
			n = n << 8 | p[(*pos)++];
		if (b >= 0xdc) {
			items = b >= 0xde ? 2 * n : n;
			container = 1;
			n = 0;
		}
		n += fixed[b - 0xc0]; /* ext's type byte, or the fixed-size data */
	}
	if (container) {
		if (depth >= ATH_WIRE_MAX_DEPTH_CAP)
			return 0;
		for (uint64_t i = 0; i < items; i++)
			if (!oracle(p, len, pos, depth + 1))
				return 0;
		return 1;
	}
	if (n > len - *pos)
		return 0;
	*pos += (size_t)n;
	return 1;
}

static int oracle_accepts(const unsigned char *p, size_t len)
{
	size_t pos = 0;
	return oracle(p, len, &pos, 0) && pos == len;
}

struct agreement {
	long tried, accepted, disagree, undecodable;
};

static void show(const char *what, const unsigned char *buf, size_t len, const char *msg)
{
	fprintf(stderr, "  %s:", what);
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, " %02x", buf[i]);
	fprintf(stderr, "\n  (%s)\n", msg);
}

/* The promise: what the validator accepts, msgpack-c decodes using exactly every byte. msgpack-c
 * only sees accepted inputs: on the others it may try to allocate what they declare. The
 * oracle checks the other direction: the validator must not reject valid msgpack either. */
static void compare(struct agreement *a, const unsigned char *buf, size_t len)
{
	ath_err err = { 0 };
	int ours = ath_wire__validate(buf, len, NULL, "fuzz", &err) == 0;
	a->tried++;
	a->accepted += ours;
	if (ours != oracle_accepts(buf, len) && a->disagree++ < 5)
		show(ours ? "validator accepts, oracle rejects" : "validator rejects, oracle accepts",
		     buf, len, err.message);
	if (ours && !msgpack_c_decodes(buf, len) && a->undecodable++ < 5)
		show("validator accepts, msgpack-c fails", buf, len, err.message);
	ath_err__clear(&err);
}

static void test_random(void)
{
	unsigned char buf[sizeof rich + 8];
	struct agreement a = { 0 };
	clock_t t0 = clock();

	TEST_CASE("wire/validate/random_bytes_agree_with_msgpack_c");
	for (int i = 0; i < 100000; i++) {
		size_t len = (size_t)(rng() % 65);
		for (size_t j = 0; j < len; j++)
			buf[j] = (unsigned char)rng();
		compare(&a, buf, len);
	}
	CHECK_INT(0, a.undecodable);
	CHECK_INT(0, a.disagree);
	CHECK(a.accepted > 100);
	printf("random: %ld inputs, %ld accepted\n", a.tried, a.accepted);

	/* Random bytes mostly die at the first type byte; mutants of a valid message reach deep
	 * into the walk (counts off by a little, lengths cut short, type bytes swapped). */
	TEST_CASE("wire/validate/mutants_agree_with_msgpack_c");
	memset(&a, 0, sizeof a);
	for (int i = 0; i < 100000; i++) {
		size_t len = sizeof rich - 1;
		memcpy(buf, rich, len);
		int edits = 1 + (int)(rng() % 3);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)(rng() % len);
			uint64_t r = rng();
			switch (r % 4) {
			case 0: buf[at] = (unsigned char)(r >> 8); break;
			case 1: buf[at] = (unsigned char)(buf[at] + 1 - (int)((r >> 8) % 3)); break;
			case 2: len = at; break;
			default: buf[at] = (unsigned char)((r >> 8) % 4); break;
			}
			if (len == 0)
				break;
		}
		compare(&a, buf, len);
	}
	CHECK_INT(0, a.undecodable);
	CHECK_INT(0, a.disagree);
	CHECK(a.accepted > 1000);
	printf("mutants: %ld inputs, %ld accepted\n", a.tried, a.accepted);
	printf("random tests took %.3f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
}

int main(void)
{
	test_ok_cases();
	test_bad_cases();
	test_depth();
	test_limits();
	test_prefixes();
	test_random();
	return test_exit();
}
