/*
 * test_jsonwire.c — tests of cli/jsonwire.c: JSON <-> msgpack for every value kind (exact bytes
 * where the encoding matters), decoding of msgpack forms the encoder never writes, the error
 * messages and their paths in both directions, base64, and the JSON printer. It does not run
 * the athanor command or the library (tests/cli/CMakeLists.txt runs the command).
 */
#include <math.h>
#include <stdbool.h>

#include "jsonwire.h"
#include "test.h"

#define JFLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES)

static char *hex(const unsigned char *p, size_t n)
{
	static char out[8192];
	size_t i;

	for (i = 0; i < n && i * 2 + 2 < sizeof(out); i++)
		snprintf(out + i * 2, 3, "%02x", p[i]);
	out[i * 2] = '\0';
	return out;
}

static size_t unhex(unsigned char *out, size_t cap, const char *h)
{
	size_t n = 0;

	for (; h[0] && h[1] && n < cap; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loadb(text, strlen(text), JFLAGS, &e);

	if (!j)
		fprintf(stderr, "FAIL %s: bad test JSON %s: %s\n", test_case_name, text, e.text);
	return j;
}

/* ---- JSON -> msgpack -> JSON round trips ---- */

struct round_case {
	const char *name;
	const char *json;    /* input, in jsonwire_dumps() layout */
	const char *msgpack; /* expected bytes in hex; NULL = not checked */
	const char *back;    /* JSON read back; NULL = same as json */
};

static const struct round_case round_cases[] = {
	{ "nil", "null", "c0", NULL },
	{ "true", "true", "c3", NULL },
	{ "false", "false", "c2", NULL },
	{ "int/zero", "0", "00", NULL },
	{ "int/fixint_max", "127", "7f", NULL },
	{ "int/uint8", "128", "cc80", NULL },
	{ "int/uint16", "65535", "cdffff", NULL },
	{ "int/uint64", "4294967296", "cf0000000100000000", NULL },
	{ "int/neg_fixint", "-32", "e0", NULL },
	{ "int/int8", "-33", "d0df", NULL },
	{ "int/int64_min", "-9223372036854775808", "d38000000000000000", NULL },
	{ "int/int64_max", "9223372036854775807", "cf7fffffffffffffff", NULL },
	{ "uint/max", "{\"$uint\": \"18446744073709551615\"}", "cfffffffffffffffff", NULL },
	{ "uint/int64_max_plus_1", "{\"$uint\": \"9223372036854775808\"}", "cf8000000000000000", NULL },
	{ "uint/small_is_int", "{\"$uint\": \"5\"}", "05", "5" },
	{ "real/1.5", "1.5", "cb3ff8000000000000", NULL },
	{ "real/0.1", "0.1", "cb3fb999999999999a", NULL },
	{ "real/negzero", "-0.0", "cb8000000000000000", NULL },
	{ "real/whole", "100.0", "cb4059000000000000", NULL },
	{ "real/big", "1e+300", NULL, NULL },
	{ "real/denormal", "5e-324", "cb0000000000000001", NULL },
	{ "real/max", "1.7976931348623157e+308", "cb7fefffffffffffff", NULL },
	{ "float/nan", "{\"$float\": \"nan\"}", NULL, NULL },
	{ "float/inf", "{\"$float\": \"inf\"}", "cb7ff0000000000000", NULL },
	{ "float/-inf", "{\"$float\": \"-inf\"}", "cbfff0000000000000", NULL },
	{ "str/empty", "\"\"", "a0", NULL },
	{ "str/ascii", "\"abc\"", "a3616263", NULL },
	{ "str/latin1", "\"\xc3\xa9\"", "a2c3a9", NULL },
	{ "str/astral", "\"\xf0\x9f\x98\x80\"", "a4f09f9880", NULL },
	{ "str/escaped_astral", "\"\\ud83d\\ude00\"", "a4f09f9880", "\"\xf0\x9f\x98\x80\"" },
	{ "str/nul", "\"a\\u0000b\"", "a3610062", NULL },
	{ "str/escapes", "\"q\\\"b\\\\n\\nt\\tc\\u0001\"", NULL, NULL },
	{ "str/str8", "\"0123456789abcdef0123456789abcdef\"",
	  "d920" "30313233343536373839616263646566" "30313233343536373839616263646566", NULL },
	{ "array/empty", "[]", "90", NULL },
	{ "map/empty", "{}", "80", NULL },
	{ "nested", "[1, [2, {\"a\": null}]]", "920192028 1a161c0", NULL },
	{ "map/order_kept", "{\"z\": 1, \"a\": 2}", "82a17a01a16102", NULL },
	{ "map/odd_keys", "{\"odd key\": 1, \"\": 2, \"\xe2\x82\xac\": 3}", NULL, NULL },
	{ "map/dollar_key_is_plain", "{\"$param\": 1}", "81a624706172616d01", NULL },
	{ "map/dollar_and_v_is_plain", "{\"$foo\": 1, \"v\": 2}", NULL, NULL },
	{ "bin/empty", "{\"$bin\": \"\"}", "c400", NULL },
	{ "bin/bytes", "{\"$bin\": \"AAEC/w==\"}", "c404000102ff", NULL },
	{ "bin/unpadded", "{\"$bin\": \"AAE\"}", "c4020001", "{\"$bin\": \"AAE=\"}" },
	{ "ext/decimal", "{\"$ext\": 2, \"v\": \"12.50\"}", "c705023132 2e3530", NULL },
	{ "ext/date", "{\"$ext\": 3, \"v\": \"2024-01-02\"}", "c70a03323032342d30312d3032", NULL },
	{ "ext/time", "{\"$ext\": 4, \"v\": \"03:04:05.123456\"}", NULL, NULL },
	{ "ext/datetime", "{\"$ext\": 5, \"v\": \"2024-01-02T03:04:05.123456\"}", NULL, NULL },
	{ "ext/text_utf8", "{\"$ext\": 2, \"v\": \"\xc3\xa9\"}", "d502c3a9", NULL },
	{ "ext/objref", "{\"$ext\": 1, \"v\": \"AAAAAAAAACo=\"}", "d701000000000000002a", NULL },
	{ "ext/interval", "{\"$ext\": 6, \"v\": \"AAAAFB3XYAE=\"}", "d7060000001 41dd76001", NULL },
	{ "ext/interval_neg", "{\"$ext\": 6, \"v\": \"//////////8=\"}", "d706ffffffffffffffff", NULL },
	{ "ext/uuid", "{\"$ext\": 7, \"v\": \"AAECAwQFBgcICQoLDA0ODw==\"}",
	  "d807000102030405060708090a0b0c0d0e0f", NULL },
	{ "ext/unknown", "{\"$ext\": 42, \"v\": \"AQ==\"}", "d42a01", NULL },
	{ "ext/unknown_negative_empty", "{\"$ext\": -5, \"v\": \"\"}", "c700fb", NULL },
	{ "ext/key_order_free", "{\"v\": \"1\", \"$ext\": 2}", "d40231", "{\"$ext\": 2, \"v\": \"1\"}" },
	{ "ts/epoch_32", "{\"$ext\": -1, \"v\": \"1970-01-01T00:00:00Z\"}", "d6ff00000000", NULL },
	{ "ts/32", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05Z\"}", "d6ff65937d25", NULL },
	{ "ts/64", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05.123456Z\"}", "d7ff1d6f280065937d25", NULL },
	{ "ts/96_negative", "{\"$ext\": -1, \"v\": \"1969-12-31T23:59:59.999999999Z\"}",
	  "c70cff3b9ac9ffffffffffffffffff", NULL },
	{ "ts/96_far", "{\"$ext\": -1, \"v\": \"2600-01-01T00:00:00Z\"}", "c70cff0000000000000004a0fe7280",
	  NULL },
	{ "ts/year1", "{\"$ext\": -1, \"v\": \"0001-01-01T00:00:00Z\"}", "c70cff00000000fffffff1886e0900",
	  NULL },
	{ "ts/year0", "{\"$ext\": -1, \"v\": \"0000-01-01T00:00:00Z\"}", NULL, NULL },
	{ "ts/max", "{\"$ext\": -1, \"v\": \"9999-12-31T23:59:59.999999Z\"}",
	  "c70cff3b9ac6180000003afff4417f", NULL },
	{ "ts/leap_day", "{\"$ext\": -1, \"v\": \"2000-02-29T12:00:00Z\"}", NULL, NULL },
	{ "ts/offset", "{\"$ext\": -1, \"v\": \"2024-01-02T04:34:05+01:30\"}", "d6ff65937d25",
	  "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05Z\"}" },
	{ "ts/neg_offset_day_change", "{\"$ext\": -1, \"v\": \"2024-01-01T23:00:00-05:00\"}", NULL,
	  "{\"$ext\": -1, \"v\": \"2024-01-02T04:00:00Z\"}" },
	{ "ts/lowercase_and_space", "{\"$ext\": -1, \"v\": \"2024-01-02 03:04:05z\"}", "d6ff65937d25",
	  "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05Z\"}" },
	{ "ts/short_fraction", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05.5Z\"}", NULL,
	  "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05.500000Z\"}" },
	{ "ts/nanos", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05.123456789Z\"}", NULL, NULL },
	{ "ts/zero_fraction", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05.000Z\"}", "d6ff65937d25",
	  "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05Z\"}" },
	{ "statement", "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], \"from\": "
		       "[[\"table\", \"users\"]], \"where\": [\"=\", [\"col\", \"users\", \"id\"], [\"bind\", 0]]}",
	  NULL, NULL },
	{ "row", "[1, \"x\", null, 2.5, {\"$bin\": \"AQI=\"}, {\"$ext\": 2, \"v\": \"1.10\"}, [1, 2], "
		 "{\"a\": [true]}]", NULL, NULL },
};

static void strip_spaces(char *s)
{
	char *o = s;

	for (; *s; s++)
		if (*s != ' ')
			*o++ = *s;
	*o = '\0';
}

static void test_round_trips(void)
{
	for (size_t i = 0; i < sizeof(round_cases) / sizeof(round_cases[0]); i++) {
		const struct round_case *rc = &round_cases[i];
		char err[256], want[128];
		ath_buf buf = ATH_BUF_INIT;
		json_t *in, *back;
		char *text;

		TEST_CASE(rc->name);
		in = load(rc->json);
		CHECK(in != NULL);
		if (!in)
			continue;
		CHECK_INT(0, jsonwire_to_msgpack(in, &buf, err, sizeof(err)));
		if (rc->msgpack) {
			snprintf(want, sizeof(want), "%s", rc->msgpack);
			strip_spaces(want);
			CHECK_STR(want, hex(buf.ptr, buf.size));
		}
		back = jsonwire_from_msgpack(buf.ptr, buf.size, err, sizeof(err));
		CHECK(back != NULL);
		if (!back)
			fprintf(stderr, "  error: %s\n", err);
		text = jsonwire_dumps(back);
		CHECK_STR(rc->back ? rc->back : rc->json, text);
		free(text);
		json_decref(back);
		json_decref(in);
		jsonwire_buf_dispose(&buf);
	}
}

/* ---- msgpack forms the encoder does not write, read as JSON ---- */

struct decode_case {
	const char *name;
	const char *msgpack;
	const char *json;
};

static const struct decode_case decode_cases[] = {
	{ "float32", "ca3fc00000", "1.5" },
	{ "float32/nan", "ca7fc00000", "{\"$float\": \"nan\"}" },
	{ "float32/-inf", "caff800000", "{\"$float\": \"-inf\"}" },
	{ "float64/neg_nan", "cbfff8000000000001", "{\"$float\": \"nan\"}" },
	{ "uint8/small", "cc05", "5" },
	{ "uint32", "ceffffffff", "4294967295" },
	{ "int8/-1", "d0ff", "-1" },
	{ "int16", "d18000", "-32768" },
	{ "int32", "d280000000", "-2147483648" },
	{ "int64/positive", "d3000000000000002a", "42" },
	{ "str8/short", "d903616263", "\"abc\"" },
	{ "str16", "da0001 61", "\"a\"" },
	{ "str32", "db00000001 61", "\"a\"" },
	{ "bin8", "c40100", "{\"$bin\": \"AA==\"}" },
	{ "bin16", "c5000101", "{\"$bin\": \"AQ==\"}" },
	{ "bin32", "c600000002ffee", "{\"$bin\": \"/+4=\"}" },
	{ "array16", "dc0001c0", "[null]" },
	{ "array32", "dd00000002c2c3", "[false, true]" },
	{ "map16", "de0001a161c0", "{\"a\": null}" },
	{ "map32", "df00000001a16101", "{\"a\": 1}" },
	{ "map/nul_key", "81a361006201", "{\"a\\u0000b\": 1}" },
	{ "map/dollar_key_not_a_tag", "81a424626966a0", "{\"$bif\": \"\"}" },
	{ "ext16", "c8000102 41", "{\"$ext\": 2, \"v\": \"A\"}" },
	{ "ext32", "c900000001 03 41", "{\"$ext\": 3, \"v\": \"A\"}" },
	{ "fixext16_unknown", "d864000102030405060708090a0b0c0d0e0f",
	  "{\"$ext\": 100, \"v\": \"AAECAwQFBgcICQoLDA0ODw==\"}" },
	{ "ts/96_small", "c70cff000000000000000000000001", "{\"$ext\": -1, \"v\": \"1970-01-01T00:00:01Z\"}" },
	{ "ts/64_nanos", "d7ff00000004 00000000", "{\"$ext\": -1, \"v\": \"1970-01-01T00:00:00.000000001Z\"}" },
	{ "ts/32_max", "d6ffffffffff", "{\"$ext\": -1, \"v\": \"2106-02-07T06:28:15Z\"}" },
};

static void test_decode_forms(void)
{
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct decode_case *dc = &decode_cases[i];
		unsigned char bytes[256];
		char h[256], err[256];
		size_t n;
		json_t *j;
		char *text;

		TEST_CASE(dc->name);
		snprintf(h, sizeof(h), "%s", dc->msgpack);
		strip_spaces(h);
		n = unhex(bytes, sizeof(bytes), h);
		j = jsonwire_from_msgpack(bytes, n, err, sizeof(err));
		if (!j)
			fprintf(stderr, "  error: %s\n", err);
		text = jsonwire_dumps(j);
		CHECK_STR(dc->json, text);
		if (strcmp(dc->name, "map/nul_key") == 0) { /* jansson cannot parse such a key: encode it here */
			ath_buf buf = ATH_BUF_INIT;
			CHECK_INT(0, jsonwire_to_msgpack(j, &buf, err, sizeof(err)));
			CHECK_STR(h, hex(buf.ptr, buf.size));
			jsonwire_buf_dispose(&buf);
		}
		free(text);
		json_decref(j);
	}
}

