/* orm_tutorial.c — athanor's ORM from C, following SQLAlchemy's ORM tutorial: users and their
 * addresses mapped from a mapping spec, create_all, objects added and committed, a query by
 * attribute, a relationship loaded lazily, then eagerly with selectinload, and a delete that
 * cascades to the addresses. Echo is on: each statement is printed as it runs ("-- SQL"), so the
 * output shows what every step costs in SQL.
 *
 * A binding builds the mapping spec from its class declarations and statements from its own
 * syntax; in C they are msgpack trees written with msgpack-c's packer (docs/wire-format.md,
 * the mapping spec in orm.h).
 *
 * Build: cc orm_tutorial.c $(pkg-config --cflags --libs athanor msgpack) */
#include <athanor/athanor.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing msgpack trees (as in quickstart.c) -------------------------------------------- */

static msgpack_sbuffer sbuf;
static msgpack_packer pk;

static void begin_tree(void)
{
	msgpack_sbuffer_clear(&sbuf);
	msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
}

#define ARR(n) msgpack_pack_array(&pk, (n))
#define MAP(n) msgpack_pack_map(&pk, (n))
#define INT(i) msgpack_pack_int64(&pk, (i))
#define TRUE() msgpack_pack_true(&pk)
#define FALSE() msgpack_pack_false(&pk)
static void STR(const char *s)
{
	msgpack_pack_str(&pk, strlen(s));
	msgpack_pack_str_body(&pk, s, strlen(s));
}
static void BIND(int i) { ARR(2), STR("bind"), INT(i); }
/* ["attr", "User", "name"]: a mapped attribute in a statement (User.name) */
static void ATTR(const char *cls, const char *name) { ARR(3), STR("attr"), STR(cls), STR(name); }

static void die(const char *what)
{
	const ath_error *e = ath_error_last();
	fprintf(stderr, "%s failed: %s: %s\n", what, ath_error_class_name(e->klass), e->message);
	exit(1);
}

/* echo: print each statement the engine runs */
static void echo(ath_log_level level, const char *msg, void *payload)
{
	(void)level, (void)payload;
	printf("    -- %s\n", msg);
}

/* ---- attributes: values cross as msgpack ----------------------------------------------------- */

static void set_str(ath_obj *obj, const char *attr, const char *value)
{
	begin_tree(), STR(value);
	if (ath_obj_set(obj, attr, sbuf.data, sbuf.size) != ATH_OK)
		die("set");
}

/* A string attribute into buf ("" for NULL). Reading an expired attribute loads it. */
static const char *get_str(ath_obj *obj, const char *attr, char *buf, size_t cap)
{
	ath_buf v = ATH_BUF_INIT;
	if (ath_obj_get(&v, obj, attr) != ATH_OK)
		die("get");
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	msgpack_unpack_next(&u, (const char *)v.ptr, v.size, NULL);
	if (u.data.type == MSGPACK_OBJECT_STR)
		snprintf(buf, cap, "%.*s", (int)u.data.via.str.size, u.data.via.str.ptr);
	else
		buf[0] = '\0';
	msgpack_unpacked_destroy(&u);
	ath_buf_dispose(&v);
	return buf;
}

/* a new User or Address (transient: in no session yet) */
static ath_obj *new_user(ath_registry *reg, const char *name, const char *fullname)
{
	ath_obj *u;
	if (ath_obj_create(&u, reg, "User") != ATH_OK)
		die("create User");
	set_str(u, "name", name);
	set_str(u, "fullname", fullname);
	return u;
}

static void add_address(ath_registry *reg, ath_obj *user, const char *email)
{
	ath_obj *a;
	if (ath_obj_create(&a, reg, "Address") != ATH_OK)
		die("create Address");
	set_str(a, "email_address", email);
	/* user.addresses.append(address): address.user follows (back_populates) */
	if (ath_obj_link(user, "addresses", a) != ATH_OK)
		die("link");
	ath_obj_free(a); /* the user's collection holds it now */
}

/* ---- ORM statements: entities come back as object references ------------------------------ */

/* Run an ORM select of one entity; the objects of the result (new references, NULL-terminated;
 * release each with ath_obj_free() and the array with free()). */
