/* fuzz_registry.c — arbitrary bytes as a mapping spec: ath_registry_create() (the spec loader,
 * the schema spec inside it, the configure step: columns, relationships, foreign-key paths,
 * back_populates, cascades), then, when it succeeds, cheap calls on the registry: class and
 * attribute lookups, transient objects of each class with attributes set to fuzzer-chosen msgpack
 * bytes and read back (ath_obj_set_i / get_i / state / history / is_modified). No session, no
 * engine: nothing touches a database.
 *
 * Input: SPEC [0xc1 0xc1 OPS]. The spec is everything before the first 0xc1 0xc1 (a byte msgpack
 * never uses), so a plain spec is a valid input (the seed corpus is specs). OPS: one byte L and L
 * bytes naming a class, then operations of [op, len, len bytes of value]: op & 0x1f is the
 * attribute index, op >> 5 picks the call. Without OPS, each class of a fixed list of names the
 * seeds use gets nil, an integer and a string set on its first attributes.
 * Any input must end in a registry or a clean error (WireFormatError, ArgumentError,
 * InvalidRequestError, NotSupportedError). */
#include <athanor/athanor.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const class_names[] = { "User", "Address", "Keyword", "Node", "Customer", "Parent",
					   "Child", "K", "GNode", "Engineer", "Manager" };
static const char *const attr_names[] = { "id", "name", "addresses", "user", "children", "parent",
					  "keywords", "right_nodes", "reports", "manager", "" };

/* An object of class `cls` (by name), each attribute index 0..max set to `value`, read back. */
static void poke(ath_registry *reg, const char *cls, const unsigned char *value, size_t len)
{
	ath_obj *o = NULL;
	if (ath_obj_create(&o, reg, cls) != ATH_OK)
		return;
	ath_buf b = ATH_BUF_INIT;
	for (int a = 0; a < 12; a++) {
		ath_obj_set_i(o, a, value, len);
		ath_obj_get_i(&b, o, a);
	}
	ath_obj_state(&b, o);
	ath_obj_is_modified(o);
	if (ath_obj_status_of(o) != ATH_OBJ_TRANSIENT)
		abort(); /* nothing here adds it to a session */
	ath_buf_dispose(&b);
	ath_obj_free(o);
}

/* The OPS section: a class chosen by name, then set/get/... calls with fuzzer bytes. */
static void run_ops(ath_registry *reg, const uint8_t *p, size_t n)
{
	if (n < 1 || (size_t)p[0] + 1 > n)
		return;
	char cls[256];
	size_t cls_len = p[0];
	memcpy(cls, p + 1, cls_len);
	cls[cls_len] = '\0';
	p += 1 + cls_len, n -= 1 + cls_len;
	int ci = ath_registry_class(reg, cls);
	if (ci >= 0)
		for (size_t i = 0; i < sizeof attr_names / sizeof *attr_names; i++)
			ath_registry_attr(reg, ci, attr_names[i]);
	ath_obj *o = NULL;
	if (ath_obj_create(&o, reg, cls) != ATH_OK)
		return;
	ath_buf b = ATH_BUF_INIT;
	while (n >= 2) {
		int attr = p[0] & 0x1f, call = p[0] >> 5;
		size_t len = p[1] < n - 2 ? p[1] : n - 2;
		const unsigned char *v = p + 2;
		switch (call) {
		case 0:
		case 1: ath_obj_set_i(o, attr, v, len); break;
		case 2: ath_obj_get_i(&b, o, attr); break;
		case 3: ath_obj_state(&b, o); break;
		case 4: { /* by name: the value bytes are the attribute's name */
			char name[256];
			memcpy(name, v, len);
			name[len] = '\0';
			ath_obj_set(o, name, v, len);
			ath_obj_get(&b, o, name);
			ath_obj_history(&b, o, name);
			if (ci >= 0)
				ath_registry_attr(reg, ci, name);
			break;
		}
		case 5: ath_obj_is_modified(o); break;
		case 6: ath_obj_set_i(o, attr, NULL, 0); break;
		default: { /* a second object of the class, linked along the attribute's name when it is a relationship */
			ath_obj *t = NULL;
			if (ath_obj_create(&t, reg, cls) == ATH_OK) {
				for (size_t i = 0; i < sizeof attr_names / sizeof *attr_names; i++)
					if (ath_obj_link(o, attr_names[i], t) == ATH_OK)
						ath_obj_unlink(o, attr_names[i], t);
				ath_obj_free(t);
			}
			break;
		}
		}
		p += 2 + len, n -= 2 + len;
	}
	ath_buf_dispose(&b);
	ath_obj_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t spec_len = size;
	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == 0xc1 && data[i + 1] == 0xc1) {
			spec_len = i;
			break;
		}
	ath_registry *reg = NULL;
	if (ath_registry_create(&reg, data, spec_len) != ATH_OK) {
		if (reg)
			abort(); /* out stays NULL on failure */
		return 0;
	}
	if (!ath_registry_metadata(reg))
		abort();
	if (spec_len + 2 <= size) {
		run_ops(reg, data + spec_len + 2, size - spec_len - 2);
	} else {
		static const unsigned char values[][8] = { { 0xc0 }, { 0x2a }, { 0xa3, 'a', 'b', 'c' }, { 0xc3 } };
		static const size_t lens[] = { 1, 1, 4, 1 };
		for (size_t c = 0; c < sizeof class_names / sizeof *class_names; c++) {
			int ci = ath_registry_class(reg, class_names[c]);
			if (ci < 0)
				continue;
			for (size_t a = 0; a < sizeof attr_names / sizeof *attr_names; a++)
				ath_registry_attr(reg, ci, attr_names[a]);
			for (size_t v = 0; v < sizeof lens / sizeof *lens; v++)
				poke(reg, class_names[c], values[v], lens[v]);
		}
	}
	ath_registry_free(reg);
	return 0;
}
