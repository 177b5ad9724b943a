/* url.c — database URLs: parses SQLAlchemy's URL grammar into an ath_url, renders it back with
 * the password hidden, and packs it for ath_url_parse(). Mirrors sqlalchemy/engine/url.py of
 * SQLAlchemy 1.4 (_parse_url, URL.render_as_string, URL.get_backend_name/get_driver_name). It
 * does not pick a dialect, interpret any query option or connect: dialects and engine.c do.
 *
 * _parse_url is one regular expression:
 *     (?P<name>[\w\+]+)://
 *     (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
 *     (?:(?:\[(?P<ipv6host>[^/\?]+)\]|(?P<ipv4host>[^/:\?]+))?(?::(?P<port>[^/\?]*))?)?
 *     (?:/(?P<database>[^\?]*))?
 *     (?:\?(?P<query>.*))?
 * split() below is that expression unrolled, including where its backtracking lands (a
 * password runs to the first '@' after the first ':'; without one, the user name ends at the
 * last '@' before the first ':' or '/'). Only the user name, the password and the query are
 * percent-decoded, as SQLAlchemy does; host and database are taken as written.
 *
 * On purpose, unlike SQLAlchemy: the port must be 0..65535 in ASCII digits (Python's int()
 * also takes " 5", "-1", "5_0"), an empty port ("host:/db") is an ArgumentError rather than a
 * ValueError, text the expression would silently ignore (after "[ipv6]" or a newline in the
 * query) is rejected, "%00" is rejected (C strings), \w is ASCII only, and the driver is all
 * after the first '+' ("a+b+c" gives "b+c", where get_driver_name() says "b"). */
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strbuf.h"
#include "wire/mpbuf.h"

#define URL_SHOWN_MAX 400 /* bytes of a URL quoted in a message */

static const ath_url url_empty = { NULL, NULL, NULL, NULL, NULL, NULL, -1, NULL, NULL, 0 };

static int is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ------------------------------------------------------------------------- messages */

/* `text` quoted for a message with the password (`pw_len` bytes at `pw`, a pointer into text;
 * NULL when there is none) shown as "***" even when empty, as render_as_string does; cut with
 * "..." to fit. */
