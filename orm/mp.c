/* mp.c — the ORM's msgpack helpers: slicing packed values without unpacking them (an object's
 * attribute values are kept as their packed bytes), and packing the pieces of the Core shapes
 * the ORM emits (columns, tables, primary-key criteria). */
#include "orm/orm.h"

#include <string.h>

#include "wire/mpbuf.h"

static uint32_t be(const unsigned char *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Length of the header at p, the payload bytes after it and the number of child values. */
static int head(const unsigned char *p, const unsigned char *end, size_t *hlen, size_t *payload, uint64_t *kids)
{
	unsigned b = *p;
	*payload = 0;
	*kids = 0;
	*hlen = 1;
#define NEED(n)                                                                                    \
	do {                                                                                       \
		if ((size_t)(end - p) < (size_t)(n))                                               \
			return -1;                                                                 \
	} while (0)
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0;
	if ((b & 0xf0) == 0x80)
		return *kids = 2u * (b & 0x0f), 0;
	if ((b & 0xf0) == 0x90)
		return *kids = b & 0x0f, 0;
	if ((b & 0xe0) == 0xa0)
		return *payload = b & 0x1f, 0;
	switch (b) {
	case 0xc4: case 0xd9: NEED(2); *hlen = 2; *payload = p[1]; return 0;
	case 0xc5: case 0xda: NEED(3); *hlen = 3; *payload = be(p + 1, 2); return 0;
	case 0xc6: case 0xdb: NEED(5); *hlen = 5; *payload = be(p + 1, 4); return 0;
	case 0xc7: NEED(3); *hlen = 3; *payload = p[1]; return 0;
	case 0xc8: NEED(4); *hlen = 4; *payload = be(p + 1, 2); return 0;
	case 0xc9: NEED(6); *hlen = 6; *payload = be(p + 1, 4); return 0;
	case 0xca: case 0xce: case 0xd2: *payload = 4; return 0;
	case 0xcb: case 0xcf: case 0xd3: *payload = 8; return 0;
	case 0xcc: case 0xd0: *payload = 1; return 0;
	case 0xcd: case 0xd1: *payload = 2; return 0;
	case 0xd4: *payload = 2; return 0;
	case 0xd5: *payload = 3; return 0;
	case 0xd6: *payload = 5; return 0;
	case 0xd7: *payload = 9; return 0;
	case 0xd8: *payload = 17; return 0;
	case 0xdc: NEED(3); *hlen = 3; *kids = be(p + 1, 2); return 0;
	case 0xdd: NEED(5); *hlen = 5; *kids = be(p + 1, 4); return 0;
	case 0xde: NEED(3); *hlen = 3; *kids = 2ull * be(p + 1, 2); return 0;
	case 0xdf: NEED(5); *hlen = 5; *kids = 2ull * be(p + 1, 4); return 0;
	default: return -1;
	}
#undef NEED
}

const unsigned char *ath_mp__skip(const unsigned char *p, const unsigned char *end)
{
	uint64_t pending = 1;
	while (pending) {
		if (p >= end)
			return NULL;
		size_t hlen, payload;
		uint64_t kids;
		if (head(p, end, &hlen, &payload, &kids) < 0 || (size_t)(end - p) < hlen + payload)
			return NULL;
		p += hlen + payload;
		pending += kids - 1;
	}
	return p;
}

bool ath_mp__canonical_scalar(const unsigned char *p, size_t len)
{
	if (!len)
		return false;
	unsigned b = p[0];
	if ((b & 0xe0) == 0xa0) /* fixstr, the most common value set from a host: measured from its header */
		return len == 1u + (b & 0x1f);
	if (ath_mp__skip(p, p + len) != p + len)
		return false;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3 || (b & 0xe0) == 0xa0 || b == 0xca || b == 0xcb ||
	    (b >= 0xd4 && b <= 0xd8) || b == 0xc4)
		return true; /* one-byte forms, fixstr, floats, fixext, bin8 */
	uint64_t u = 0;
	for (size_t i = 1; i < len && i <= 8; i++)
		u = u << 8 | p[i];
	switch (b) {
	case 0xcc: return u >= 0x80;
	case 0xcd: return u >= 0x100;
	case 0xce: return u >= 0x10000;
	case 0xcf: return u >= 0x100000000ull;
	case 0xd0: return (int8_t)p[1] < -32;
	case 0xd1: return (int16_t)(p[1] << 8 | p[2]) < -128;
	case 0xd2: return (int32_t)(p[1] << 24 | p[2] << 16 | p[3] << 8 | p[4]) < -32768;
	case 0xd3: return (int64_t)u < -2147483648ll;
	case 0xd9: return p[1] >= 32;
	case 0xda: return be(p + 1, 2) >= 0x100;
	case 0xdb: return be(p + 1, 4) >= 0x10000;
	case 0xc5: return be(p + 1, 2) >= 0x100;
	case 0xc6: return be(p + 1, 4) >= 0x10000;
	default: return false; /* ext8/16/32, containers: the general path */
	}
}

