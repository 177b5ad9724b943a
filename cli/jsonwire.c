/*
 * jsonwire.c — converts between JSON (jansson) and msgpack wire values, following the JSON
 * spelling of docs/wire-format.md "Values" (tags listed in jsonwire.h), and prints JSON with
 * shortest round-trip reals. It knows values, not statements: it neither validates a statement
 * shape nor checks ext payloads beyond what their JSON spelling needs (timestamps, base64).
 * Encoding goes through msgpack-c's packer; decoding is a small reader of its own, because
 * msgpack-c's msgpack_unpack_next() refuses containers nested deeper than 32
 * (MSGPACK_EMBED_STACK_SIZE) and gives no position for its errors.
 */
#include "jsonwire.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

/* ---- error context: a message buffer and the path of the node being converted ---- */

typedef struct ctx {
	char *err;
	size_t errlen;
	char path[512];
	size_t plen;
	int depth;
} ctx;

static void ctx_init(ctx *c, char *errbuf, size_t errlen)
{
	c->err = errbuf;
	c->errlen = errlen;
	c->path[0] = '$';
	c->path[1] = '\0';
	c->plen = 1;
	c->depth = 0;
	if (errbuf && errlen)
		errbuf[0] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->errlen == 0)
		return;
	if (c->plen > 200) /* keep the head and the tail of a very long path */
		n = snprintf(c->err, c->errlen, "%.80s...%s: ", c->path, c->path + c->plen - 100);
	else
		n = snprintf(c->err, c->errlen, "%s: ", c->path);
	if (n < 0 || (size_t)n >= c->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Appends text to the path; a path too long for the buffer ends in "..." instead. */
static size_t path_push(ctx *c, const char *text)
{
	size_t old = c->plen, n = strlen(text), cap = sizeof(c->path);

	if (old + n + 4 <= cap) {
		memcpy(c->path + old, text, n + 1);
		c->plen = old + n;
	} else if (old + 4 <= cap && (old < 3 || memcmp(c->path + old - 3, "...", 3) != 0)) {
		memcpy(c->path + old, "...", 4);
		c->plen = old + 3;
	}
	return old;
}

static void path_pop(ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static size_t path_index(ctx *c, size_t i)
{
	char seg[32];

	snprintf(seg, sizeof(seg), "[%zu]", i);
	return path_push(c, seg);
}

static size_t path_key(ctx *c, const char *key, size_t len)
{
	char seg[96];
	size_t i, n = 0;
	bool ident = len > 0 && len <= 64 &&
		     ((key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z') || key[0] == '_');

	for (i = 0; ident && i < len; i++) {
		unsigned char ch = (unsigned char)key[i];
		ident = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			ch == '_';
	}
	if (ident) {
		seg[n++] = '.';
		memcpy(seg + n, key, len);
		n += len;
	} else {
		seg[n++] = '[';
		seg[n++] = '"';
		for (i = 0; i < len && n < 80; i++) {
			unsigned char ch = (unsigned char)key[i];
			if (ch == '"' || ch == '\\') {
				seg[n++] = '\\';
				seg[n++] = (char)ch;
			} else if (ch < 0x20) {
				n += (size_t)snprintf(seg + n, sizeof(seg) - n, "\\u%04x", ch);
			} else {
				seg[n++] = (char)ch;
			}
		}
		if (i < len) {
			memcpy(seg + n, "...", 3);
			n += 3;
		}
		seg[n++] = '"';
		seg[n++] = ']';
	}
	seg[n] = '\0';
	return path_push(c, seg);
}

/* ---- small helpers ---- */

static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		size_t n;
		uint32_t cp;

		if (b < 0x80) {
			i++;
			continue;
		} else if (b >= 0xc2 && b <= 0xdf) {
			n = 1;
			cp = b & 0x1f;
		} else if (b >= 0xe0 && b <= 0xef) {
			n = 2;
			cp = b & 0x0f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			n = 3;
			cp = b & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static const char *const tag_keys[] = { "$ext", "$bin", "$float", "$uint" };

static bool is_tag_key(const char *key, size_t len)
{
	for (size_t i = 0; i < sizeof(tag_keys) / sizeof(tag_keys[0]); i++)
		if (strlen(tag_keys[i]) == len && memcmp(tag_keys[i], key, len) == 0)
			return true;
	return false;
}

/* ---- base64 ---- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *jsonwire_base64_encode(const unsigned char *data, size_t len)
{
	size_t i, o = 0;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int jsonwire_base64_decode(unsigned char **out, size_t *out_len, const char *text, size_t text_len)
{
	size_t n = text_len, i, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	unsigned char *buf;

	*out = NULL;
	*out_len = 0;
	if (n % 4 == 0 && n >= 2 && text[n - 1] == '=')
		n -= text[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return -1;
	buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return -2;
	for (i = 0; i < n; i++) {
		int v = b64_value((unsigned char)text[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) { /* unused low bits must be zero: one spelling per byte string */
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = o;
	return 0;
}

/* ---- RFC 3339 <-> msgpack timestamp (Howard Hinnant's civil-date algorithms) ---- */

#define TS_MIN_SEC (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TS_MAX_SEC 253402300799LL   /* 9999-12-31T23:59:59Z */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* YYYY-MM-DD(T|t| )HH:MM:SS[.f{1,9}](Z|z|+HH:MM|-HH:MM); leap second 60 is refused. */
static bool parse_rfc3339(const char *s, size_t len, msgpack_timestamp *ts)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	uint32_t nsec = 0;
	size_t i;
	int64_t sec;
	bool leap;

	if (len < 20 || memchr(s, '\0', len))
		return false;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return false;
	i = 19;
	if (s[i] == '.') {
		int nd = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
			if (nd >= 9)
				return false;
			nsec = nsec * 10 + (uint32_t)(s[i] - '0');
		}
		if (nd == 0)
			return false;
		for (; nd < 9; nd++)
			nsec *= 10;
	}
	if (i == len - 1 && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
		   digits(s + i + 1, 2, &oh) && digits(s + i + 4, 2, &om)) {
		sign = s[i] == '+' ? 1 : -1;
		if (oh > 23 || om > 59)
			return false;
	} else {
		return false;
	}
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || se > 59)
		return false;
	sec = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	sec -= (int64_t)sign * (oh * 3600 + om * 60);
	if (sec < TS_MIN_SEC || sec > TS_MAX_SEC)
		return false;
	ts->tv_sec = sec;
	ts->tv_nsec = nsec;
	return true;
}

/* Fraction: none for whole seconds, 6 digits when the value is whole microseconds, else 9. */
static bool format_rfc3339(char *buf, size_t len, const msgpack_timestamp *ts)
{
	int64_t days, rem, y;
	unsigned m, d;
	int n;

	if (ts->tv_sec < TS_MIN_SEC || ts->tv_sec > TS_MAX_SEC || ts->tv_nsec >= 1000000000u)
		return false;
	days = ts->tv_sec / 86400;
	rem = ts->tv_sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	n = snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d", (int)y, m, d, (int)(rem / 3600),
		     (int)(rem / 60 % 60), (int)(rem % 60));
	if (ts->tv_nsec == 0)
		snprintf(buf + n, len - (size_t)n, "Z");
	else if (ts->tv_nsec % 1000 == 0)
		snprintf(buf + n, len - (size_t)n, ".%06" PRIu32 "Z", ts->tv_nsec / 1000);
	else
		snprintf(buf + n, len - (size_t)n, ".%09" PRIu32 "Z", ts->tv_nsec);
	return true;
}