static ath_obj **scalars(ath_session *s, uint32_t flags, const char *param)
{
	const char *shape = sbuf.data;
	size_t shape_len = sbuf.size;
	char *copy = malloc(shape_len);
	memcpy(copy, shape, shape_len);
	begin_tree();
	if (param)
		ARR(1), STR(param);
	else
		ARR(0);
	ath_buf rows = ATH_BUF_INIT;
	if (ath_session_execute(&rows, s, copy, shape_len, sbuf.data, sbuf.size, flags | ATH_ROWS_SCALARS) != ATH_OK)
		die("execute");
	free(copy);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	msgpack_unpack_next(&u, (const char *)rows.ptr, rows.size, NULL);
	/* ATH_ROWS_ONE gives the scalar itself, otherwise an array of them */
	msgpack_object *items = u.data.type == MSGPACK_OBJECT_ARRAY ? u.data.via.array.ptr : &u.data;
	uint32_t n = u.data.type == MSGPACK_OBJECT_ARRAY ? u.data.via.array.size : 1;
	ath_obj **objs = calloc(n + 1, sizeof *objs);
	for (uint32_t i = 0; i < n; i++) {
		/* an object reference: msgpack ext type 1 holding the object's 64-bit id */
		uint64_t id = 0;
		for (int k = 0; k < 8; k++)
			id = id << 8 | (unsigned char)items[i].via.ext.ptr[k];
		if (ath_session_object(&objs[i], s, id) != ATH_OK)
			die("object");
	}
	msgpack_unpacked_destroy(&u);
	ath_buf_dispose(&rows);
	return objs;
}

static void free_objs(ath_obj **objs)
{
	for (ath_obj **o = objs; *o; o++)
		ath_obj_free(*o);
	free(objs);
}

static void print_addresses(ath_obj *user)
{
	char name[64], email[128];
	size_t n;
	if (ath_obj_related_count(&n, user, "addresses") != ATH_OK) /* loads them if needed */
		die("addresses");
	printf("  %s:", get_str(user, "name", name, sizeof name));
	for (size_t i = 0; i < n; i++) {
		ath_obj *a;
		if (ath_obj_related(&a, user, "addresses", i) != ATH_OK)
			die("address");
		printf(" %s", get_str(a, "email_address", email, sizeof email));
		ath_obj_free(a);
	}
	printf("%s\n", n ? "" : " (no addresses)");
}