static void shown(char *buf, size_t size, const char *text, const char *pw, size_t pw_len)
{
	size_t n = 0, i = 0, len = strlen(text);
	size_t hide = pw ? (size_t)(pw - text) : (size_t)-1;
	while (i < len && n + 4 < size) {
		if (i == hide) {
			memcpy(buf + n, "***", 3);
			n += 3;
			i += pw_len;
			hide = (size_t)-1;
			continue;
		}
		buf[n++] = text[i++];
	}
	if (i < len) {
		n = n + 4 <= size ? n : size - 4;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

/* For text that did not parse, where the password is cannot be known: hide from the first ':'
 * after "://" (or the start) to the last '@' after it. Hides too much rather than too little. */
static const char *guess_password(const char *text, size_t *len)
{
	const char *s = strstr(text, "://");
	const char *colon = strchr(s ? s + 3 : text, ':');
	const char *at = colon ? strrchr(colon, '@') : NULL;
	if (!at)
		return NULL;
	*len = (size_t)(at - colon - 1);
	return colon + 1;
}

static int cannot_parse(ath_err *err, const char *text, const char *why)
{
	char buf[URL_SHOWN_MAX];
	size_t pw_len = 0;
	const char *pw = guess_password(text, &pw_len);
	shown(buf, sizeof buf, text, pw, pw_len);
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
			    "Could not parse SQLAlchemy URL from string '%s'%s%s", buf, why ? ": " : "",
			    why ? why : "");
}

/* ------------------------------------------------------------------------- percent-decoding */

/* The byte at s[*i] of an ASCII run, with a %XX escape decoded; advances *i. Malformed escapes
 * stay as written, as in urllib.parse.unquote. */
static unsigned char next_byte(const char *s, size_t n, size_t *i, int plus)
{
	unsigned char c = (unsigned char)s[*i];
	if (c == '%' && *i + 2 < n) {
		int hi = hex_value((unsigned char)s[*i + 1]), lo = hex_value((unsigned char)s[*i + 2]);
		if (hi >= 0 && lo >= 0) {
			*i += 3;
			return (unsigned char)(hi << 4 | lo);
		}
	}
	(*i)++;
	return plus && c == '+' ? ' ' : c;
}

/* Percent-decode s[0..n) into a new string as Python's urllib.parse.unquote does (with `plus`,
 * '+' is first a space, as parse_qsl does for query keys and values). Decoding happens per run
 * of ASCII characters and the bytes are read as UTF-8 with errors="replace": each maximal
 * invalid subsequence becomes one U+FFFD, exactly as CPython's decoder does. Every U+FFFD
 * stands for at least one three-character escape, so the result is never longer than `s`.
 * Returns 0, -1 on out-of-memory, or -2 when an escape decodes to a NUL byte. */
static int decode(char **out, const char *s, size_t n, int plus)
{
	char *d = ath__malloc(n + 1);
	size_t i = 0, o = 0;
	if (!d)
		return -1;
	while (i < n) {
		unsigned char seq[4], lo = 0x80, hi = 0xbf;
		size_t need, got;
		if ((unsigned char)s[i] >= 0x80) { /* not ASCII: kept as is */
			d[o++] = s[i++];
			continue;
		}
		seq[0] = next_byte(s, n, &i, plus);
		if (seq[0] == 0) {
			ath__free(d);
			return -2;
		}
		if (seq[0] < 0x80) {
			d[o++] = (char)seq[0];
			continue;
		}
		if (seq[0] >= 0xc2 && seq[0] <= 0xdf) {
			need = 1;
		} else if (seq[0] >= 0xe0 && seq[0] <= 0xef) {
			need = 2;
			if (seq[0] == 0xe0)
				lo = 0xa0;
			else if (seq[0] == 0xed)
				hi = 0x9f;
		} else if (seq[0] >= 0xf0 && seq[0] <= 0xf4) {
			need = 3;
			if (seq[0] == 0xf0)
				lo = 0x90;
			else if (seq[0] == 0xf4)
				hi = 0x8f;
		} else {
			need = 0; /* 0x80..0xc1, 0xf5..0xff never start a character */
		}
		for (got = 0; got < need && i < n && (unsigned char)s[i] < 0x80; got++) {
			size_t j = i;
			unsigned char c = next_byte(s, n, &j, plus);
			if (c < lo || c > hi)
				break;
			seq[1 + got] = c;
			i = j;
			lo = 0x80;
			hi = 0xbf;
		}
		if (need && got == need) {
			memcpy(d + o, seq, need + 1);
			o += need + 1;
		} else {
			memcpy(d + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	d[o] = '\0';
	*out = d;
	return 0;
}

/* ------------------------------------------------------------------------- parsing */

/* Where the parts of a URL lie in its text; a NULL start means absent. */
struct span {
	const char *p;
	size_t n;
};

struct parts {
	struct span name, user, password, host, port, database, query;
};

/* Returns 0, or fills `why` (for the "Could not parse" message) and returns -1. */
static int split(struct parts *pt, const char *text, const char **why)
{
	const char *r, *t, *at = NULL;
	size_t k;

	memset(pt, 0, sizeof *pt);
	*why = NULL;
	k = 0;
	while (is_word((unsigned char)text[k]) || text[k] == '+')
		k++;
	if (k == 0 || strncmp(text + k, "://", 3) != 0)
		return -1;
	pt->name = (struct span){ text, k };
	r = text + k + 3;

	/* user[:password]@ */
	k = strcspn(r, ":/");
	if (r[k] == ':' && (at = strchr(r + k + 1, '@')) != NULL) {
		pt->user = (struct span){ r, k };
		pt->password = (struct span){ r + k + 1, (size_t)(at - (r + k + 1)) };
		t = at + 1;
	} else {
		at = NULL;
		for (size_t i = k; i > 0; i--) {
			if (r[i - 1] == '@') {
				at = r + i - 1;
				break;
			}
		}
		if (at) {
			pt->user = (struct span){ r, (size_t)(at - r) };
			t = at + 1;
		} else {
			t = r;
		}
	}

	/* [ipv6] or host; the bracketed form wins when it matches: content up to the last ']'
	 * before any '/' or '?' */
	if (t[0] == '[') {
		size_t e = 1 + strcspn(t + 1, "/?"), close = 0;
		for (size_t i = e; i > 2; i--) {
			if (t[i - 1] == ']') {
				close = i - 1;
				break;
			}
		}
		if (close) {
			pt->host = (struct span){ t + 1, close - 1 };
			t += close + 1;
			if (*t && *t != ':' && *t != '/' && *t != '?') {
				*why = "unexpected text after the ']' that closes an IPv6 host";
				return -1;
			}
		}
	}
	if (!pt->host.p) {
		k = strcspn(t, "/:?");
		if (k)
			pt->host = (struct span){ t, k };
		t += k;
	}
	if (*t == ':') {
		k = strcspn(t + 1, "/?");
		pt->port = (struct span){ t + 1, k };
		t += 1 + k;
	}
	if (*t == '/') {
		k = strcspn(t + 1, "?");
		pt->database = (struct span){ t + 1, k };
		t += 1 + k;
	}
	if (*t == '?') {
		pt->query = (struct span){ t + 1, strlen(t + 1) };
		if (memchr(t + 1, '\n', pt->query.n)) {
			/* Python's '.' stops at a newline and the rest would be dropped unseen */
			*why = "newline in the query string";
			return -1;
		}
	}
	return 0;
}

static int parse_port(struct span s)
{
	long v = 0;
	if (s.n == 0)
		return -1;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (s.p[i] - '0');
		if (v > 65535)
			return -1;
	}
	return (int)v;
}

/* Query fields as parse_qsl(keep_blank_values=False) keeps them: split at '&', skip fields
 * without '=' or with an empty value. Returns how many are kept; stores their keys and values
 * when `keys` and `values` are not NULL. */
static size_t query_fields(struct span q, struct span *keys, struct span *values)
{
	size_t count = 0;
	const char *p = q.p, *end = q.p + q.n;
	while (p && p <= end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *fe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(fe - p));
		if (eq && eq + 1 < fe) {
			if (keys) {
				keys[count] = (struct span){ p, (size_t)(eq - p) };
				values[count] = (struct span){ eq + 1, (size_t)(fe - eq - 1) };
			}
			count++;
		}
		p = amp ? amp + 1 : NULL;
	}
	return count;
}

/* Decode one part into *dst; on failure sets err. */
static int decode_part(char **dst, struct span s, int plus, const char *part, const char *text,
		       const struct parts *pt, ath_err *err)
{
	char buf[URL_SHOWN_MAX];
	int rc = decode(dst, s.p, s.n, plus);
	if (rc == -1)
		return ath_err__oom(err);
	if (rc == -2) {
		shown(buf, sizeof buf, text, pt->password.p, pt->password.n);
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "invalid percent-escape in URL '%s': %%00 in the %s would be a "
				    "NUL character", buf, part);
	}
	return 0;
}

static int copy_part(char **dst, struct span s, ath_err *err)
{
	if (!s.p)
		return 0;
	*dst = ath__strndup(s.p, s.n);
	return *dst ? 0 : ath_err__oom(err);
}

static int fill(ath_url *u, const char *text, const struct parts *pt, ath_err *err)
{
	const char *plus;
	int rc;

	if (pt->port.p) {
		u->port = parse_port(pt->port);
		if (u->port < 0) {
			char buf[URL_SHOWN_MAX];
			shown(buf, sizeof buf, text, pt->password.p, pt->password.n);
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "invalid port '%.*s' in URL '%s': expected a number from 0 "
					    "to 65535", (int)(pt->port.n > 40 ? 40 : pt->port.n),
					    pt->port.p, buf);
		}
	}
	if ((rc = copy_part(&u->drivername, pt->name, err)) < 0)
		return rc;
	/* get_backend_name() is the part before the first '+'; the driver is all after it, so
	 * "a+b+c" names a driver "b+c" that no dialect has (SQLAlchemy fails to load "a.b.c") */
	plus = memchr(pt->name.p, '+', pt->name.n);
	if (plus) {
		struct span d = { pt->name.p, (size_t)(plus - pt->name.p) };
		struct span v = { plus + 1, pt->name.n - d.n - 1 };
		if ((rc = copy_part(&u->dialect, d, err)) < 0 ||
		    (rc = copy_part(&u->driver, v, err)) < 0)
			return rc;
	} else if ((rc = copy_part(&u->dialect, pt->name, err)) < 0) {
		return rc;
	}
	if (pt->user.p && (rc = decode_part(&u->username, pt->user, 0, "username", text, pt, err)) < 0)
		return rc;
	if (pt->password.p &&
	    (rc = decode_part(&u->password, pt->password, 0, "password", text, pt, err)) < 0)
		return rc;
	if ((rc = copy_part(&u->host, pt->host, err)) < 0 ||
	    (rc = copy_part(&u->database, pt->database, err)) < 0)
		return rc;

	if (pt->query.p) {
		size_t n = query_fields(pt->query, NULL, NULL);
		struct span *spans;
		if (n == 0)
			return 0;
		spans = ath__malloc(2 * n * sizeof *spans);
		u->query = ath__calloc(n, sizeof *u->query);
		if (!spans || !u->query) {
			ath__free(spans);
			return ath_err__oom(err);
		}
		query_fields(pt->query, spans, spans + n);
		for (size_t i = 0; i < n; i++) {
			ath_url_param *q = &u->query[i];
			u->nquery = i + 1; /* so ath_url__free() frees what this pass made */
			if ((rc = decode_part(&q->key, spans[i], 1, "query string", text, pt, err)) < 0 ||
			    (rc = decode_part(&q->value, spans[n + i], 1, "query string", text, pt,
					      err)) < 0)
				break;
		}
		ath__free(spans);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ath_url__parse(ath_url *out, const char *text, ath_err *err)
{
	struct parts pt;
	const char *why;
	ath_url u = url_empty;
	int rc;

	*out = url_empty;
	if (!text)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "Could not parse SQLAlchemy URL from NULL");
	if (split(&pt, text, &why) < 0)
		return cannot_parse(err, text, why);
	rc = fill(&u, text, &pt, err);
	if (rc < 0) {
		ath_url__free(&u);
		return rc;
	}
	*out = u;
	return 0;
}

void ath_url__free(ath_url *u)
{
	if (!u)
		return;
	ath__free(u->drivername);
	ath__free(u->dialect);
	ath__free(u->driver);
	ath__free(u->username);
	ath__free(u->password);
	ath__free(u->host);
	ath__free(u->database);
	for (size_t i = 0; i < u->nquery; i++) {
		ath__free(u->query[i].key);
		ath__free(u->query[i].value);
	}
	ath__free(u->query);
	*u = url_empty;
}

const char *ath_url__query_get(const ath_url *u, const char *key)
{
	for (size_t i = u->nquery; i > 0; i--)
		if (strcmp(u->query[i - 1].key, key) == 0)
			return u->query[i - 1].value;
	return NULL;
}

/* ------------------------------------------------------------------------- rendering, packing */

struct keyed {
	const char *key;
	size_t index;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The query parameters sorted by key, each key's values in their order (so a key's values are
 * adjacent). NULL on out-of-memory; `extra` bytes more are allocated after the array. */
static struct keyed *sorted_query(const ath_url *u, size_t extra)
{
	struct keyed *k = ath__malloc(u->nquery * sizeof *k + extra);
	if (!k)
		return NULL;
	for (size_t i = 0; i < u->nquery; i++)
		k[i] = (struct keyed){ u->query[i].key, i };
	qsort(k, u->nquery, sizeof *k, keyed_cmp);
	return k;
}

/* SQLAlchemy's _sqla_url_quote: only ':', '@' and '/' are escaped in the user name. */
static void put_user(ath_strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ':' || *s == '@' || *s == '/')
			ath_strbuf__printf(b, "%%%X", (unsigned)(unsigned char)*s);
		else
			ath_strbuf__putc(b, *s);
	}
}