/* ---- JSON -> msgpack ---- */

static int buf_write(void *data, const char *bytes, size_t len)
{
	ath_buf *b = data;

	if (len > SIZE_MAX - b->size)
		return -1;
	if (b->size + len > b->reserved) {
		size_t cap = b->reserved ? b->reserved : 256;
		unsigned char *p;
		while (cap < b->size + len)
			cap = cap > SIZE_MAX / 2 ? b->size + len : cap * 2;
		p = realloc(b->ptr, cap);
		if (!p)
			return -1;
		b->ptr = p;
		b->reserved = cap;
	}
	memcpy(b->ptr + b->size, bytes, len);
	b->size += len;
	return 0;
}

void jsonwire_buf_dispose(ath_buf *buf)
{
	if (!buf)
		return;
	free(buf->ptr);
	buf->ptr = NULL;
	buf->reserved = 0;
	buf->size = 0;
}

static int nomem(ctx *c)
{
	fail(c, "out of memory");
	return -1;
}

/* The first key of `j` that is not in `allowed` (NULL-terminated), or NULL. */
static const char *extra_key(const json_t *j, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)j, key, v) {
		const char *const *a;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (!*a)
			return key;
	}
	return NULL;
}

static int pack_tagged(ctx *c, msgpack_packer *pk, const json_t *j, const char *tag)
{
	static const char *const ext_keys[] = { "$ext", "v", NULL };
	const char *single[2] = { tag, NULL };
	const char *extra = extra_key(j, strcmp(tag, "$ext") == 0 ? ext_keys : single);
	json_t *t = json_object_get(j, tag);
	int rc;

	if (extra) {
		if (is_tag_key(extra, strlen(extra)))
			fail(c, "an object cannot hold both \"%s\" and \"%s\"", tag, extra);
		else if (strcmp(tag, "$ext") == 0)
			fail(c, "unexpected key \"%s\" in {\"$ext\": n, \"v\": ...}", extra);
		else
			fail(c, "unexpected key \"%s\" beside \"%s\" (a tagged value has one key)", extra, tag);
		return -1;
	}

	if (strcmp(tag, "$ext") == 0) {
		json_t *v = json_object_get(j, "v");
		json_int_t type;
		const char *s;
		size_t len;

		if (!json_is_integer(t) || json_integer_value(t) < -128 || json_integer_value(t) > 127) {
			fail(c, "\"$ext\" must be an integer from -128 to 127");
			return -1;
		}
		type = json_integer_value(t);
		if (!v) {
			fail(c, "{\"$ext\": %lld} needs its payload in \"v\"", (long long)type);
			return -1;
		}
		if (!json_is_string(v)) {
			fail(c, "\"v\" of {\"$ext\": %lld} must be a string", (long long)type);
			return -1;
		}
		s = json_string_value(v);
		len = json_string_length(v);
		if (type == -1) {
			msgpack_timestamp ts;
			if (!parse_rfc3339(s, len, &ts)) {
				fail(c, "\"v\" of {\"$ext\": -1} must be an RFC 3339 timestamp with years "
					"0000-9999, like \"2024-01-02T03:04:05.123456Z\"");
				return -1;
			}
			rc = msgpack_pack_timestamp(pk, &ts);
		} else if (type >= 2 && type <= 5) {
			if (len > UINT32_MAX) {
				fail(c, "ext payload longer than 4 GiB");
				return -1;
			}
			rc = msgpack_pack_ext(pk, len, (int8_t)type);
			if (rc == 0)
				rc = msgpack_pack_ext_body(pk, s, len);
		} else {
			unsigned char *bytes;
			size_t n;
			int d = jsonwire_base64_decode(&bytes, &n, s, len);
			if (d == -2)
				return nomem(c);
			if (d < 0) {
				fail(c, "\"v\" of {\"$ext\": %lld} must be base64", (long long)type);
				return -1;
			}
			if (n > UINT32_MAX) {
				free(bytes);
				fail(c, "ext payload longer than 4 GiB");
				return -1;
			}
			rc = msgpack_pack_ext(pk, n, (int8_t)type);
			if (rc == 0)
				rc = msgpack_pack_ext_body(pk, bytes, n);
			free(bytes);
		}
	} else if (strcmp(tag, "$bin") == 0) {
		unsigned char *bytes;
		size_t n;
		int d;

		if (!json_is_string(t)) {
			fail(c, "\"$bin\" must be a base64 string");
			return -1;
		}
		d = jsonwire_base64_decode(&bytes, &n, json_string_value(t), json_string_length(t));
		if (d == -2)
			return nomem(c);
		if (d < 0) {
			fail(c, "\"$bin\" is not valid base64");
			return -1;
		}
		if (n > UINT32_MAX) {
			free(bytes);
			fail(c, "bin longer than 4 GiB");
			return -1;
		}
		rc = msgpack_pack_bin(pk, n);
		if (rc == 0)
			rc = msgpack_pack_bin_body(pk, bytes, n);
		free(bytes);
	} else if (strcmp(tag, "$float") == 0) {
		const char *s = json_is_string(t) ? json_string_value(t) : "";
		double d;

		if (strcmp(s, "nan") == 0)
			d = NAN;
		else if (strcmp(s, "inf") == 0)
			d = INFINITY;
		else if (strcmp(s, "-inf") == 0)
			d = -INFINITY;
		else {
			fail(c, "\"$float\" must be \"nan\", \"inf\" or \"-inf\"");
			return -1;
		}
		rc = msgpack_pack_double(pk, d);
	} else { /* $uint */
		const char *s = json_is_string(t) ? json_string_value(t) : "";
		size_t len = json_is_string(t) ? json_string_length(t) : 0;
		uint64_t v = 0;
		size_t i;

		for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			unsigned dgt = (unsigned)(s[i] - '0');
			if (v > (UINT64_MAX - dgt) / 10)
				break;
			v = v * 10 + dgt;
		}
		if (len == 0 || i != len) {
			fail(c, "\"$uint\" must be a string of decimal digits from 0 to 18446744073709551615");
			return -1;
		}
		rc = msgpack_pack_uint64(pk, v);
	}
	return rc == 0 ? 0 : nomem(c);
}