int main(void)
{
	msgpack_sbuffer_init(&sbuf);

	/* 1. Declare the mapping. The spec holds the tables (a schema spec) and the classes mapped
	 *    to them, as SQLAlchemy's declarative classes do:
	 *
	 *    class User(Base):                            class Address(Base):
	 *        __tablename__ = "user_account"               __tablename__ = "address"
	 *        id = mapped_column(primary_key=True)         id = mapped_column(primary_key=True)
	 *        name = mapped_column(String(30))             email_address = mapped_column(String)
	 *        fullname = mapped_column(String)             user_id = mapped_column(ForeignKey("user_account.id"))
	 *        addresses = relationship(                    user = relationship(back_populates="addresses")
	 *            back_populates="user", cascade="all, delete-orphan") */
	begin_tree(), MAP(3), STR("k"), STR("registry");
	STR("metadata"), MAP(2), STR("k"), STR("metadata"), STR("tables"), ARR(2);
	{
		MAP(2), STR("name"), STR("user_account"), STR("columns"), ARR(3);
		MAP(3), STR("name"), STR("id"), STR("type"), ARR(1), STR("Integer"), STR("primary_key"), TRUE();
		MAP(3), STR("name"), STR("name"), STR("type"), ARR(2), STR("String"), INT(30), STR("nullable"), FALSE();
		MAP(2), STR("name"), STR("fullname"), STR("type"), ARR(1), STR("String");

		MAP(3), STR("name"), STR("address"), STR("columns"), ARR(3);
		MAP(3), STR("name"), STR("id"), STR("type"), ARR(1), STR("Integer"), STR("primary_key"), TRUE();
		MAP(3), STR("name"), STR("email_address"), STR("type"), ARR(1), STR("String"), STR("nullable"), FALSE();
		MAP(2), STR("name"), STR("user_id"), STR("type"), ARR(1), STR("Integer");
		STR("constraints"), ARR(1), MAP(4), STR("k"), STR("foreign_key"), STR("columns"), ARR(1), STR("user_id"),
			STR("ref_table"), STR("user_account"), STR("ref_columns"), ARR(1), STR("id");
	}
	STR("classes"), ARR(2);
	{
		MAP(3), STR("name"), STR("User"), STR("table"), STR("user_account"), STR("relationships"), MAP(1);
		STR("addresses"), MAP(3), STR("target"), STR("Address"), STR("back_populates"), STR("user"), STR("cascade"),
			ARR(2), STR("all"), STR("delete-orphan");

		MAP(3), STR("name"), STR("Address"), STR("table"), STR("address"), STR("relationships"), MAP(1);
		STR("user"), MAP(2), STR("target"), STR("User"), STR("back_populates"), STR("addresses");
	}
	ath_registry *reg;
	if (ath_registry_create(&reg, sbuf.data, sbuf.size) != ATH_OK) /* validated here (configure) */
		die("registry");

	/* 2. An engine (in-memory SQLite, echo on) typed by the registry's metadata, and the tables. */
	ath_engine_options opts = ATH_ENGINE_OPTIONS_INIT;
	opts.flags = ATH_ENGINE_ECHO;
	opts.log_cb = echo;
	opts.metadata = ath_registry_metadata(reg);
	ath_engine *engine;
	if (ath_engine_create(&engine, "sqlite://", &opts) != ATH_OK)
		die("engine");
	printf("create_all:\n");
	if (ath_engine_create_all(engine, ath_registry_metadata(reg), 0) != ATH_OK)
		die("create_all");

	/* 3. Add objects and commit. Adding a user cascades to its addresses (save-update); the flush
	 *    inserts users first, then addresses with the users' new keys. */
	ath_session *session;
	if (ath_session_create(&session, engine, reg, NULL) != ATH_OK)
		die("session");
	ath_obj *spongebob = new_user(reg, "spongebob", "Spongebob Squarepants");
	ath_obj *sandy = new_user(reg, "sandy", "Sandy Cheeks");
	ath_obj *patrick = new_user(reg, "patrick", "Patrick Star");
	add_address(reg, spongebob, "spongebob@sqlalchemy.org");
	add_address(reg, sandy, "sandy@sqlalchemy.org");
	add_address(reg, sandy, "sandy@squirrelpower.org");
	ath_obj *users[] = { spongebob, sandy, patrick };
	for (int i = 0; i < 3; i++)
		if (ath_session_add(session, users[i]) != ATH_OK)
			die("add");
	printf("\nsession.commit(): %zu pending objects\n", ath_session_count(session));
	if (ath_session_commit(session) != ATH_OK)
		die("commit");
	for (int i = 0; i < 3; i++)
		ath_obj_free(users[i]);

	/* 4. Query by attribute: select(User).where(User.name == "sandy"), exactly one row. The
	 *    object is the same one the session already knows (identity map), refreshed since the
	 *    commit expired it. */
	printf("\nselect(User).where(User.name == 'sandy'):\n");
	begin_tree(), MAP(3), STR("k"), STR("select"), STR("columns"), ARR(1), ARR(2), STR("entity"), STR("User");
	STR("where"), ARR(3), STR("="), ATTR("User", "name"), BIND(0);
	ath_obj **found = scalars(session, ATH_ROWS_ONE, "sandy");
	char buf[128];
	printf("  found %s\n", get_str(found[0], "fullname", buf, sizeof buf));

	/* 5. Relationships load lazily: sandy.addresses runs one SELECT on first access, none after. */
	printf("\nsandy.addresses (lazy load):\n");
	print_addresses(found[0]);
	printf("sandy.addresses again (already loaded):\n");
	print_addresses(found[0]);
	free_objs(found);

	/* 6. Eager loading: select(User).options(selectinload(User.addresses)) loads the addresses of
	 *    every user in one more SELECT ... WHERE user_id IN (...), so the loop below runs none.
	 *    A new session, so that nothing is loaded yet. */
	ath_session_close(session);
	if (ath_session_create(&session, engine, reg, NULL) != ATH_OK)
		die("session");
	printf("\nselect(User).order_by(User.id).options(selectinload(User.addresses)):\n");
	begin_tree(), MAP(4), STR("k"), STR("select"), STR("columns"), ARR(1), ARR(2), STR("entity"), STR("User");
	STR("order_by"), ARR(1), ATTR("User", "id");
	STR("options"), ARR(1), ARR(2), STR("selectinload"), ARR(2), STR("User"), STR("addresses");
	ath_obj **all = scalars(session, 0, NULL);
	printf("each user's addresses, no more SQL:\n");
	for (ath_obj **u = all; *u; u++)
		print_addresses(*u);

	/* 7. Delete with cascade: deleting sandy deletes her addresses too (cascade="all"), children
	 *    first. */
	printf("\nsession.delete(sandy); session.commit():\n");
	if (ath_session_delete(session, all[1]) != ATH_OK || ath_session_commit(session) != ATH_OK)
		die("delete");
	free_objs(all);
	printf("\nwhat is left:\n");
	begin_tree(), MAP(3), STR("k"), STR("select"), STR("columns"), ARR(1), ARR(2), STR("entity"), STR("User");
	STR("options"), ARR(1), ARR(2), STR("selectinload"), ARR(2), STR("User"), STR("addresses");
	all = scalars(session, 0, NULL);
	int left = 0;
	for (ath_obj **u = all; *u; u++, left++)
		print_addresses(*u);
	free_objs(all);

	ath_session_close(session);
	ath_engine_free(engine);
	ath_registry_free(reg);
	msgpack_sbuffer_destroy(&sbuf);
	if (left != 2) {
		fprintf(stderr, "expected 2 users left, found %d\n", left);
		return 1;
	}
	return 0;
}