size_t ath_mp__canonical_int(const unsigned char *p, size_t len, unsigned char out[9])
{
	static const unsigned char size[] = { 1, 2, 4, 8 }; /* 0xcc..0xcf, 0xd0..0xd3 */
	if (!len || !((p[0] >= 0xcc && p[0] <= 0xcf) || (p[0] >= 0xd0 && p[0] <= 0xd3)))
		return 0;
	size_t n = size[p[0] & 3];
	if (len != 1 + n)
		return 0;
	uint64_t u = 0;
	for (size_t i = 1; i <= n; i++)
		u = u << 8 | p[i];
	bool neg = false;
	if (p[0] >= 0xd0) { /* sign-extend */
		neg = p[1] & 0x80;
		if (neg && n < 8)
			u |= ~0ull << (8 * n);
	}
	int64_t v = (int64_t)u;
	if (!neg) { /* msgpack-c packs a non-negative value as unsigned */
		if (u <= 0x7f)
			return out[0] = (unsigned char)u, 1;
		out[0] = u <= 0xff ? 0xcc : u <= 0xffff ? 0xcd : u <= 0xffffffffull ? 0xce : 0xcf;
	} else if (v >= -32)
		return out[0] = (unsigned char)(int8_t)v, 1;
	else
		out[0] = v >= -128 ? 0xd0 : v >= -32768 ? 0xd1 : v >= -2147483648ll ? 0xd2 : 0xd3;
	size_t m = size[out[0] & 3];
	for (size_t i = 0; i < m; i++)
		out[1 + i] = (unsigned char)(u >> (8 * (m - 1 - i)));
	return 1 + m;
}

const unsigned char *ath_mp__array(const unsigned char *p, const unsigned char *end, uint32_t *n)
{
	if (p >= end)
		return NULL;
	if ((*p & 0xf0) == 0x90) {
		*n = *p & 0x0f;
		return p + 1;
	}
	if (*p == 0xdc && end - p >= 3) {
		*n = be(p + 1, 2);
		return p + 3;
	}
	if (*p == 0xdd && end - p >= 5) {
		*n = be(p + 1, 4);
		return p + 5;
	}
	return NULL;
}

int ath_mp__key(msgpack_packer *pk, const char *k) { return ath_wire__pack_cstr(pk, k); }

int ath_mp__col(msgpack_packer *pk, const char *table, const char *col)
{
	return msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "col") | ath_wire__pack_cstr(pk, table) |
	       ath_wire__pack_cstr(pk, col);
}

int ath_mp__bind(msgpack_packer *pk, uint32_t i)
{
	return msgpack_pack_array(pk, 2) | ath_wire__pack_cstr(pk, "bind") | msgpack_pack_uint32(pk, i);
}

int ath_mp__table(msgpack_packer *pk, const ath_table *t)
{
	int rc = msgpack_pack_array(pk, t->schema ? 3 : 2) | ath_wire__pack_cstr(pk, "table") |
		 ath_wire__pack_cstr(pk, t->name);
	if (t->schema)
		rc |= msgpack_pack_map(pk, 1) | ath_wire__pack_cstr(pk, "schema") | ath_wire__pack_cstr(pk, t->schema);
	return rc;
}