/* ---- errors, JSON -> msgpack ---- */

struct error_case {
	const char *name;
	const char *input; /* JSON for encode errors, hex for decode errors */
	const char *error; /* expected error text (prefix) */
};

static const struct error_case encode_errors[] = {
	{ "ext/no_v", "{\"$ext\": 2}", "$: {\"$ext\": 2} needs its payload in \"v\"" },
	{ "ext/v_not_string", "{\"$ext\": 2, \"v\": 5}", "$: \"v\" of {\"$ext\": 2} must be a string" },
	{ "ext/type_range", "{\"$ext\": 300, \"v\": \"\"}", "$: \"$ext\" must be an integer from -128 to 127" },
	{ "ext/type_string", "{\"$ext\": \"2\", \"v\": \"\"}", "$: \"$ext\" must be an integer" },
	{ "ext/type_real", "{\"$ext\": 2.0, \"v\": \"\"}", "$: \"$ext\" must be an integer" },
	{ "ext/extra_key", "{\"$ext\": 2, \"v\": \"1\", \"w\": 1}", "$: unexpected key \"w\" in {\"$ext\": n" },
	{ "ext/bad_base64", "{\"$ext\": 7, \"v\": \"not base64!\"}", "$: \"v\" of {\"$ext\": 7} must be base64" },
	{ "ext/unknown_bad_base64", "{\"$ext\": 9, \"v\": \"A\"}", "$: \"v\" of {\"$ext\": 9} must be base64" },
	{ "bin/bad_char", "[{\"where\": [1, {\"$bin\": \"!!!!\"}]}]", "$[0].where[1]: \"$bin\" is not valid base64" },
	{ "bin/one_char", "{\"$bin\": \"A\"}", "$: \"$bin\" is not valid base64" },
	{ "bin/inner_pad", "{\"$bin\": \"AA=A\"}", "$: \"$bin\" is not valid base64" },
	{ "bin/noncanonical", "{\"$bin\": \"AAF=\"}", "$: \"$bin\" is not valid base64" },
	{ "bin/space", "{\"$bin\": \"AA AA\"}", "$: \"$bin\" is not valid base64" },
	{ "bin/not_string", "{\"$bin\": 5}", "$: \"$bin\" must be a base64 string" },
	{ "bin/extra", "{\"$bin\": \"\", \"v\": 1}", "$: unexpected key \"v\" beside \"$bin\"" },
	{ "two_tags", "{\"$bin\": \"\", \"$float\": \"nan\"}", "$: an object cannot hold both" },
	{ "float/case", "{\"$float\": \"NaN\"}", "$: \"$float\" must be \"nan\", \"inf\" or \"-inf\"" },
	{ "float/number", "{\"$float\": 1}", "$: \"$float\" must be" },
	{ "uint/overflow", "{\"$uint\": \"18446744073709551616\"}", "$: \"$uint\" must be a string of decimal digits" },
	{ "uint/negative", "{\"$uint\": \"-1\"}", "$: \"$uint\" must be" },
	{ "uint/empty", "{\"$uint\": \"\"}", "$: \"$uint\" must be" },
	{ "uint/number", "{\"$uint\": 5}", "$: \"$uint\" must be" },
	{ "ts/month", "{\"$ext\": -1, \"v\": \"2024-13-01T00:00:00Z\"}", "$: \"v\" of {\"$ext\": -1} must be an RFC 3339" },
	{ "ts/not_leap", "{\"a\": {\"$ext\": -1, \"v\": \"2023-02-29T00:00:00Z\"}}", "$.a: \"v\" of {\"$ext\": -1}" },
	{ "ts/leap_second", "{\"$ext\": -1, \"v\": \"2016-12-31T23:59:60Z\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "ts/no_zone", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "ts/empty_fraction", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05.Z\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "ts/ten_digits", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05.1234567890Z\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "ts/year_5_digits", "{\"$ext\": -1, \"v\": \"10000-01-02T03:04:05Z\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "ts/before_year0", "{\"$ext\": -1, \"v\": \"0000-01-01T00:00:00+01:00\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "ts/trailing", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05Zx\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "ts/bad_offset", "{\"$ext\": -1, \"v\": \"2024-01-02T03:04:05+24:00\"}", "$: \"v\" of {\"$ext\": -1}" },
	{ "path/odd_key", "{\"a b\": {\"$bin\": \"!\"}}", "$[\"a b\"]: \"$bin\" is not valid base64" },
	{ "path/quote_key", "{\"q\\\"\": [{\"$bin\": \"!\"}]}", "$[\"q\\\"\"][0]: \"$bin\"" },
	{ "path/deep", "{\"where\": [\"=\", [\"col\", \"t\", \"a\"], [\"lit\", {\"$float\": \"x\"}]]}",
	  "$.where[2][1]: \"$float\" must be" },
};

static void test_encode_errors(void)
{
	for (size_t i = 0; i < sizeof(encode_errors) / sizeof(encode_errors[0]); i++) {
		const struct error_case *ec = &encode_errors[i];
		char err[256];
		ath_buf buf = ATH_BUF_INIT;
		json_t *in;

		TEST_CASE(ec->name);
		in = load(ec->input);
		CHECK(in != NULL);
		if (!in)
			continue;
		err[0] = '\0';
		CHECK_INT(-1, jsonwire_to_msgpack(in, &buf, err, sizeof(err)));
		CHECK_INT(0, buf.size);
		CHECK_INT(0, strncmp(ec->error, err, strlen(ec->error)));
		if (strncmp(ec->error, err, strlen(ec->error)) != 0)
			fprintf(stderr, "  expected: %s...\n  actual:   %s\n", ec->error, err);
		json_decref(in);
		jsonwire_buf_dispose(&buf);
	}
}

/* ---- errors, msgpack -> JSON ---- */

static const struct error_case decode_errors[] = {
	{ "key/int", "810102", "$: map key #0 is an integer; JSON object keys must be strings" },
	{ "key/nil_nested", "81a1619181c0c0", "$.a[0]: map key #0 is nil" },
	{ "key/array", "8190c0", "$: map key #0 is an array" },
	{ "key/bin", "81c40161c0", "$: map key #0 is bin" },
	{ "key/reserved_bin", "81a42462696ea0", "$[\"$bin\"]: map key \"$bin\" is reserved" },
	{ "key/reserved_ext_nested", "9181a4246578740a", "$[0][\"$ext\"]: map key \"$ext\" is reserved" },
	{ "key/duplicate", "82a16101a16102", "$.a: duplicate map key" },
	{ "key/bad_utf8", "81a1ffc0", "$: map key #0 is not valid UTF-8" },
	{ "str/bad_utf8", "9201a1ff", "$[1]: string is not valid UTF-8" },
	{ "str/overlong", "a2c080", "$: string is not valid UTF-8" },
	{ "str/surrogate", "a3eda080", "$: string is not valid UTF-8" },
	{ "str/beyond_10ffff", "a4f4908080", "$: string is not valid UTF-8" },
	{ "str/cut_sequence", "a2e282", "$: string is not valid UTF-8" },
	{ "truncated/array", "9201cd00", "$[1]: msgpack truncated at byte 3 (1 more bytes expected)" },
	{ "truncated/count", "920191", "$[1]: array of 1 elements in 0 remaining bytes" },
	{ "truncated/str", "a3616", "$: msgpack truncated at byte 1" },
	{ "truncated/int", "cd01", "$: msgpack truncated at byte 1 (1 more bytes expected)" },
	{ "truncated/key", "81", "$: map of 1 entries in 0 remaining bytes" },
	{ "trailing", "0102", "$: 1 trailing bytes after the msgpack value" },
	{ "invalid_byte", "91c1", "$[0]: invalid msgpack byte 0xc1 at byte 1" },
	{ "huge_array", "ddffffffff", "$: array of 4294967295 elements in 0 remaining bytes" },
	{ "ts/size", "d5ff0000", "$: timestamp (ext -1) payload of 2 bytes" },
	{ "ts/nanos", "c70cff3b9aca00" "0000000000000000", "$: timestamp (ext -1) with nanoseconds 1000000000" },
	{ "ts/range", "c70cff00000000" "0000003afff44180", "$: timestamp (ext -1) of 253402300800 s is outside" },
	{ "ts/negative_range", "c70cff00000000" "fffffff1868b83ff", "$: timestamp (ext -1) of -62167219201 s" },
	{ "ext/text_not_utf8", "d402ff", "$: ext 2 payload is not UTF-8 text" },
};

static void test_decode_errors(void)
{
	for (size_t i = 0; i < sizeof(decode_errors) / sizeof(decode_errors[0]); i++) {
		const struct error_case *ec = &decode_errors[i];
		unsigned char bytes[256];
		char err[256];
		size_t n;
		json_t *j;

		TEST_CASE(ec->name);
		n = unhex(bytes, sizeof(bytes), ec->input);
		err[0] = '\0';
		j = jsonwire_from_msgpack(bytes, n, err, sizeof(err));
		CHECK(j == NULL);
		CHECK_INT(0, strncmp(ec->error, err, strlen(ec->error)));
		if (strncmp(ec->error, err, strlen(ec->error)) != 0)
			fprintf(stderr, "  expected: %s...\n  actual:   %s\n", ec->error, err);
		json_decref(j);
	}
	TEST_CASE("empty_input");
	{
		char err[128];
		CHECK(jsonwire_from_msgpack(NULL, 0, err, sizeof(err)) == NULL);
		CHECK_STR("$: empty msgpack input", err);
		/* a tiny error buffer truncates, never overflows */
		CHECK(jsonwire_from_msgpack("\x81\x01\x02", 3, err, 8) == NULL);
		CHECK_STR("$: map ", err);
		CHECK(jsonwire_from_msgpack("\x81\x01\x02", 3, NULL, 0) == NULL);
	}
}

/* ---- depth: deeper than msgpack-c's 32-level unpacker, and the limit ---- */

static void test_depth(void)
{
	enum { OK_DEPTH = 200, TOO_DEEP = JSONWIRE_MAX_DEPTH + 1 };
	char *text = malloc(2 * TOO_DEEP + 3);
	unsigned char bytes[TOO_DEEP + 1];
	char err[256];
	ath_buf buf = ATH_BUF_INIT;
	json_t *j, *back;
	char *out;

	TEST_CASE("depth/200");
	memset(text, '[', OK_DEPTH);
	memset(text + OK_DEPTH, ']', OK_DEPTH);
	text[2 * OK_DEPTH] = '\0';
	j = load(text);
	CHECK_INT(0, jsonwire_to_msgpack(j, &buf, err, sizeof(err)));
	CHECK_INT(OK_DEPTH, buf.size);
	back = jsonwire_from_msgpack(buf.ptr, buf.size, err, sizeof(err));
	CHECK(back != NULL);
	out = jsonwire_dumps(back);
	strip_spaces(text);
	CHECK_STR(text, out);
	free(out);
	json_decref(back);
	json_decref(j);

	TEST_CASE("depth/too_deep_json");
	memset(text, '[', TOO_DEEP);
	memset(text + TOO_DEEP, ']', TOO_DEEP);
	text[2 * TOO_DEEP] = '\0';
	j = load(text);
	buf.size = 0;
	CHECK_INT(-1, jsonwire_to_msgpack(j, &buf, err, sizeof(err)));
	CHECK_CONTAINS(err, "nested deeper than 1024");
	CHECK(strncmp(err, "$[0][0][0]", 10) == 0);
	json_decref(j);

	TEST_CASE("depth/too_deep_msgpack");
	memset(bytes, 0x91, TOO_DEEP);
	bytes[TOO_DEEP] = 0xc0;
	CHECK(jsonwire_from_msgpack(bytes, sizeof(bytes), err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "nested deeper than 1024");
	/* a path longer than the path buffer ends in "..." */
	CHECK_CONTAINS(err, "...: nested");

	free(text);
	jsonwire_buf_dispose(&buf);
}

/* ---- appending, base64, printer ---- */

static void test_append(void)
{
	ath_buf buf = ATH_BUF_INIT;
	char err[128];
	json_t *a = json_integer(1), *bad = load("[1, {\"$bin\": \"!\"}]");

	TEST_CASE("append");
	CHECK_INT(0, jsonwire_to_msgpack(a, &buf, err, sizeof(err)));
	CHECK_INT(0, jsonwire_to_msgpack(a, &buf, err, sizeof(err)));
	CHECK_STR("0101", hex(buf.ptr, buf.size));
	CHECK_INT(-1, jsonwire_to_msgpack(bad, &buf, err, sizeof(err)));
	CHECK_STR("0101", hex(buf.ptr, buf.size));
	CHECK_STR("$[1]: \"$bin\" is not valid base64", err);
	CHECK_INT(-1, jsonwire_to_msgpack(NULL, &buf, err, sizeof(err)));
	jsonwire_buf_dispose(&buf);
	CHECK(buf.ptr == NULL && buf.size == 0 && buf.reserved == 0);
	jsonwire_buf_dispose(NULL);
	json_decref(a);
	json_decref(bad);
}

static void test_base64(void)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};

	TEST_CASE("base64/rfc4648");
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char *enc = jsonwire_base64_encode((const unsigned char *)vec[i][0], strlen(vec[i][0]));
		unsigned char *dec;
		size_t n;

		CHECK_STR(vec[i][1], enc);
		CHECK_INT(0, jsonwire_base64_decode(&dec, &n, enc, strlen(enc)));
		CHECK_INT(strlen(vec[i][0]), n);
		CHECK(memcmp(dec, vec[i][0], n) == 0);
		free(dec);
		free(enc);
	}
	TEST_CASE("base64/unpadded");
	{
		unsigned char *dec;
		size_t n;
		CHECK_INT(0, jsonwire_base64_decode(&dec, &n, "Zm9vYg", 6));
		CHECK_INT(4, n);
		free(dec);
		CHECK_INT(-1, jsonwire_base64_decode(&dec, &n, "Zm9vY", 5));
		CHECK_INT(-1, jsonwire_base64_decode(&dec, &n, "Zm9vYh==", 8));
		CHECK_INT(-1, jsonwire_base64_decode(&dec, &n, "Zm9v-_==", 8));
		CHECK_INT(-1, jsonwire_base64_decode(&dec, &n, "Zg===", 5));
		CHECK(dec == NULL);
	}
	TEST_CASE("base64/all_bytes");
	{
		unsigned char all[256], *dec;
		size_t n;
		char *enc;
		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		enc = jsonwire_base64_encode(all, sizeof(all));
		CHECK_INT(0, jsonwire_base64_decode(&dec, &n, enc, strlen(enc)));
		CHECK_INT(256, n);
		CHECK(memcmp(dec, all, 256) == 0);
		free(dec);
		free(enc);
	}
}

static void test_printer(void)
{
	char num[40];
	json_t *j;
	char *s;

	TEST_CASE("dumps/reals");
	jsonwire_format_double(num, sizeof(num), 0.1);
	CHECK_STR("0.1", num);
	jsonwire_format_double(num, sizeof(num), 1.0 / 3);
	CHECK_STR("0.3333333333333333", num);
	jsonwire_format_double(num, sizeof(num), 1e16);
	CHECK_STR("1e+16", num);
	jsonwire_format_double(num, sizeof(num), 123456789.125);
	CHECK_STR("123456789.125", num);
	jsonwire_format_double(num, sizeof(num), 100.0);
	CHECK_STR("100", num);
	jsonwire_format_double(num, sizeof(num), 1e15);
	CHECK_STR("1000000000000000", num);
	jsonwire_format_double(num, sizeof(num), 0.0001);
	CHECK_STR("0.0001", num);
	jsonwire_format_double(num, sizeof(num), 0.00001);
	CHECK_STR("1e-05", num);
	jsonwire_format_double(num, sizeof(num), -2.5e-300);
	CHECK_STR("-2.5e-300", num);

	TEST_CASE("dumps/non_finite");
	j = json_array();
	json_array_append_new(j, json_real(1.0));
	s = jsonwire_dumps(j);
	CHECK_STR("[1.0]", s);
	free(s);
	json_decref(j);
	CHECK(jsonwire_dumps(NULL) == NULL);

	TEST_CASE("dumps/layout");
	j = load("{\"a\": [1, {}, [], \"\\u001f\\u007f\"], \"b\\n\": {\"c\": false}}");
	s = jsonwire_dumps(j);
	CHECK_STR("{\"a\": [1, {}, [], \"\\u001f\x7f\"], \"b\\n\": {\"c\": false}}", s);
	free(s);
	json_decref(j);
}

int main(void)
{
	test_round_trips();
	test_decode_forms();
	test_encode_errors();
	test_decode_errors();
	test_depth();
	test_append();
	test_base64();
	test_printer();
	return test_exit();
}