static int pack_value(ctx *c, msgpack_packer *pk, const json_t *j)
{
	int rc = 0;

	switch (json_typeof(j)) {
	case JSON_NULL:
		rc = msgpack_pack_nil(pk);
		break;
	case JSON_TRUE:
		rc = msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		rc = msgpack_pack_false(pk);
		break;
	case JSON_INTEGER:
		rc = msgpack_pack_int64(pk, (int64_t)json_integer_value(j));
		break;
	case JSON_REAL:
		rc = msgpack_pack_double(pk, json_real_value(j));
		break;
	case JSON_STRING: {
		size_t len = json_string_length(j);
		if (len > UINT32_MAX) {
			fail(c, "string longer than 4 GiB");
			return -1;
		}
		rc = msgpack_pack_str(pk, len);
		if (rc == 0)
			rc = msgpack_pack_str_body(pk, json_string_value(j), len);
		break;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		if (n > UINT32_MAX) {
			fail(c, "array longer than 2^32-1 elements");
			return -1;
		}
		if (++c->depth > JSONWIRE_MAX_DEPTH) {
			fail(c, "nested deeper than %d", JSONWIRE_MAX_DEPTH);
			return -1;
		}
		if (msgpack_pack_array(pk, n) != 0)
			return nomem(c);
		for (size_t i = 0; i < n; i++) {
			size_t old = path_index(c, i);
			if (pack_value(c, pk, json_array_get(j, i)) < 0)
				return -1;
			path_pop(c, old);
		}
		c->depth--;
		break;
	}
	case JSON_OBJECT: {
		const char *key;
		size_t key_len, n = json_object_size(j);
		json_t *v;

		for (size_t i = 0; i < sizeof(tag_keys) / sizeof(tag_keys[0]); i++)
			if (json_object_get(j, tag_keys[i]))
				return pack_tagged(c, pk, j, tag_keys[i]);
		if (n > UINT32_MAX) {
			fail(c, "object with more than 2^32-1 keys");
			return -1;
		}
		if (++c->depth > JSONWIRE_MAX_DEPTH) {
			fail(c, "nested deeper than %d", JSONWIRE_MAX_DEPTH);
			return -1;
		}
		if (msgpack_pack_map(pk, n) != 0)
			return nomem(c);
		json_object_keylen_foreach((json_t *)j, key, key_len, v) {
			size_t old;
			if (msgpack_pack_str(pk, key_len) != 0 || msgpack_pack_str_body(pk, key, key_len) != 0)
				return nomem(c);
			old = path_key(c, key, key_len);
			if (pack_value(c, pk, v) < 0)
				return -1;
			path_pop(c, old);
		}
		c->depth--;
		break;
	}
	default:
		fail(c, "not a JSON value");
		return -1;
	}
	return rc == 0 ? 0 : nomem(c);
}