void ath_mapper__table_as(char *buf, size_t cap, const ath_mapper *m, uint32_t k, const char *name)
{
	if (strcmp(name, m->table->name) == 0)
		snprintf(buf, cap, "%s", m->tables[k]->name);
	else if (k == 0)
		snprintf(buf, cap, "%s", name);
	else
		snprintf(buf, cap, "%s_%s", name, m->tables[k]->name);
}

/* table k of m as a FROM item read as `name`: the table, or an alias of it */
static int table_as(msgpack_packer *pk, const ath_mapper *m, uint32_t k, const char *name)
{
	char as[160];
	ath_mapper__table_as(as, sizeof as, m, k, name);
	if (strcmp(as, m->tables[k]->name) == 0)
		return ath_mp__table(pk, m->tables[k]);
	return msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "alias") | ath_mp__table(pk, m->tables[k]) |
	       ath_wire__pack_cstr(pk, as);
}

int ath_mp__mapper_from_as(msgpack_packer *pk, const ath_mapper *m, const char *name)
{
	int rc = 0;
	for (uint32_t t = 1; t < m->ntables; t++)
		rc |= msgpack_pack_array(pk, 5) | ath_wire__pack_cstr(pk, "join");
	rc |= table_as(pk, m, 0, name);
	for (uint32_t t = 1; t < m->ntables; t++) {
		char prev[160], cur[160];
		ath_mapper__table_as(prev, sizeof prev, m, t - 1, name);
		ath_mapper__table_as(cur, sizeof cur, m, t, name);
		rc |= table_as(pk, m, t, name);
		if (m->npk > 1)
			rc |= msgpack_pack_array(pk, m->npk + 1) | ath_wire__pack_cstr(pk, "and");
		for (uint32_t k = 0; k < m->npk; k++)
			rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") | ath_mp__col(pk, prev, m->tpk[t - 1][k]->name) |
			      ath_mp__col(pk, cur, m->tpk[t][k]->name);
		rc |= ath_wire__pack_cstr(pk, "inner");
	}
	return rc;
}

int ath_mp__mapper_from(msgpack_packer *pk, const ath_mapper *m) { return ath_mp__mapper_from_as(pk, m, m->table->name); }

int ath_mp__prop_col(msgpack_packer *pk, const ath_mapper *m, uint32_t i, const char *from)
{
	const ath_table *t = m->props[i].table;
	if (!t || t == m->table)
		return ath_mp__col(pk, from, m->props[i].col->name);
	uint32_t k = 1;
	while (k + 1 < m->ntables && m->tables[k] != t)
		k++;
	char q[160];
	ath_mapper__table_as(q, sizeof q, m, k, from);
	return ath_mp__col(pk, q, m->props[i].col->name);
}

int ath_mp__where_eq(msgpack_packer *pk, const char *table, const ath_column *const *cols, uint32_t n, uint32_t base)
{
	int rc = 0;
	if (n > 1)
		rc |= msgpack_pack_array(pk, n + 1) | ath_wire__pack_cstr(pk, "and");
	for (uint32_t i = 0; i < n; i++)
		rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") | ath_mp__col(pk, table, cols[i]->name) |
		      ath_mp__bind(pk, base + i);
	return rc;
}

uint32_t ath_mapper__nloaded(const ath_mapper *m)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nprops; i++)
		n += !m->props[i].deferred;
	return n;
}

int ath_mp__poly_criterion(msgpack_packer *pk, const ath_registry *reg, const ath_mapper *m, const char *from)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < reg->nmappers; i++)
		n += ath_mapper__isa(&reg->mappers[i], m) && reg->mappers[i].identity_len;
	const char *col = m->props[m->root->poly_prop].col->name;
	int rc = msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "in") | ath_mp__col(pk, from, col) |
		 msgpack_pack_array(pk, n + 1) | ath_wire__pack_cstr(pk, "tuple");
	for (uint32_t i = 0; i < reg->nmappers; i++) {
		const ath_mapper *x = &reg->mappers[i];
		if (ath_mapper__isa(x, m) && x->identity_len)
			rc |= msgpack_pack_array(pk, 2) | ath_wire__pack_cstr(pk, "lit") |
			      ath_wire__buf_write(pk->data, (const char *)x->identity, x->identity_len);
	}
	return rc;
}
