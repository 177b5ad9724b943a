/* test_params.c — the fast paths of the wire layer against msgpack-c itself: parameter arrays of
 * scalars decoded by ath_wire__decode_params() without msgpack-c must give the objects
 * ath_wire__validate() + msgpack_unpack() give (and refuse nothing they accept), and the inline
 * writers of wire/mpbuf.h must write the bytes msgpack-c's packer writes. */
#include <math.h>
#include <msgpack.h>

#include "test.h"
#include "wire/mpbuf.h"
#include "wire/params.h"

#define B(s) (const unsigned char *)(s), sizeof(s) - 1

/* Same object: type, value, and for str / bin / ext the same bytes (not the same pointer). */
static int same(const msgpack_object *a, const msgpack_object *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case MSGPACK_OBJECT_STR:
		return a->via.str.size == b->via.str.size &&
		       (!a->via.str.size || memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0);
	case MSGPACK_OBJECT_BIN:
		return a->via.bin.size == b->via.bin.size &&
		       (!a->via.bin.size || memcmp(a->via.bin.ptr, b->via.bin.ptr, a->via.bin.size) == 0);
	case MSGPACK_OBJECT_EXT:
		return a->via.ext.type == b->via.ext.type && a->via.ext.size == b->via.ext.size &&
		       (!a->via.ext.size || memcmp(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size) == 0);
	case MSGPACK_OBJECT_ARRAY:
		if (a->via.array.size != b->via.array.size)
			return 0;
		for (uint32_t i = 0; i < a->via.array.size; i++)
			if (!same(&a->via.array.ptr[i], &b->via.array.ptr[i]))
				return 0;
		return 1;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return memcmp(&a->via.f64, &b->via.f64, sizeof a->via.f64) == 0 || (isnan(a->via.f64) && isnan(b->via.f64));
	default: return msgpack_object_equal(*a, *b);
	}
}

struct tally {
	long tried, accepted, disagree;
};

/* decode_params against validate + msgpack_unpack on one input: same verdict, same objects. */
static void agree(struct tally *t, const unsigned char *buf, size_t len)
{
	ath_err e1, e2;
	ath_err__init(&e1);
	ath_err__init(&e2);
	msgpack_zone z1, z2;
	msgpack_zone_init(&z1, 256);
	msgpack_zone_init(&z2, 256);
	msgpack_object ours, theirs;
	int ok1 = ath_wire__decode_params(&ours, buf, len, 0, NULL, &z1, &e1) == 0;
	size_t off = 0;
	int ok2 = ath_wire__validate(buf, len, NULL, "params", &e2) == 0 &&
		  msgpack_unpack((const char *)buf, len, &off, &z2, &theirs) == MSGPACK_UNPACK_SUCCESS &&
		  theirs.type == MSGPACK_OBJECT_ARRAY;
	t->tried++;
	t->accepted += ok1;
	if ((ok1 != ok2 || (ok1 && !same(&ours, &theirs))) && t->disagree++ < 5) {
		fprintf(stderr, "  disagree (%d vs %d):", ok1, ok2);
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, " %02x", buf[i]);
		fprintf(stderr, "\n");
	}
	ath_err__clear(&e1);
	ath_err__clear(&e2);
	msgpack_zone_destroy(&z1);
	msgpack_zone_destroy(&z2);
}

/* One scalar of every format. */
static const struct {
	const unsigned char *bytes;
	size_t len;
} scalars[] = {
	{ B("\xc0") }, { B("\xc2") }, { B("\xc3") }, { B("\x00") }, { B("\x7f") }, { B("\xe0") }, { B("\xff") },
	{ B("\xcc\xff") }, { B("\xcd\xff\xff") }, { B("\xce\xff\xff\xff\xff") },
	{ B("\xcf\xff\xff\xff\xff\xff\xff\xff\xff") }, { B("\xd0\x80") }, { B("\xd0\x05") }, { B("\xd1\x80\x00") },
	{ B("\xd1\x00\x05") }, { B("\xd2\x80\x00\x00\x00") }, { B("\xd2\x00\x00\x00\x05") },
	{ B("\xd3\x80\x00\x00\x00\x00\x00\x00\x00") }, { B("\xd3\x00\x00\x00\x00\x00\x00\x00\x05") },
	{ B("\xca\x3f\x80\x00\x00") }, { B("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00") }, { B("\xa0") }, { B("\xa3" "abc") },
	{ B("\xd9\x00") }, { B("\xd9\x03" "abc") }, { B("\xda\x00\x03" "abc") }, { B("\xdb\x00\x00\x00\x03" "abc") },
	{ B("\xc4\x00") }, { B("\xc4\x02\x00\xff") }, { B("\xc5\x00\x02\x00\xff") }, { B("\xc6\x00\x00\x00\x02\x00\xff") },
	{ B("\xd4\x01\xaa") }, { B("\xd5\x02\xaa\xbb") }, { B("\xd6\xff\x00\x00\x00\x00") },
	{ B("\xd7\x06\x00\x00\x00\x00\x00\x00\x00\x01") }, { B("\xd8\x07" "0123456789abcdef") },
	{ B("\xc7\x00\x05") }, { B("\xc7\x03\x02" "1.5") }, { B("\xc8\x00\x03\x02" "1.5") },
	{ B("\xc9\x00\x00\x00\x03\x02" "1.5") },
	/* not scalars: the general path takes these */
	{ B("\x90") }, { B("\x92\x01\xa1" "x") }, { B("\x81\xa1" "k\x01") }, { B("\xdc\x00\x00") },
};
#define NSCALARS (sizeof scalars / sizeof *scalars)

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* An array of `n` random items from `scalars`, under a fixarray, array16 or array32 header. */
static size_t random_params(unsigned char *buf, size_t n)
{
	size_t len = 0;
	switch (rng() % 3) {
	case 0: buf[len++] = (unsigned char)(0x90 | (n & 0x0f)); break;
	case 1: len += ath_wire__put_be(buf, 0xdc, n, 2); break;
	default: len += ath_wire__put_be(buf, 0xdd, n, 4); break;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)(rng() % NSCALARS);
		memcpy(buf + len, scalars[k].bytes, scalars[k].len);
		len += scalars[k].len;
	}
	return len;
}