int jsonwire_to_msgpack(const json_t *j, ath_buf *out, char *errbuf, size_t errlen)
{
	ctx c;
	msgpack_packer pk;
	size_t start = out->size;

	ctx_init(&c, errbuf, errlen);
	if (!j) {
		fail(&c, "no value");
		return -1;
	}
	msgpack_packer_init(&pk, out, buf_write);
	if (pack_value(&c, &pk, j) < 0) {
		out->size = start;
		return -1;
	}
	return 0;
}

/* ---- msgpack -> JSON ---- */

typedef struct reader {
	const unsigned char *start, *p, *end;
} reader;

static bool need(ctx *c, reader *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		fail(c, "msgpack truncated at byte %zu (%zu more bytes expected)", (size_t)(r->p - r->start),
		     n - (size_t)(r->end - r->p));
		return false;
	}
	return true;
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads an n-byte big-endian length/count after the current position. */
static bool read_len(ctx *c, reader *r, int n, size_t *out)
{
	if (!need(c, r, (size_t)n))
		return false;
	*out = (size_t)be(r->p, n);
	r->p += n;
	return true;
}

static json_t *new_tagged(const char *tag, json_t *v)
{
	json_t *o = json_object();

	if (!o || !v || json_object_set_new_nocheck(o, tag, v) != 0) {
		json_decref(o);
		json_decref(v);
		return NULL;
	}
	return o;
}