/* urllib.parse.quote_plus */
static void put_quote_plus(ath_strbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (is_word(c) || c == '.' || c == '-' || c == '~')
			ath_strbuf__putc(b, (char)c);
		else if (c == ' ')
			ath_strbuf__putc(b, '+');
		else
			ath_strbuf__printf(b, "%%%02X", c);
	}
}

char *ath_url__render_safe(const ath_url *u)
{
	ath_strbuf b = ATH_STRBUF_INIT;
	struct keyed *k = NULL;

	ath_strbuf__puts(&b, u->drivername ? u->drivername : "");
	ath_strbuf__puts(&b, "://");
	if (u->username) {
		put_user(&b, u->username);
		if (u->password)
			ath_strbuf__puts(&b, ":***");
		ath_strbuf__putc(&b, '@');
	}
	if (u->host)
		ath_strbuf__printf(&b, strchr(u->host, ':') ? "[%s]" : "%s", u->host);
	if (u->port >= 0)
		ath_strbuf__printf(&b, ":%d", u->port);
	if (u->database) {
		ath_strbuf__putc(&b, '/');
		ath_strbuf__puts(&b, u->database);
	}
	if (u->nquery) {
		/* render_as_string sorts the keys */
		k = sorted_query(u, 0);
		if (!k) {
			ath_strbuf__free(&b);
			return NULL;
		}
		for (size_t i = 0; i < u->nquery; i++) {
			ath_strbuf__putc(&b, i ? '&' : '?');
			put_quote_plus(&b, k[i].key);
			ath_strbuf__putc(&b, '=');
			put_quote_plus(&b, u->query[k[i].index].value);
		}
		ath__free(k);
	}
	if (b.oom || !ath_strbuf__cstr(&b)) {
		ath_strbuf__free(&b);
		return NULL;
	}
	return ath_strbuf__detach(&b, NULL);
}