static void test_flat_params(void)
{
	unsigned char buf[16 * 24];
	struct tally t = { 0 };

	TEST_CASE("wire/params/each_scalar_agrees_with_msgpack_c");
	for (size_t k = 0; k < NSCALARS; k++) {
		buf[0] = 0x91;
		memcpy(buf + 1, scalars[k].bytes, scalars[k].len);
		agree(&t, buf, scalars[k].len + 1);
		agree(&t, buf + 1, scalars[k].len); /* not an array: refused by both */
	}
	agree(&t, B("\x90"));
	CHECK_INT(0, t.disagree);

	TEST_CASE("wire/params/random_arrays_and_mutants_agree_with_msgpack_c");
	memset(&t, 0, sizeof t);
	for (int i = 0; i < 50000; i++) {
		size_t len = random_params(buf, (size_t)(rng() % 16));
		if (i % 2) { /* a byte changed, or the input cut short */
			size_t at = (size_t)(rng() % len);
			if (rng() % 2)
				buf[at] = (unsigned char)rng();
			else
				len = at ? at : 1;
		}
		agree(&t, buf, len);
	}
	CHECK_INT(0, t.disagree);
	CHECK(t.accepted > 20000);
	printf("params: %ld inputs, %ld accepted\n", t.tried, t.accepted);

	TEST_CASE("wire/params/limits");
	ath_wire_limits lim = { 1, 0, 2 }; /* at most 2 items */
	ath_err e;
	ath_err__init(&e);
	msgpack_zone z;
	msgpack_zone_init(&z, 256);
	msgpack_object o;
	CHECK_INT(0, ath_wire__decode_params(&o, B("\x92\x01\x02"), 0, &lim, &z, &e));
	CHECK_INT(ATH_EINVALID, ath_wire__decode_params(&o, B("\x93\x01\x02\x03"), 0, &lim, &z, &e));
	CHECK_CONTAINS(e.message, "more than the limit of 2");
	lim = (ath_wire_limits){ 1, 3, 0 }; /* at most 3 bytes */
	CHECK_INT(ATH_EINVALID, ath_wire__decode_params(&o, B("\x93\x01\x02\x03"), 0, &lim, &z, &e));
	CHECK_CONTAINS(e.message, "more than the limit of 3");
	CHECK_INT(ATH_EINVALID, ath_wire__decode_params(&o, B("\x92\x01\x02\x03"), 0, NULL, &z, &e));
	CHECK_CONTAINS(e.message, "trailing bytes");
	ath_err__clear(&e);
	msgpack_zone_destroy(&z);
}

/* The inline writers against msgpack-c's packer, value by value. */
static void test_writers(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	unsigned char out[ATH_WIRE_MAX_HEAD];
	int bad = 0;
#define SAME_AS(call, len_)                                                                        \
	do {                                                                                       \
		size_t n_ = (len_);                                                                \
		if (n_ != sb.size || memcmp(out, sb.data, n_) != 0)                                \
			bad++, fprintf(stderr, "  %s differs\n", #call);                           \
		msgpack_sbuffer_clear(&sb);                                                        \
	} while (0)

	TEST_CASE("wire/mpbuf/int64_like_msgpack_c");
	static const int64_t edges[] = { 0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL,
					 INT64_MAX, -1, -31, -32, -33, -128, -129, -32768, -32769, -2147483648LL,
					 -2147483649LL, INT64_MIN };
	for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
		msgpack_pack_int64(&pk, edges[i]);
		SAME_AS(int64, ath_wire__put_int64(out, edges[i]));
	}
	for (int i = 0; i < 100000; i++) {
		int64_t v = (int64_t)(rng() >> (rng() % 64));
		if (rng() % 2)
			v = -v;
		msgpack_pack_int64(&pk, v);
		SAME_AS(int64, ath_wire__put_int64(out, v));
	}
	CHECK_INT(0, bad);

	TEST_CASE("wire/mpbuf/double_and_headers_like_msgpack_c");
	static const double doubles[] = { 0.0, -0.0, 1.5, -2.25e300, 1e-310 };
	for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++) {
		msgpack_pack_double(&pk, doubles[i]);
		SAME_AS(double, ath_wire__put_double(out, doubles[i]));
	}
	static const uint32_t sizes[] = { 0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, UINT32_MAX };
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		msgpack_pack_str(&pk, sizes[i]);
		SAME_AS(str, ath_wire__put_str_header(out, sizes[i]));
		msgpack_pack_bin(&pk, sizes[i]);
		SAME_AS(bin, ath_wire__put_bin_header(out, sizes[i]));
		msgpack_pack_array(&pk, sizes[i]);
		SAME_AS(array, ath_wire__put_array_header(out, sizes[i]));
	}
	CHECK_INT(0, bad);
	msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
	test_flat_params();
	test_writers();
	return test_exit();
}