static json_t *make_double(double d)
{
	if (isnan(d))
		return new_tagged("$float", json_string("nan"));
	if (isinf(d))
		return new_tagged("$float", json_string(d > 0 ? "inf" : "-inf"));
	return json_real(d);
}

static json_t *make_ext(ctx *c, int8_t type, const unsigned char *p, size_t len)
{
	json_t *o, *v;
	char *b64;

	if (type == -1) {
		msgpack_timestamp ts;
		char text[48];

		if (len == 4) {
			ts.tv_sec = (int64_t)be(p, 4);
			ts.tv_nsec = 0;
		} else if (len == 8) {
			uint64_t x = be(p, 8);
			ts.tv_nsec = (uint32_t)(x >> 34);
			ts.tv_sec = (int64_t)(x & 0x3ffffffffULL);
		} else if (len == 12) {
			ts.tv_nsec = (uint32_t)be(p, 4);
			ts.tv_sec = (int64_t)be(p + 4, 8);
		} else {
			fail(c, "timestamp (ext -1) payload of %zu bytes; msgpack has 4, 8 and 12", len);
			return NULL;
		}
		if (ts.tv_nsec >= 1000000000u) {
			fail(c, "timestamp (ext -1) with nanoseconds %" PRIu32 " >= 10^9", ts.tv_nsec);
			return NULL;
		}
		if (!format_rfc3339(text, sizeof(text), &ts)) {
			fail(c, "timestamp (ext -1) of %" PRId64 " s is outside RFC 3339's years 0000-9999",
			     ts.tv_sec);
			return NULL;
		}
		v = json_string(text);
	} else if (type >= 2 && type <= 5) {
		if (!utf8_valid(p, len)) {
			fail(c, "ext %d payload is not UTF-8 text", type);
			return NULL;
		}
		v = json_stringn_nocheck((const char *)p, len);
	} else {
		b64 = jsonwire_base64_encode(p, len);
		v = b64 ? json_string_nocheck(b64) : NULL;
		free(b64);
	}
	o = json_object();
	if (!o || !v || json_object_set_new_nocheck(o, "$ext", json_integer(type)) != 0 ||
	    json_object_set_new_nocheck(o, "v", v) != 0) {
		json_decref(o);
		json_decref(v);
		fail(c, "out of memory");
		return NULL;
	}
	return o;
}

static json_t *read_value(ctx *c, reader *r);

