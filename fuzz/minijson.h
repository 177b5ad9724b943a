/* minijson.h — the fuzz harnesses write their fixed statement shapes as JSON text and get msgpack
 * bytes from mj_encode(): objects, arrays, strings without escapes, integers, null, true and
 * false; enough for shapes, with no dependency the fuzz build lacks (jansson). Aborts on input it
 * cannot encode: the shapes are the harness's own constants. */
#ifndef ATH_FUZZ_MINIJSON_H
#define ATH_FUZZ_MINIJSON_H

#include <stdlib.h>
#include <string.h>

#define MJ_MAX 4096

static inline const char *mj_value(const char *s, unsigned char *out, size_t *n);

static inline const char *mj_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == ',' || *s == ':')
		s++;
	return s;
}

static inline void mj_put(unsigned char *out, size_t *n, const void *p, size_t len)
{
	if (*n + len > MJ_MAX)
		abort();
	memcpy(out + *n, p, len);
	*n += len;
}

static inline void mj_header(unsigned char *out, size_t *n, unsigned fix, unsigned char wide, size_t count)
{
	unsigned char h[3] = { (unsigned char)(fix | count), wide, 0 };
	if (count < 16) {
		mj_put(out, n, h, 1);
	} else {
		h[0] = wide, h[1] = (unsigned char)(count >> 8), h[2] = (unsigned char)count;
		mj_put(out, n, h, 3);
	}
}

static inline const char *mj_container(const char *s, unsigned char *out, size_t *n, char close, int map)
{
	unsigned char *tmp = malloc(MJ_MAX);
	size_t tn = 0, count = 0;
	if (!tmp)
		abort();
	s = mj_ws(s + 1);
	while (*s != close) {
		s = mj_ws(mj_value(s, tmp, &tn));
		count++;
	}
	if (map)
		mj_header(out, n, 0x80, 0xde, count / 2);
	else
		mj_header(out, n, 0x90, 0xdc, count);
	mj_put(out, n, tmp, tn);
	free(tmp);
	return s + 1;
}

static inline const char *mj_value(const char *s, unsigned char *out, size_t *n)
{
	s = mj_ws(s);
	if (*s == '{')
		return mj_container(s, out, n, '}', 1);
	if (*s == '[')
		return mj_container(s, out, n, ']', 0);
	if (*s == '"') {
		const char *e = strchr(s + 1, '"');
		size_t len = (size_t)(e - s - 1);
		unsigned char h[2] = { (unsigned char)(0xa0 | len), 0 };
		if (len < 32) {
			mj_put(out, n, h, 1);
		} else {
			h[0] = 0xd9, h[1] = (unsigned char)len;
			mj_put(out, n, h, 2);
		}
		mj_put(out, n, s + 1, len);
		return e + 1;
	}
	if (!strncmp(s, "null", 4) || !strncmp(s, "true", 4) || !strncmp(s, "false", 5)) {
		unsigned char c = *s == 'n' ? 0xc0 : *s == 't' ? 0xc3 : 0xc2;
		mj_put(out, n, &c, 1);
		return s + (*s == 'f' ? 5 : 4);
	}
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end == s)
		abort();
	if (v >= 0 && v < 128) {
		unsigned char c = (unsigned char)v;
		mj_put(out, n, &c, 1);
	} else {
		unsigned char b[9] = { 0xd3 };
		for (int i = 0; i < 8; i++)
			b[1 + i] = (unsigned char)((unsigned long long)v >> (56 - 8 * i));
		mj_put(out, n, b, 9);
	}
	return end;
}

/* msgpack of `json` into out (MJ_MAX bytes); returns the length. */
static inline size_t mj_encode(unsigned char *out, const char *json)
{
	size_t n = 0;
	mj_value(json, out, &n);
	return n;
}

#endif