static int pack_key(msgpack_packer *pk, const char *key, const char *value)
{
	if (ath_wire__pack_cstr(pk, key) < 0)
		return -1;
	return ath_wire__pack_cstr(pk, value);
}

/* "query": {key: value, or [values...] for a repeated key}, keys in order of first appearance
 * (the dict make_url builds). */
static int pack_query(msgpack_packer *pk, const ath_url *u)
{
	struct keyed *k;
	size_t *run_start, *run_len, nkeys = 0;
	int rc = -1;

	if (ath_wire__pack_cstr(pk, "query") < 0)
		return -1;
	if (u->nquery == 0)
		return msgpack_pack_map(pk, 0);
	k = sorted_query(u, 2 * u->nquery * sizeof(size_t));
	if (!k)
		return -1;
	/* run_start/run_len by original index, set at each key's first occurrence */
	run_start = (size_t *)(k + u->nquery);
	run_len = run_start + u->nquery;
	memset(run_len, 0, u->nquery * sizeof *run_len);
	for (size_t i = 0, j; i < u->nquery; i = j) {
		for (j = i + 1; j < u->nquery && strcmp(k[j].key, k[i].key) == 0; j++)
			;
		run_start[k[i].index] = i;
		run_len[k[i].index] = j - i;
		nkeys++;
	}
	if (msgpack_pack_map(pk, nkeys) < 0)
		goto done;
	for (size_t i = 0; i < u->nquery; i++) {
		size_t n = run_len[i], s = run_start[i];
		if (n == 0)
			continue;
		if (ath_wire__pack_cstr(pk, u->query[i].key) < 0)
			goto done;
		if (n == 1) {
			if (ath_wire__pack_cstr(pk, u->query[i].value) < 0)
				goto done;
			continue;
		}
		if (msgpack_pack_array(pk, n) < 0)
			goto done;
		for (size_t v = s; v < s + n; v++)
			if (ath_wire__pack_cstr(pk, u->query[k[v].index].value) < 0)
				goto done;
	}
	rc = 0;
done:
	ath__free(k);
	return rc;
}

int ath_url__pack(const ath_url *u, msgpack_packer *pk)
{
	if (msgpack_pack_map(pk, 9) < 0 || pack_key(pk, "drivername", u->drivername) < 0 ||
	    pack_key(pk, "dialect", u->dialect) < 0 || pack_key(pk, "driver", u->driver) < 0 ||
	    pack_key(pk, "username", u->username) < 0 || pack_key(pk, "password", u->password) < 0 ||
	    pack_key(pk, "host", u->host) < 0 || ath_wire__pack_cstr(pk, "port") < 0)
		return -1;
	if ((u->port < 0 ? msgpack_pack_nil(pk) : msgpack_pack_int(pk, u->port)) < 0)
		return -1;
	if (pack_key(pk, "database", u->database) < 0)
		return -1;
	return pack_query(pk, u);
}