static json_t *read_array(ctx *c, reader *r, size_t n)
{
	json_t *a;

	if ((size_t)(r->end - r->p) < n) { /* each element takes at least one byte */
		fail(c, "array of %zu elements in %zu remaining bytes", n, (size_t)(r->end - r->p));
		return NULL;
	}
	if (++c->depth > JSONWIRE_MAX_DEPTH) {
		fail(c, "nested deeper than %d", JSONWIRE_MAX_DEPTH);
		return NULL;
	}
	a = json_array();
	if (!a) {
		fail(c, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t old = path_index(c, i);
		json_t *v = read_value(c, r);
		if (!v || json_array_append_new(a, v) != 0) {
			if (v)
				fail(c, "out of memory");
			json_decref(a);
			return NULL;
		}
		path_pop(c, old);
	}
	c->depth--;
	return a;
}

static const char *type_name(unsigned char b)
{
	if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
		return "an integer";
	if (b <= 0x8f || b == 0xde || b == 0xdf)
		return "a map";
	if (b <= 0x9f || b == 0xdc || b == 0xdd)
		return "an array";
	if (b == 0xc0)
		return "nil";
	if (b == 0xc2 || b == 0xc3)
		return "a bool";
	if (b >= 0xc4 && b <= 0xc6)
		return "bin";
	if (b == 0xca || b == 0xcb)
		return "a float";
	if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8))
		return "an ext value";
	return "an invalid byte";
}

/* A str header at r->p: sets *len and advances past it; false when not a str. */
static bool str_header(reader *r, size_t *len)
{
	unsigned char b = *r->p;
	int n;

	if (b >= 0xa0 && b <= 0xbf) {
		*len = b & 0x1f;
		r->p++;
		return true;
	}
	n = b == 0xd9 ? 1 : b == 0xda ? 2 : b == 0xdb ? 4 : 0;
	if (!n || (size_t)(r->end - r->p) < (size_t)n + 1)
		return false;
	*len = (size_t)be(r->p + 1, n);
	r->p += 1 + n;
	return true;
}

static json_t *read_map(ctx *c, reader *r, size_t n)
{
	json_t *o;

	if ((size_t)(r->end - r->p) / 2 < n) {
		fail(c, "map of %zu entries in %zu remaining bytes", n, (size_t)(r->end - r->p));
		return NULL;
	}
	if (++c->depth > JSONWIRE_MAX_DEPTH) {
		fail(c, "nested deeper than %d", JSONWIRE_MAX_DEPTH);
		return NULL;
	}
	o = json_object();
	if (!o) {
		fail(c, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *key;
		size_t klen, old;
		json_t *v;

		if (!need(c, r, 1))
			goto fail;
		if (!str_header(r, &klen)) {
			fail(c, "map key #%zu is %s; JSON object keys must be strings", i,
			     type_name(*r->p));
			goto fail;
		}
		if (!need(c, r, klen))
			goto fail;
		key = (const char *)r->p;
		r->p += klen;
		if (!utf8_valid((const unsigned char *)key, klen)) {
			fail(c, "map key #%zu is not valid UTF-8", i);
			goto fail;
		}
		old = path_key(c, key, klen);
		if (is_tag_key(key, klen)) {
			fail(c, "map key \"%.*s\" is reserved for tagged values in the JSON spelling", (int)klen,
			     key);
			goto fail;
		}
		if (json_object_getn(o, key, klen)) {
			fail(c, "duplicate map key");
			goto fail;
		}
		v = read_value(c, r);
		if (!v)
			goto fail;
		if (json_object_setn_new_nocheck(o, key, klen, v) != 0) {
			fail(c, "out of memory");
			goto fail;
		}
		path_pop(c, old);
	}
	c->depth--;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *read_value(ctx *c, reader *r)
{
	unsigned char b;
	size_t n;
	json_t *v;

	if (!need(c, r, 1))
		return NULL;
	b = *r->p++;
	if (b <= 0x7f)
		return json_integer(b);
	if (b >= 0xe0)
		return json_integer((int8_t)b);
	if (b <= 0x8f)
		return read_map(c, r, b & 0x0f);
	if (b <= 0x9f)
		return read_array(c, r, b & 0x0f);
	if (b <= 0xbf) {
		n = b & 0x1f;
		goto str;
	}
	switch (b) {
	case 0xc0:
		return json_null();
	case 0xc2:
		return json_false();
	case 0xc3:
		return json_true();
	case 0xc4:
	case 0xc5:
	case 0xc6: {
		char *b64;
		if (!read_len(c, r, b == 0xc4 ? 1 : b == 0xc5 ? 2 : 4, &n) || !need(c, r, n))
			return NULL;
		b64 = jsonwire_base64_encode(r->p, n);
		r->p += n;
		v = b64 ? new_tagged("$bin", json_string_nocheck(b64)) : NULL;
		free(b64);
		if (!v)
			fail(c, "out of memory");
		return v;
	}
	case 0xc7:
	case 0xc8:
	case 0xc9:
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8: {
		int8_t type;
		if (b >= 0xd4)
			n = (size_t)1 << (b - 0xd4);
		else if (!read_len(c, r, b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4, &n))
			return NULL;
		if (!need(c, r, 1 + n))
			return NULL;
		type = (int8_t)*r->p;
		r->p += 1 + n;
		return make_ext(c, type, r->p - n, n);
	}
	case 0xca: {
		uint32_t u;
		float f;
		if (!need(c, r, 4))
			return NULL;
		u = (uint32_t)be(r->p, 4);
		memcpy(&f, &u, 4);
		r->p += 4;
		v = make_double(f);
		break;
	}
	case 0xcb: {
		uint64_t u;
		double d;
		if (!need(c, r, 8))
			return NULL;
		u = be(r->p, 8);
		memcpy(&d, &u, 8);
		r->p += 8;
		v = make_double(d);
		break;
	}
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf: {
		int nb = 1 << (b - 0xcc);
		uint64_t u;
		if (!need(c, r, (size_t)nb))
			return NULL;
		u = be(r->p, nb);
		r->p += nb;
		if (u <= INT64_MAX) {
			v = json_integer((json_int_t)u);
		} else {
			char digits_buf[24];
			snprintf(digits_buf, sizeof(digits_buf), "%" PRIu64, u);
			v = new_tagged("$uint", json_string_nocheck(digits_buf));
		}
		break;
	}
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: {
		int nb = 1 << (b - 0xd0);
		uint64_t u;
		int64_t s;
		if (!need(c, r, (size_t)nb))
			return NULL;
		u = be(r->p, nb);
		r->p += nb;
		if (nb < 8 && (u >> (nb * 8 - 1)))
			u |= ~(uint64_t)0 << (nb * 8); /* sign-extend */
		memcpy(&s, &u, 8);
		v = json_integer(s);
		break;
	}
	case 0xd9:
	case 0xda:
	case 0xdb:
		if (!read_len(c, r, b == 0xd9 ? 1 : b == 0xda ? 2 : 4, &n))
			return NULL;
		goto str;
	case 0xdc:
	case 0xdd:
		if (!read_len(c, r, b == 0xdc ? 2 : 4, &n))
			return NULL;
		return read_array(c, r, n);
	case 0xde:
	case 0xdf:
		if (!read_len(c, r, b == 0xde ? 2 : 4, &n))
			return NULL;
		return read_map(c, r, n);
	default: /* 0xc1 */
		fail(c, "invalid msgpack byte 0x%02x at byte %zu", b, (size_t)(r->p - 1 - r->start));
		return NULL;
	}
	if (!v)
		fail(c, "out of memory");
	return v;
str:
	if (!need(c, r, n))
		return NULL;
	if (!utf8_valid(r->p, n)) {
		fail(c, "string is not valid UTF-8 (bytes travel as bin)");
		return NULL;
	}
	v = json_stringn_nocheck((const char *)r->p, n);
	r->p += n;
	if (!v)
		fail(c, "out of memory");
	return v;
}

json_t *jsonwire_from_msgpack(const void *data, size_t len, char *errbuf, size_t errlen)
{
	ctx c;
	reader r;
	json_t *v;

	ctx_init(&c, errbuf, errlen);
	if (!data || len == 0) {
		fail(&c, "empty msgpack input");
		return NULL;
	}
	r.start = r.p = data;
	r.end = r.start + len;
	v = read_value(&c, &r);
	if (v && r.p != r.end) {
		path_pop(&c, 1);
		fail(&c, "%zu trailing bytes after the msgpack value", (size_t)(r.end - r.p));
		json_decref(v);
		return NULL;
	}
	return v;
}

/* ---- JSON text ---- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
} sbuf;

static void sb_add(sbuf *s, const char *text, size_t n)
{
	if (s->oom)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 128;
		char *p;
		while (cap < s->len + n + 1)
			cap *= 2;
		p = realloc(s->p, cap);
		if (!p) {
			s->oom = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, text, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_str(sbuf *s, const char *text)
{
	sb_add(s, text, strlen(text));
}

static void sb_quoted(sbuf *s, const char *text, size_t n)
{
	size_t i, run = 0;

	sb_add(s, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];
		char esc[8];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		sb_add(s, text + run, i - run);
		run = i + 1;
		switch (ch) {
		case '"': sb_add(s, "\\\"", 2); break;
		case '\\': sb_add(s, "\\\\", 2); break;
		case '\b': sb_add(s, "\\b", 2); break;
		case '\f': sb_add(s, "\\f", 2); break;
		case '\n': sb_add(s, "\\n", 2); break;
		case '\r': sb_add(s, "\\r", 2); break;
		case '\t': sb_add(s, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			sb_add(s, esc, 6);
		}
	}
	sb_add(s, text + run, n - run);
	sb_add(s, "\"", 1);
}

/*
 * The fewest significant digits that read back to `d`, laid out as Python's repr() does:
 * positional for decimal exponents -4..15, else exponent form ("1e+16", "5e-324").
 */
void jsonwire_format_double(char *buf, size_t len, double d)
{
	char tmp[40];
	const char *e;
	int prec, exp10;

	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
	e = strchr(tmp, 'e');
	exp10 = e ? atoi(e + 1) : 0;
	if (exp10 >= -4 && exp10 < 16)
		snprintf(buf, len, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, d);
	else
		snprintf(buf, len, "%s", tmp);
}

static bool dump(sbuf *s, const json_t *j)
{
	char num[40];

	switch (json_typeof(j)) {
	case JSON_NULL:
		sb_str(s, "null");
		break;
	case JSON_TRUE:
		sb_str(s, "true");
		break;
	case JSON_FALSE:
		sb_str(s, "false");
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		sb_str(s, num);
		break;
	case JSON_REAL:
		if (!isfinite(json_real_value(j)))
			return false;
		jsonwire_format_double(num, sizeof(num), json_real_value(j));
		if (!strpbrk(num, ".eE"))
			strcat(num, ".0"); /* keep it a real when read back */
		sb_str(s, num);
		break;
	case JSON_STRING:
		sb_quoted(s, json_string_value(j), json_string_length(j));
		break;
	case JSON_ARRAY:
		sb_add(s, "[", 1);
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i)
				sb_add(s, ", ", 2);
			if (!dump(s, json_array_get(j, i)))
				return false;
		}
		sb_add(s, "]", 1);
		break;
	case JSON_OBJECT: {
		const char *key;
		size_t key_len;
		json_t *v;
		bool first = true;

		sb_add(s, "{", 1);
		json_object_keylen_foreach((json_t *)j, key, key_len, v) {
			if (!first)
				sb_add(s, ", ", 2);
			first = false;
			sb_quoted(s, key, key_len);
			sb_add(s, ": ", 2);
			if (!dump(s, v))
				return false;
		}
		sb_add(s, "}", 1);
		break;
	}
	}
	return true;
}

char *jsonwire_dumps(const json_t *j)
{
	sbuf s = { NULL, 0, 0, false };

	if (!j || !dump(&s, j) || s.oom) {
		free(s.p);
		return NULL;
	}
	return s.p;
}

int jsonwire_dumpf(const json_t *j, FILE *f)
{
	char *text = jsonwire_dumps(j);
	int rc = 0;

	if (!text)
		return -1;
	if (fputs(text, f) == EOF)
		rc = -1;
	free(text);
	return rc;
}
