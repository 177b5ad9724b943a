/* test_orm.c — the ORM on every backend, drawn from SQLAlchemy's ORM tutorial and session
 * documentation (users, addresses, keywords, a node tree): identity, flush ordering (parents
 * first, self-referential rows in waves, children deleted first), cascades and orphans, rollback
 * restoring state, expiry, version conflicts, the weak identity map, and each loading strategy
 * counted in the SQL it emits (as SQLAlchemy's tests count statements). `test_orm
 * [sqlite|postgresql|mysql]`; the server backends read ATHANOR_TEST_PG_URL /
 * ATHANOR_TEST_MYSQL_URL and exit 77 (skipped) without it, unless ATHANOR_TEST_REQUIRE_SERVERS=1. */
#include "ormtest.h"

static const char *SPEC =
	"{\"k\": \"registry\", \"metadata\": {\"k\": \"metadata\", \"tables\": ["
	" {\"name\": \"users\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 50], \"nullable\": false},"
	"   {\"name\": \"fullname\", \"type\": [\"String\", 100]},"
	"   {\"name\": \"version\", \"type\": [\"Integer\"], \"nullable\": false}]},"
	" {\"name\": \"addresses\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"email\", \"type\": [\"String\", 100], \"nullable\": false},"
	"   {\"name\": \"user_id\", \"type\": [\"Integer\"]}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"user_id\"], \"ref_table\": \"users\", \"ref_columns\": [\"id\"]}]},"
	" {\"name\": \"keywords\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"word\", \"type\": [\"String\", 40], \"nullable\": false}]},"
	" {\"name\": \"user_keywords\", \"columns\": ["
	"   {\"name\": \"user_id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"keyword_id\", \"type\": [\"Integer\"], \"primary_key\": true}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"user_id\"], \"ref_table\": \"users\", \"ref_columns\": [\"id\"]},"
	"                  {\"k\": \"foreign_key\", \"columns\": [\"keyword_id\"], \"ref_table\": \"keywords\", \"ref_columns\": [\"id\"]}]},"
	" {\"name\": \"companies\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 40]}]},"
	" {\"name\": \"employees\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 40]}, {\"name\": \"type\", \"type\": [\"String\", 20]},"
	"   {\"name\": \"engineer_info\", \"type\": [\"String\", 40]}, {\"name\": \"company_id\", \"type\": [\"Integer\"]}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"company_id\"], \"ref_table\": \"companies\", \"ref_columns\": [\"id\"]}]},"
	" {\"name\": \"events\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 40]},"
	"   {\"name\": \"status\", \"type\": [\"String\", 20], \"server_default\": [\"lit\", \"fresh\"]}]},"
	" {\"name\": \"nodes\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"parent_id\", \"type\": [\"Integer\"]},"
	"   {\"name\": \"name\", \"type\": [\"String\", 40]}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"parent_id\"], \"ref_table\": \"nodes\", \"ref_columns\": [\"id\"]}]}"
	"]},"
	" \"classes\": ["
	"  {\"name\": \"User\", \"table\": \"users\", \"version_id\": \"version\","
	"   \"properties\": {\"name_len\": {\"expr\": [\"fn\", \"length\", [[\"attr\", \"User\", \"name\"]]]}},"
	"   \"relationships\": {"
	"     \"addresses\": {\"target\": \"Address\", \"back_populates\": \"user\", \"cascade\": [\"all\", \"delete-orphan\"],"
	"                   \"order_by\": [[\"attr\", \"Address\", \"email\"]]},"
	"     \"keywords\": {\"target\": \"Keyword\", \"secondary\": \"user_keywords\", \"back_populates\": \"users\"},"
	"     \"work_addresses\": {\"target\": \"Address\", \"viewonly\": true, \"primaryjoin\": [\"and\", [\"=\", [\"attr\", \"User\", \"id\"], "
	"       [\"attr\", \"Address\", \"user_id\"]], [\"like\", [\"attr\", \"Address\", \"email\"], [\"lit\", \"%@work\"]]]}}},"
	"  {\"name\": \"Address\", \"table\": \"addresses\","
	"   \"relationships\": {\"user\": {\"target\": \"User\", \"back_populates\": \"addresses\"}}},"
	"  {\"name\": \"Keyword\", \"table\": \"keywords\","
	"   \"relationships\": {\"users\": {\"target\": \"User\", \"secondary\": \"user_keywords\", \"back_populates\": \"keywords\","
	"                               \"lazy\": \"raise\"}}},"
	"  {\"name\": \"Event\", \"table\": \"events\", \"eager_defaults\": true},"
	"  {\"name\": \"Company\", \"table\": \"companies\", \"relationships\": {\"employees\": {\"target\": \"Employee\", "
	"   \"back_populates\": \"company\", \"order_by\": [[\"attr\", \"Employee\", \"name\"]]},"
	"   \"staff\": {\"target\": \"Employee\", \"lazy\": \"write_only\"}}},"
	"  {\"name\": \"Employee\", \"table\": \"employees\", \"polymorphic_on\": \"type\", \"polymorphic_identity\": \"employee\","
	"   \"relationships\": {\"company\": {\"target\": \"Company\", \"back_populates\": \"employees\"}}},"
	"  {\"name\": \"Engineer\", \"inherits\": \"Employee\", \"table\": null, \"polymorphic_identity\": \"engineer\"},"
	"  {\"name\": \"Manager\", \"inherits\": \"Employee\", \"polymorphic_identity\": \"manager\"},"
	"  {\"name\": \"Node\", \"table\": \"nodes\","
	"   \"relationships\": {\"children\": {\"target\": \"Node\", \"back_populates\": \"parent\", \"cascade\": [\"all\"],"
	"                                  \"lazy\": \"selectin\"},"
	"                      \"parent\": {\"target\": \"Node\", \"back_populates\": \"children\","
	"                                   \"remote_side\": [[\"col\", \"nodes\", \"id\"]]}}}"
	"]}";

static const char *USERS_BY_NAME = "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], "
				   "\"where\": [\"=\", [\"attr\", \"User\", \"name\"], [\"bind\", 0]]}";

/* ---- the tests -------------------------------------------------------------------------------- */

static void test_add_and_identity(void)
{
	TEST_CASE("add, flush order, identity");
	ath_session *s = session();
	ath_obj *ed = make("User", "{\"name\": \"ed\", \"fullname\": \"Ed Jones\"}");
	ath_obj *a1 = make("Address", "{\"email\": \"ed@google.com\"}");
	ath_obj *a2 = make("Address", "{\"email\": \"ed@yahoo.com\"}");
	link_to(ed, "addresses", a1);
	link_to(ed, "addresses", a2);
	CHECK_INT(ATH_OBJ_TRANSIENT, ath_obj_status_of(ed));
	CHECK(ath_session_add(s, ed) == ATH_OK);
	CHECK_INT(ATH_OBJ_PENDING, ath_obj_status_of(a1)); /* save-update cascade */
	CHECK_INT(3, ath_session_count(s));
	/* the back side followed in memory: a1.user is ed, no SQL */
	ath_obj *u = NULL;
	SQL_COUNT(0, CHECK(ath_obj_related(&u, a1, "user", 0) == ATH_OK && u == ed));
	ath_obj_free(u);
	/* one INSERT for the user, one executemany for both addresses */
	SQL_COUNT(2, CHECK(ath_session_flush(s) == ATH_OK));
	CHECK_INT(ATH_OBJ_PERSISTENT, ath_obj_status_of(ed));
	int64_t ed_id = get_int(ed, "id");
	CHECK(ed_id > 0);
	CHECK_INT(ed_id, get_int(a1, "user_id"));
	CHECK_INT(ed_id, get_int(a2, "user_id"));
	CHECK_GET("1", ed, "version");
	/* autoflush: a new pending user is visible to a query */
	ath_obj *wendy = make("User", "{\"name\": \"wendy\", \"fullname\": \"Wendy Williams\"}");
	ath_obj *mary = make("User", "{\"name\": \"mary\", \"fullname\": \"Mary Contrary\"}");
	size_t before_all = ath_session_count(s);
	CHECK_INT(ATH_EMISUSE, ath_session_add_all(s, (ath_obj *[]){ wendy, NULL }, 2)); /* checked first: nothing added */
	CHECK_INT(before_all, ath_session_count(s));
	CHECK(ath_session_add_all(s, (ath_obj *[]){ wendy, mary }, 2) == ATH_OK);
	CHECK_INT(before_all + 2, ath_session_count(s));
	ath_obj_free(mary);
	ath_obj *found[4];
	size_t n = query(s, USERS_BY_NAME, "[\"wendy\"]", found, 4, 0);
	CHECK_INT(1, n);
	CHECK(n == 1 && found[0] == wendy); /* identity: the same object, not a copy */
	free_objs(found, n);
	/* get: from the identity map, no SQL */
	char pk[32];
	snprintf(pk, sizeof pk, "[%lld]", (long long)ed_id);
	ath_buf key = mp("%s", pk);
	ath_obj *g = NULL;
	SQL_COUNT(0, CHECK(ath_session_get(&g, s, "User", key.ptr, key.size) == ATH_OK && g == ed));
	ath_obj_free(g);
	CHECK(ath_session_commit(s) == ATH_OK);
	/* expire_on_commit: the next access loads the row again (one SELECT), then no more */
	SQL_COUNT(1, CHECK_GET("\"Ed Jones\"", ed, "fullname"));
	SQL_COUNT(0, CHECK_GET("\"ed\"", ed, "name"));
	/* lazy load of the collection, ordered by email; the many-to-one back uses the identity map */
	size_t na = 0;
	SQL_COUNT(1, CHECK(ath_obj_related_count(&na, ed, "addresses") == ATH_OK && na == 2));
	ath_obj *first = NULL;
	CHECK(ath_obj_related(&first, ed, "addresses", 0) == ATH_OK);
	CHECK_GET("\"ed@google.com\"", first, "email");
	SQL_COUNT(0, CHECK(ath_obj_related(&u, first, "user", 0) == ATH_OK && u == ed));
	ath_obj_free(u);
	ath_obj_free(first);
	/* a missing row is NULL, not an error */
	ath_buf none = mp("[999999]");
	g = (ath_obj *)1;
	CHECK(ath_session_get(&g, s, "User", none.ptr, none.size) == ATH_OK && g == NULL);
	mp_free(&none);
	/* a new session: get emits one SELECT and gives a different object than the old session's */
	ath_session *s2 = session();
	SQL_COUNT(1, CHECK(ath_session_get(&g, s2, "User", key.ptr, key.size) == ATH_OK && g && g != ed));
	ath_obj *a = NULL;
	/* lazy many-to-one from a new address: the user is already in the identity map */
	ath_obj_free(g);
	mp_free(&key);
	ath_session_close(s2);
	ath_obj_free(a);
	ath_obj_free(ed);
	ath_obj_free(a1);
	ath_obj_free(a2);
	ath_obj_free(wendy);
	ath_session_close(s);
}

/* Values arrive as any valid msgpack; what is stored (and compared, and keyed) is the smallest
 * encoding. Objects loaded with long values keep them in their own block; a change keeps the
 * loaded value as history. */
static void test_canonical_values(void)
{
	TEST_CASE("integers in wider encodings stored canonical, get() by such a key, history of a loaded long value");
	static const unsigned char id64[] = { 0xd3, 0, 0, 0, 0, 0, 0x0d, 0xbb, 0xa1 }; /* 900001 as int64 */
	static const unsigned char id_u32[] = { 0xce, 0, 0x0d, 0xbb, 0xa1 }, neg64[] = { 0xd3, 0xff, 0xff, 0xff, 0xff,
													 0xff, 0xff, 0xff, 0x38 };
	ath_buf b = ATH_BUF_INIT;
	ath_obj *t = make("Event", "{\"name\": \"transient\"}");
	CHECK(ath_obj_set(t, "id", neg64, sizeof neg64) == ATH_OK); /* -200 */
	CHECK(ath_obj_get(&b, t, "id") == ATH_OK && b.size == 3 && b.ptr[0] == 0xd1 && b.ptr[1] == 0xff && b.ptr[2] == 0x38);
	ath_obj_free(t);
	ath_session *s = session();
	ath_obj *e = make("Event", "{\"name\": \"a name longer than twenty-two bytes\"}");
	CHECK(ath_obj_set(e, "id", id64, sizeof id64) == ATH_OK);
	CHECK(ath_obj_get(&b, e, "id") == ATH_OK && b.size == sizeof id_u32 && memcmp(b.ptr, id_u32, b.size) == 0);
	CHECK(ath_session_add(s, e) == ATH_OK);
	CHECK(ath_session_commit(s) == ATH_OK);
	ath_obj_free(e);
	ath_session_close(s);
	s = session();
	ath_obj *g = NULL, *g2 = NULL;
	SQL_COUNT(1, CHECK(ath_session_get(&g, s, "Event", id64, sizeof id64) == ATH_OK && g));
	CHECK_GET("\"a name longer than twenty-two bytes\"", g, "name");
	SQL_COUNT(0, CHECK(ath_session_get(&g2, s, "Event", id_u32, sizeof id_u32) == ATH_OK && g2 == g));
	CHECK(set(g, "name", "\"renamed\"") == ATH_OK);
	CHECK(ath_obj_history(&b, g, "name") == ATH_OK);
	char *h = as_json(b.ptr, b.size);
	CHECK_STR("{\"added\":[\"renamed\"],\"unchanged\":[],\"deleted\":[\"a name longer than twenty-two bytes\"]}", h);
	free(h);
	CHECK(ath_session_rollback(s) == ATH_OK);
	CHECK_GET("\"a name longer than twenty-two bytes\"", g, "name");
	ath_obj_free(g);
	ath_obj_free(g2);
	ath_session_close(s);
	ath_buf_dispose(&b);
}

static void test_update_and_versions(void)
{
	TEST_CASE("update of changed columns, version conflict, PendingRollbackError");
	/* s2 reads ed and ends its transaction keeping the values (SQLite would otherwise hold its
	 * read lock, and s1's commit would wait for it) */
	ath_session_options so = ATH_SESSION_OPTIONS_INIT;
	so.flags = ATH_SESSION_NO_EXPIRE_ON_COMMIT;
	ath_session *s1 = session(), *s2 = NULL;
	if (ath_session_create(&s2, eng, reg, &so) != ATH_OK)
		fail_now("session");
	ath_obj *u1[2], *u2[2];
	CHECK_INT(1, query(s2, USERS_BY_NAME, "[\"ed\"]", u2, 2, 0));
	CHECK(ath_session_commit(s2) == ATH_OK);
	CHECK_INT(1, query(s1, USERS_BY_NAME, "[\"ed\"]", u1, 2, 0));
	int64_t v0 = get_int(u1[0], "version");
	CHECK(set(u1[0], "fullname", "\"Edward Jones\"") == ATH_OK);
	CHECK(ath_obj_is_modified(u1[0]));
	char *h = NULL;
	ath_buf hb = ATH_BUF_INIT;
	CHECK(ath_obj_history(&hb, u1[0], "fullname") == ATH_OK);
	h = as_json(hb.ptr, hb.size);
	CHECK_STR("{\"added\":[\"Edward Jones\"],\"unchanged\":[],\"deleted\":[\"Ed Jones\"]}", h);
	free(h);
	ath_buf_dispose(&hb);
	SQL_COUNT(1, CHECK(ath_session_flush(s1) == ATH_OK));
	CHECK_CONTAINS(last_sql[0], "UPDATE users SET fullname=");
	CHECK(!strstr(last_sql[0], "SET name=") && !strstr(last_sql[0], ", name="));
	CHECK_INT(v0 + 1, get_int(u1[0], "version"));
	CHECK_INT(2, get_int(u1[0], "name_len")); /* column_property: length(users.name), loaded with the row */
	CHECK(set(u1[0], "name_len", "3") == ATH_EINVALID);
	CHECK_CONTAINS(ath_error_last()->message, "User.name_len is a column_property expression: it is read-only");
	CHECK(ath_session_commit(s1) == ATH_OK);
	/* s2 still has the old version: its UPDATE matches no row */
	CHECK(set(u2[0], "fullname", "\"Eddie\"") == ATH_OK);
	CHECK(ath_session_flush(s2) != ATH_OK);
	CHECK_STR("StaleDataError", ath_error_class_name(ath_error_last()->klass));
	CHECK_CONTAINS(ath_error_last()->message, "expected to update 1 row(s); 0 were matched");
	/* the session refuses work until rollback() */
	ath_obj *tmp[2];
	CHECK_INT((size_t)-1, query(s2, USERS_BY_NAME, "[\"ed\"]", tmp, 2, 0));
	CHECK_STR("PendingRollbackError", ath_error_class_name(ath_error_last()->klass));
	CHECK(ath_session_rollback(s2) == ATH_OK);
	/* rollback expired the object: it reads the committed row again */
	CHECK_GET("\"Edward Jones\"", u2[0], "fullname");
	CHECK(!ath_obj_is_modified(u2[0]));
	free_objs(u1, 1);
	free_objs(u2, 1);
	ath_session_close(s1);
	ath_session_close(s2);
}

static void test_rollback(void)
{
	TEST_CASE("rollback restores state");
	ath_session *s = session();
	ath_obj *u[2];
	CHECK_INT(1, query(s, USERS_BY_NAME, "[\"ed\"]", u, 2, 0));
	CHECK(set(u[0], "name", "\"Edwardo\"") == ATH_OK);
	ath_obj *fake = make("User", "{\"name\": \"fakeuser\", \"fullname\": \"Invalid\"}");
	CHECK(ath_session_add(s, fake) == ATH_OK);
	ath_obj *f2[2];
	CHECK_INT(1, query(s, USERS_BY_NAME, "[\"fakeuser\"]", f2, 2, 0)); /* autoflushed */
	free_objs(f2, 1);
	CHECK_INT(ATH_OBJ_PERSISTENT, ath_obj_status_of(fake));
	CHECK(ath_session_rollback(s) == ATH_OK);
	CHECK_GET("\"ed\"", u[0], "name");
	CHECK_INT(ATH_OBJ_TRANSIENT, ath_obj_status_of(fake)); /* expunged */
	CHECK_GET("\"fakeuser\"", fake, "name");             /* with its values */
	CHECK_INT(0, query(s, USERS_BY_NAME, "[\"fakeuser\"]", f2, 2, 0));
	ath_obj_free(fake);
	free_objs(u, 1);
	ath_session_close(s);
}

static void test_cascades(void)
{
	TEST_CASE("delete-orphan and delete cascade");
	ath_session *s = session();
	ath_obj *u[2];
	CHECK_INT(1, query(s, USERS_BY_NAME, "[\"ed\"]", u, 2, 0));
	ath_obj *addr = NULL;
	CHECK(ath_obj_related(&addr, u[0], "addresses", 1) == ATH_OK); /* ed@yahoo.com */
	CHECK(ath_obj_unlink(u[0], "addresses", addr) == ATH_OK);
	CHECK(ath_session_flush(s) == ATH_OK);
	CHECK_INT(ATH_OBJ_DELETED, ath_obj_status_of(addr)); /* an orphan: deleted */
	CHECK_CONTAINS(last_sql[0], "DELETE FROM addresses");
	CHECK(ath_session_commit(s) == ATH_OK);
	CHECK_DB("[[1]]", "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"addresses\"]]}");
	CHECK_INT(ATH_OBJ_TRANSIENT, ath_obj_status_of(addr) == ATH_OBJ_DETACHED ? ATH_OBJ_TRANSIENT : -1);
	ath_obj_free(addr);
	/* deleting the user deletes its keyword rows, then its remaining address (children before parents) */
	CHECK(ath_session_delete(s, u[0]) == ATH_OK);
	SQL_COUNT(3, CHECK(ath_session_commit(s) == ATH_OK));
	CHECK_CONTAINS(last_sql[2], "DELETE FROM user_keywords");
	CHECK_CONTAINS(last_sql[1], "DELETE FROM addresses");
	CHECK_CONTAINS(last_sql[0], "DELETE FROM users");
	CHECK_INT(ATH_OBJ_DETACHED, ath_obj_status_of(u[0]));
	CHECK_DB("[[0]]", "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"addresses\"]]}");
	free_objs(u, 1);
	ath_session_close(s);
}

static void test_self_referential(void)
{
	TEST_CASE("self-referential rows: insert in waves, selectin by level, delete children first");
	ath_session *s = session();
	ath_obj *root = make("Node", "{\"name\": \"root\"}");
	ath_obj *c1 = make("Node", "{\"name\": \"child1\"}"), *c2 = make("Node", "{\"name\": \"child2\"}");
	ath_obj *gc = make("Node", "{\"name\": \"subchild1\"}");
	link_to(gc, "parent", c1); /* the many-to-one side; the collection follows */
	link_to(root, "children", c1);
	link_to(root, "children", c2);
	CHECK(ath_session_add(s, root) == ATH_OK);
	CHECK_INT(4, ath_session_count(s));
	SQL_COUNT(3, CHECK(ath_session_commit(s) == ATH_OK)); /* one INSERT per level */
	int64_t rid = get_int(root, "id");
	CHECK_INT(rid, get_int(c1, "parent_id"));
	CHECK_INT(get_int(c1, "id"), get_int(gc, "parent_id"));
	CHECK_GET("null", root, "parent_id");
	ath_obj_free(c1);
	ath_obj_free(c2);
	ath_obj_free(gc);
	ath_obj_free(root);
	ath_session_close(s);
	/* lazy="selectin" on children: loading the root loads every level with one SELECT each */
	s = session();
	ath_obj *r[2];
	int before = nsql;
	CHECK_INT(1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Node\"]], \"where\": [\"is\", [\"attr\", \"Node\", \"parent_id\"], [\"null\"]]}",
			   NULL, r, 2, 0));
	CHECK_INT(4, nsql - before); /* root, children, grandchildren, (none below) */
	size_t n = 0;
	SQL_COUNT(0, CHECK(ath_obj_related_count(&n, r[0], "children") == ATH_OK && n == 2));
	/* aliased entities: the children of "root" through a self-join, and (child, parent) rows */
	ath_obj *kids[4];
	CHECK_INT(2, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Node\"]], \"from\": [[\"join\", [\"entity\", \"Node\"], "
			      "[\"rel\", \"Node\", \"parent\", \"p\"], null]], \"where\": [\"=\", [\"attr\", [\"aliased\", \"Node\", \"p\"], \"name\"], "
			      "[\"bind\", 0]], \"order_by\": [[\"attr\", \"Node\", \"name\"]]}", "[\"root\"]", kids, 4, 0));
	CHECK_CONTAINS(last_sql[0], " JOIN nodes AS p ON nodes.parent_id = p.id WHERE p.name = "); /* INNER JOIN on MySQL */
	CHECK_GET("\"child1\"", kids[0], "name");
	free_objs(kids, 2);
	ath_buf sh = mp("{\"k\": \"select\", \"columns\": [[\"entity\", \"Node\"], [\"aliased\", \"Node\", \"p\"]], "
			"\"from\": [[\"join\", [\"entity\", \"Node\"], [\"rel\", \"Node\", \"parent\", \"p\"], null]], "
			"\"where\": [\"=\", [\"attr\", \"Node\", \"name\"], [\"lit\", \"subchild1\"]]}"), pair = ATH_BUF_INIT;
	CHECK(ath_session_execute(&pair, s, sh.ptr, sh.size, NULL, 0, ATH_ROWS_ONE) == ATH_OK);
	char *pj = as_json(pair.ptr, pair.size);
	CHECK_CONTAINS(pj, "[[{\"$ext\":1,"); /* a row of two object references */
	CHECK(strstr(pj, "},{\"$ext\":1,") != NULL);
	free(pj);
	ath_buf_dispose(&pair);
	mp_free(&sh);
	CHECK_INT((size_t)-1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Node\"]], \"from\": [[\"join\", [\"entity\", \"Node\"], "
				       "[\"rel\", \"Node\", \"parent\"], null]]}", NULL, kids, 4, 0));
	CHECK_CONTAINS(ath_error_last()->message, "needs an alias for one side");
	CHECK(ath_session_delete(s, r[0]) == ATH_OK); /* cascade all: the whole tree */
	CHECK_INT(ATH_OK, ath_session_commit(s));
	CHECK_DB("[[0]]", "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"nodes\"]]}");
	free_objs(r, 1);
	ath_session_close(s);
}

static void test_many_to_many(void)
{
	TEST_CASE("many-to-many through a secondary table");
	ath_session *s = session();
	ath_obj *u = make("User", "{\"name\": \"jack\"}");
	ath_obj *k1 = make("Keyword", "{\"word\": \"firstpost\"}"), *k2 = make("Keyword", "{\"word\": \"secondpost\"}");
	link_to(u, "keywords", k1);
	link_to(u, "keywords", k2);
	CHECK(ath_session_add(s, u) == ATH_OK);
	CHECK(ath_session_commit(s) == ATH_OK);
	CHECK_DB("[[2]]", "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"user_keywords\"]]}");
	size_t n = 0;
	SQL_COUNT(2, CHECK(ath_obj_related_count(&n, u, "keywords") == ATH_OK && n == 2)); /* u reloads, then keywords */
	CHECK(ath_obj_unlink(u, "keywords", k1) == ATH_OK);
	CHECK(ath_session_commit(s) == ATH_OK);
	CHECK_DB("[[1]]", "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"user_keywords\"]]}");
	/* lazy="raise" on Keyword.users */
	CHECK(ath_obj_related_count(&n, k2, "users") != ATH_OK);
	CHECK_CONTAINS(ath_error_last()->message, "'Keyword.users' is not available due to lazy='raise'");
	/* a join along the relationship and selectinload */
	ath_obj *found[4];
	CHECK_INT(1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"from\": [[\"join\", [\"entity\", \"User\"], "
			      "[\"rel\", \"User\", \"keywords\"], null]], \"where\": [\"=\", [\"attr\", \"Keyword\", \"word\"], [\"bind\", 0]]}",
			   "[\"secondpost\"]", found, 4, 0));
	CHECK(found[0] == u);
	free_objs(found, 1);
	ath_obj_free(u);
	ath_obj_free(k1);
	ath_obj_free(k2);
	ath_session_close(s);
}

static void test_selectin_and_weak_map(void)
{
	TEST_CASE("selectinload in batches of 500; clean objects released when dropped");
	ath_session *s = session();
	enum { N = 1200 };
	for (int i = 0; i < N; i++) {
		char json[128];
		snprintf(json, sizeof json, "{\"name\": \"u%04d\"}", i);
		ath_obj *u = make("User", json);
		snprintf(json, sizeof json, "{\"email\": \"u%04d@example.com\"}", i);
		ath_obj *a = make("Address", json);
		link_to(u, "addresses", a);
		CHECK_INT(ATH_OK, ath_session_add(s, u));
		ath_obj_free(u);
		ath_obj_free(a);
	}
	CHECK_INT(2 * N, ath_session_count(s)); /* pending: held by the session */
	/* one executemany per table, sent as INSERT ... VALUES batches of 1000 rows with RETURNING */
	SQL_COUNT(4, CHECK(ath_session_commit(s) == ATH_OK));
	CHECK_INT(0, ath_session_count(s)); /* committed and unreferenced: released */
	static ath_obj *objs[N];
	const char *q = "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"like\", [\"attr\", \"User\", \"name\"], [\"bind\", 0]], "
			"\"options\": [[\"selectinload\", [\"User\", \"addresses\"]]]}";
	int before = nsql;
	CHECK_INT(N, query(s, q, "[\"u%\"]", objs, N, 0));
	CHECK_INT(1 + 3, nsql - before); /* 1200 parents: IN batches of 500, 500, 200 */
	size_t n = 0, total = 0;
	before = nsql;
	for (int i = 0; i < N; i++)
		if (ath_obj_related_count(&n, objs[i], "addresses") == ATH_OK)
			total += n;
	CHECK_INT(0, nsql - before);
	CHECK_INT(N, total);
	CHECK(ath_session_count(s) >= 2 * N);
	free_objs(objs, N);
	ath_obj *none[1];
	query(s, USERS_BY_NAME, "[\"nobody\"]", none, 1, 0); /* drops the previous result's pins */
	CHECK_INT(0, ath_session_count(s));
	ath_session_close(s);
}

static void test_loader_options(void)
{
	TEST_CASE("joinedload, lazyload, noload, load_only / defer / undefer");
	ath_session *s = session();
	/* two users with two addresses each, one without */
	for (int i = 0; i < 3; i++) {
		char json[96];
		snprintf(json, sizeof json, "{\"name\": \"opt%d\", \"fullname\": \"Option %d\"}", i, i);
		ath_obj *u = make("User", json);
		for (int k = 0; i < 2 && k < 2; k++) {
			snprintf(json, sizeof json, "{\"email\": \"opt%d-%d@x\"}", i, k);
			ath_obj *a = make("Address", json);
			link_to(u, "addresses", a);
			ath_obj_free(a);
		}
		CHECK_INT(ATH_OK, ath_session_add(s, u));
		ath_obj_free(u);
	}
	CHECK(ath_session_commit(s) == ATH_OK);
#define opt_users "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], " \
		  "\"where\": [\"like\", [\"attr\", \"User\", \"name\"], [\"lit\", \"opt%%\"]], " \
		  "\"order_by\": [[\"attr\", \"User\", \"name\"]], \"options\": [%s]}"
	char q[1024];
	ath_obj *u[8];
	size_t n, total = 0;
	/* joinedload: one statement, LEFT OUTER JOIN, each user once */
	snprintf(q, sizeof q, opt_users, "[\"joinedload\", [\"User\", \"addresses\"]]");
	SQL_COUNT(1, CHECK_INT(3, query(s, q, NULL, u, 8, 0)));
	CHECK_CONTAINS(last_sql[0], "LEFT OUTER JOIN addresses AS addresses_1 ON users.id = addresses_1.user_id");
	SQL_COUNT(0, for (int i = 0; i < 3; i++) if (ath_obj_related_count(&n, u[i], "addresses") == ATH_OK) total += n);
	CHECK_INT(4, total);
	free_objs(u, 3);
	/* contains_eager: the statement's own join fills the collection (here with the filtered rows only) */
	CHECK(ath_session_commit(s) == ATH_OK);
	SQL_COUNT(1, CHECK_INT(1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"from\": [[\"join\", [\"entity\", \"User\"], "
					  "[\"rel\", \"User\", \"addresses\"], null]], \"where\": [\"=\", [\"attr\", \"Address\", \"email\"], [\"lit\", \"opt0-1@x\"]], "
					  "\"options\": [[\"contains_eager\", [\"User\", \"addresses\"]]]}", NULL, u, 8, 0)));
	SQL_COUNT(0, CHECK(ath_obj_related_count(&n, u[0], "addresses") == ATH_OK && n == 1));
	free_objs(u, 1);
	CHECK(ath_session_commit(s) == ATH_OK);
	/* joinedload through the secondary table of a many-to-many */
	snprintf(q, sizeof q, opt_users, "[\"joinedload\", [\"User\", \"keywords\"]]");
	SQL_COUNT(1, CHECK_INT(3, query(s, q, NULL, u, 8, 0)));
	CHECK_CONTAINS(last_sql[0], "LEFT OUTER JOIN user_keywords AS user_keywords_1");
	SQL_COUNT(0, CHECK(ath_obj_related_count(&n, u[0], "keywords") == ATH_OK && n == 0));
	free_objs(u, 3);
	CHECK(ath_session_commit(s) == ATH_OK); /* expire everything */
	/* noload: empty, no SQL, even later */
	snprintf(q, sizeof q, opt_users, "[\"noload\", [\"User\", \"addresses\"]]");
	SQL_COUNT(1, CHECK_INT(3, query(s, q, NULL, u, 8, 0)));
	SQL_COUNT(0, CHECK(ath_obj_related_count(&n, u[0], "addresses") == ATH_OK && n == 0));
	free_objs(u, 3);
	CHECK(ath_session_commit(s) == ATH_OK);
	/* load_only: the other columns load on first access, all at once */
	snprintf(q, sizeof q, opt_users, "[\"load_only\", \"User\", [\"name\"]]");
	SQL_COUNT(1, CHECK_INT(3, query(s, q, NULL, u, 8, 0)));
	CHECK(!strstr(last_sql[0], "fullname"));
	SQL_COUNT(0, CHECK_GET("\"opt0\"", u[0], "name"));
	SQL_COUNT(1, CHECK_GET("\"Option 0\"", u[0], "fullname"));
	free_objs(u, 3);
	CHECK(ath_session_commit(s) == ATH_OK);
	snprintf(q, sizeof q, opt_users, "[\"defer\", \"User\", \"fullname\"]");
	SQL_COUNT(1, CHECK_INT(3, query(s, q, NULL, u, 8, 0)));
	CHECK(!strstr(last_sql[0], "fullname"));
	free_objs(u, 3);
	/* lazyload overrides a configured lazy="selectin" (Node.children) */
	ath_obj *root = make("Node", "{\"name\": \"lazyroot\"}"), *kid = make("Node", "{\"name\": \"lazykid\"}");
	link_to(root, "children", kid);
	CHECK(ath_session_add(s, root) == ATH_OK);
	CHECK(ath_session_commit(s) == ATH_OK);
	ath_obj_free(kid);
	ath_obj_free(root);
	const char *nodes = "{\"k\": \"select\", \"columns\": [[\"entity\", \"Node\"]], \"where\": [\"is\", "
			    "[\"attr\", \"Node\", \"parent_id\"], [\"null\"]], \"options\": [[\"lazyload\", [\"Node\", \"children\"]]]}";
	SQL_COUNT(1, CHECK_INT(1, query(s, nodes, NULL, u, 8, 0)));
	/* the lazy load, then (as SQLAlchemy) the loaded children's own configured selectin load */
	SQL_COUNT(2, CHECK(ath_obj_related_count(&n, u[0], "children") == ATH_OK && n == 1));
	free_objs(u, 1);
	/* raiseload: the relationship raises on access instead of loading, here or everywhere ("*") */
	CHECK(ath_session_commit(s) == ATH_OK);
	snprintf(q, sizeof q, opt_users, "[\"raiseload\", [\"User\", \"addresses\"]]");
	CHECK_INT(3, query(s, q, NULL, u, 8, 0));
	SQL_COUNT(0, CHECK(ath_obj_related_count(&n, u[0], "addresses") != ATH_OK));
	CHECK_CONTAINS(ath_error_last()->message, "'User.addresses' is not available due to lazy='raise'");
	SQL_COUNT(1, CHECK(ath_obj_related_count(&n, u[0], "keywords") == ATH_OK)); /* others load as configured */
	free_objs(u, 3);
	CHECK(ath_session_commit(s) == ATH_OK);
	snprintf(q, sizeof q, opt_users, "[\"selectinload\", [\"User\", \"addresses\"]], [\"raiseload\", \"*\"]");
	CHECK_INT(3, query(s, q, NULL, u, 8, 0));
	SQL_COUNT(0, CHECK(ath_obj_related_count(&n, u[0], "addresses") == ATH_OK && n == 2)); /* loaded before */
	CHECK(ath_obj_related_count(&n, u[0], "keywords") != ATH_OK);
	free_objs(u, 3);
	/* unknown options are errors, never ignored */
	snprintf(q, sizeof q, opt_users, "[\"immediateload\", [\"User\", \"addresses\"]]");
	CHECK_INT((size_t)-1, query(s, q, NULL, u, 8, 0));
	CHECK_STR("NotSupportedError", ath_error_class_name(ath_error_last()->klass));
	CHECK_CONTAINS(ath_error_last()->message, "options[0]: unknown loader option 'immediateload'");
	/* subqueryload: the statement again, as a subquery the addresses join */
	snprintf(q, sizeof q, opt_users, "[\"subqueryload\", [\"User\", \"addresses\"]]");
	SQL_COUNT(2, CHECK_INT(3, query(s, q, NULL, u, 8, 0)));
	CHECK_CONTAINS(last_sql[0], "FROM (SELECT users.id AS users_id FROM users WHERE users.name LIKE 'opt%') AS anon_1 ");
	CHECK_CONTAINS(last_sql[0], "JOIN addresses ON anon_1.users_id = addresses.user_id ORDER BY anon_1.users_id, addresses.email");
	SQL_COUNT(0, CHECK(ath_obj_related_count(&n, u[0], "addresses") == ATH_OK && n == 2));
	free_objs(u, 3);
	snprintf(q, sizeof q, opt_users, "[\"selectinload\", [\"Keyword\", \"users\"]]");
	CHECK_INT((size_t)-1, query(s, q, NULL, u, 8, 0));
	CHECK_CONTAINS(ath_error_last()->message, "mapped class Keyword does not apply to any of the root entities");
	snprintf(q, sizeof q, opt_users, "[\"selectinload\", [\"User\", \"nope\"]]");
	CHECK_INT((size_t)-1, query(s, q, NULL, u, 8, 0));
	CHECK_CONTAINS(ath_error_last()->message, "User has no attribute 'nope'");
	ath_session_close(s);
#undef opt_users
}

static void test_session_api(void)
{
	TEST_CASE("begin_nested, merge, autoflush off, eager_defaults");
	ath_session *s = session();
	ath_obj *u1 = make("User", "{\"name\": \"nest1\"}");
	CHECK(ath_session_add(s, u1) == ATH_OK);
	CHECK(ath_session_begin_nested(s) == ATH_OK); /* flushes u1 first */
	CHECK_INT(ATH_OBJ_PERSISTENT, ath_obj_status_of(u1));
	ath_obj *u2 = make("User", "{\"name\": \"nest2\"}");
	CHECK(ath_session_add(s, u2) == ATH_OK);
	CHECK(ath_session_flush(s) == ATH_OK);
	CHECK_INT(ATH_OBJ_PERSISTENT, ath_obj_status_of(u2));
	CHECK(ath_session_rollback_nested(s) == ATH_OK);
	CHECK_INT(ATH_OBJ_TRANSIENT, ath_obj_status_of(u2)); /* inserted inside the savepoint */
	CHECK_INT(ATH_OBJ_PERSISTENT, ath_obj_status_of(u1));
	/* a failed flush inside a savepoint loses only the savepoint */
	CHECK(ath_session_begin_nested(s) == ATH_OK);
	CHECK(set(u1, "name", "null") == ATH_OK);
	CHECK(ath_session_flush(s) != ATH_OK);
	CHECK_STR("IntegrityError", ath_error_class_name(ath_error_last()->klass));
	CHECK(ath_session_flush(s) == ATH_EMISUSE); /* PendingRollbackError */
	CHECK(ath_session_rollback_nested(s) == ATH_OK);
	CHECK_GET("\"nest1\"", u1, "name"); /* expired, read again: the outer transaction's value */
	CHECK(ath_session_begin_nested(s) == ATH_OK);
	CHECK(set(u1, "fullname", "\"Nested One\"") == ATH_OK);
	CHECK(ath_session_commit_nested(s) == ATH_OK);
	CHECK(ath_session_commit(s) == ATH_OK);
	CHECK_DB("[[\"nest1\",\"Nested One\"]]", "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"], [\"col\", \"users\", \"fullname\"]], "
						  "\"where\": [\"like\", [\"col\", \"users\", \"name\"], [\"lit\", \"nest%\"]]}");
	ath_obj_free(u2);
	/* merge: a detached object's changes onto this session's copy */
	int64_t id = get_int(u1, "id");
	ath_session_close(s); /* u1 is detached now */
	CHECK(set(u1, "fullname", "\"Merged\"") == ATH_OK);
	s = session();
	ath_obj *m = NULL;
	SQL_COUNT(1, CHECK(ath_session_merge(&m, s, u1, 0) == ATH_OK)); /* loads the row by key */
	CHECK(m && m != u1);
	CHECK_INT(ATH_OBJ_DETACHED, ath_obj_status_of(u1));
	CHECK_INT(ATH_OBJ_PERSISTENT, ath_obj_status_of(m));
	CHECK_INT(id, get_int(m, "id"));
	CHECK(ath_obj_is_modified(m));
	ath_obj *again = NULL;
	SQL_COUNT(0, CHECK(ath_session_merge(&again, s, u1, 0) == ATH_OK && again == m)); /* identity map */
	ath_obj_free(again);
	SQL_COUNT(1, CHECK(ath_session_flush(s) == ATH_OK));
	CHECK_CONTAINS(last_sql[0], "UPDATE users SET fullname=");
	CHECK(ath_session_merge(&again, s, m, ATH_MERGE_NO_LOAD) == ATH_OK && again == m); /* ours already: no-op */
	ath_obj_free(again);
	CHECK(ath_session_commit(s) == ATH_OK);
	ath_obj_free(m);
	ath_session_close(s);
	/* merge(load=False) of a clean detached object: no SQL, persistent in the new session */
	s = session();
	ath_obj *fresh = NULL;
	char key[32];
	snprintf(key, sizeof key, "[%lld]", (long long)id);
	ath_buf kb = mp("%s", key);
	CHECK(ath_session_get(&fresh, s, "User", kb.ptr, kb.size) == ATH_OK && fresh);
	mp_free(&kb);
	ath_session_close(s);
	s = session();
	SQL_COUNT(0, CHECK(ath_session_merge(&m, s, fresh, ATH_MERGE_NO_LOAD) == ATH_OK));
	CHECK_GET("\"Merged\"", m, "fullname");
	CHECK(!ath_obj_is_modified(m));
	ath_obj_free(m);
	ath_obj *dirty = make("User", "{\"name\": \"new\"}");
	CHECK(ath_session_merge(&m, s, dirty, ATH_MERGE_NO_LOAD) == ATH_EMISUSE);
	ath_obj_free(dirty);
	ath_obj_free(fresh);
	ath_obj_free(u1);
	/* autoflush off: a pending object is not flushed by a query */
	ath_obj *p = make("User", "{\"name\": \"noflush\"}");
	CHECK(ath_session_add(s, p) == ATH_OK);
	CHECK_INT(1, ath_session_set_autoflush(s, 0));
	ath_obj *f[2];
	CHECK_INT(0, query(s, USERS_BY_NAME, "[\"noflush\"]", f, 2, 0));
	CHECK_INT(0, ath_session_set_autoflush(s, 1));
	CHECK_INT(1, query(s, USERS_BY_NAME, "[\"noflush\"]", f, 2, 0));
	free_objs(f, 1);
	ath_obj_free(p);
	/* a per-class bind: Event rows go to another engine (a SQLite file, whatever the session's is) */
	ath_session *sb = session();
	ath_engine *other = NULL;
	char bind_file[64], bind_url[96]; /* one per backend: the three runs share a directory, in parallel */
	snprintf(bind_file, sizeof bind_file, "orm_bind_%s.db", B->name);
	snprintf(bind_url, sizeof bind_url, "sqlite:///%s", bind_file);
	unlink(bind_file);
	ath_engine_options bo = ATH_ENGINE_OPTIONS_INIT;
	bo.metadata = ath_registry_metadata(reg);
	CHECK(ath_engine_create(&other, bind_url, &bo) == ATH_OK);
	CHECK(ath_engine_create_all(other, ath_registry_metadata(reg), 0) == ATH_OK);
	CHECK(ath_session_bind(sb, "Event", other) == ATH_OK);
	ath_obj *bev = make("Event", "{\"name\": \"elsewhere\"}");
	CHECK(ath_session_add(sb, bev) == ATH_OK);
	CHECK(ath_session_commit(sb) == ATH_OK);
	ath_obj *evs[2];
	CHECK_INT(1, query(sb, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Event\"]], \"where\": [\"=\", [\"attr\", \"Event\", \"name\"], [\"lit\", \"elsewhere\"]]}", NULL, evs, 2, 0));
	free_objs(evs, 1);
	CHECK_DB("[[0]]", "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"events\"]], \"where\": "
			  "[\"=\", [\"col\", \"events\", \"name\"], [\"lit\", \"elsewhere\"]]}"); /* not in the session's database */
	CHECK_INT(ATH_EINVALID, ath_session_bind(sb, "Nope", other));
	ath_obj_free(bev);
	ath_session_close(sb);
	ath_engine_free(other);
	/* eager_defaults: the server default is read by the flush, not on first access */
	ath_obj *ev = make("Event", "{\"name\": \"launch\"}");
	CHECK(ath_session_add(s, ev) == ATH_OK);
	SQL_COUNT(2, CHECK(ath_session_flush(s) == ATH_OK)); /* INSERT, then the SELECT of the defaults */
	SQL_COUNT(0, CHECK_GET("\"fresh\"", ev, "status"));
	ath_obj_free(ev);
	CHECK(ath_session_commit(s) == ATH_OK);
	ath_session_close(s);
}

static void test_relationship_criteria(void)
{
	TEST_CASE("relationship comparisons: any, has, contains, == object, is null");
	ath_session *s = session();
	ath_obj *u[8], *a[8], *k[4];
	/* opt0 and opt1 have addresses opt0-0@x ...; opt2 has none (test_loader_options) */
	const char *any = "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"any\", [\"rel\", \"User\", \"addresses\"], "
			  "[\"like\", [\"attr\", \"Address\", \"email\"], [\"bind\", 0]]]}";
	CHECK_INT(1, query(s, any, "[\"opt1-%\"]", u, 8, 0));
	CHECK_CONTAINS(last_sql[0], "EXISTS (SELECT 1 FROM addresses WHERE users.id = addresses.user_id AND addresses.email LIKE");
	CHECK_GET("\"opt1\"", u[0], "name");
	const char *has = "{\"k\": \"select\", \"columns\": [[\"entity\", \"Address\"]], \"where\": [\"has\", [\"rel\", \"Address\", \"user\"], "
			  "[\"=\", [\"attr\", \"User\", \"name\"], [\"bind\", 0]]], \"order_by\": [[\"attr\", \"Address\", \"email\"]]}";
	CHECK_INT(2, query(s, has, "[\"opt1\"]", a, 8, 0));
	free_objs(a, 2);
	const char *eq = "{\"k\": \"select\", \"columns\": [[\"entity\", \"Address\"]], \"where\": [\"=\", [\"rel\", \"Address\", \"user\"], [\"bind\", 0]]}";
	CHECK_INT(2, query_obj(s, eq, u[0], a, 8));
	CHECK_CONTAINS(last_sql[0], "WHERE addresses.user_id = ");
	ath_obj *back = NULL;
	SQL_COUNT(0, CHECK(ath_obj_related(&back, a[0], "user", 0) == ATH_OK && back == u[0]));
	ath_obj_free(back);
	const char *ne = "{\"k\": \"select\", \"columns\": [[\"entity\", \"Address\"]], \"where\": [\"and\", [\"!=\", [\"rel\", \"Address\", \"user\"], [\"bind\", 0]], "
			 "[\"like\", [\"attr\", \"Address\", \"email\"], [\"lit\", \"opt%\"]]]}";
	CHECK_INT(2, query_obj(s, ne, u[0], k, 4)); /* opt0's two */
	free_objs(k, 2);
	const char *contains = "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"contains\", [\"rel\", \"User\", \"addresses\"], [\"bind\", 0]]}";
	ath_obj *found[2];
	CHECK_INT(1, query_obj(s, contains, a[1], found, 2));
	CHECK(found[0] == u[0]);
	free_objs(found, 1);
	free_objs(a, 2);
	const char *empty = "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"and\", [\"is\", [\"rel\", \"User\", \"addresses\"], [\"null\"]], "
			    "[\"like\", [\"attr\", \"User\", \"name\"], [\"lit\", \"opt%\"]]]}";
	CHECK_INT(1, query(s, empty, NULL, k, 4, 0));
	CHECK_GET("\"opt2\"", k[0], "name");
	free_objs(k, 1);
	/* the wrong class of object, and a comparison that does not apply, are errors */
	CHECK_INT((size_t)-1, query_obj(s, contains, u[0], k, 4)); /* a User where an Address belongs */
	CHECK_CONTAINS(ath_error_last()->message, "parameter 0 must be a reference to a Address object of this session");
	const char *wrong = "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"has\", [\"rel\", \"User\", \"addresses\"]]}";
	CHECK_INT((size_t)-1, query(s, wrong, NULL, k, 4, 0));
	CHECK_CONTAINS(ath_error_last()->message, "User.addresses: use any for a collection");
	free_objs(u, 1);
	ath_session_close(s);
}

static int exec_json(ath_session *s, const char *shape, const char *params)
{
	ath_buf sh = mp("%s", shape), p = params ? mp("%s", params) : (ath_buf)ATH_BUF_INIT, out = ATH_BUF_INIT;
	int rc = ath_session_execute(&out, s, sh.ptr, sh.size, p.ptr, p.size, 0);
	mp_free(&sh);
	mp_free(&p);
	ath_buf_dispose(&out);
	return rc;
}

static void test_orm_dml(void)
{
	TEST_CASE("ORM bulk INSERT / UPDATE by key, UPDATE / DELETE with synchronize_session");
	ath_session *s = session();
	/* bulk INSERT: rows grouped by the attributes they give (two statements here) */
	SQL_COUNT(2, CHECK_INT(ATH_OK, exec_json(s, "{\"k\": \"insert\", \"table\": [\"entity\", \"User\"]}",
						 "[{\"name\": \"b1\", \"version\": 1}, {\"name\": \"b2\", \"version\": 1}, "
						 "{\"name\": \"b3\", \"fullname\": \"B Three\", \"version\": 1}]")));
	CHECK_INT(3, ath_session_rowcount(s));
	ath_obj *u[4];
	CHECK_INT(3, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"like\", [\"attr\", \"User\", \"name\"], "
			      "[\"lit\", \"b_\"]], \"order_by\": [[\"attr\", \"User\", \"name\"]]}", NULL, u, 4, 0));
	CHECK_GET("null", u[0], "fullname");
	/* bulk UPDATE by primary key: the identity map's object is expired and reads the new value */
	char rows[128];
	snprintf(rows, sizeof rows, "[{\"id\": %lld, \"fullname\": \"B One\"}]", (long long)get_int(u[0], "id"));
	CHECK_INT(ATH_OK, exec_json(s, "{\"k\": \"update\", \"table\": [\"entity\", \"User\"]}", rows));
	CHECK_INT(1, ath_session_rowcount(s));
	SQL_COUNT(1, CHECK_GET("\"B One\"", u[0], "fullname"));
	CHECK_INT(ATH_EINVALID, exec_json(s, "{\"k\": \"update\", \"table\": [\"entity\", \"User\"]}", "[{\"fullname\": \"no key\"}]"));
	CHECK_CONTAINS(ath_error_last()->message, "needs User.id in every row");
	/* UPDATE with criteria, synchronize_session "auto": matched objects are expired */
#define upd "{\"k\": \"update\", \"table\": [\"entity\", \"User\"], \"set\": [[\"fullname\", [\"bind\", 0]]], " \
	    "\"where\": [\"like\", [\"attr\", \"User\", \"name\"], [\"bind\", 1]]%s}"
	char q[512];
	snprintf(q, sizeof q, upd, "");
	SQL_COUNT(2, CHECK_INT(ATH_OK, exec_json(s, q, "[\"Bulk\", \"b%\"]"))); /* the matched keys, then the UPDATE */
	CHECK_INT(3, ath_session_rowcount(s));
	CHECK_GET("\"Bulk\"", u[1], "fullname");
	snprintf(q, sizeof q, upd, ", \"synchronize_session\": false");
	SQL_COUNT(1, CHECK_INT(ATH_OK, exec_json(s, q, "[\"Stale\", \"b%\"]")));
	CHECK_GET("\"Bulk\"", u[1], "fullname"); /* not synchronised: the session's value stays */
	snprintf(q, sizeof q, upd, ", \"synchronize_session\": \"evaluate\"");
	CHECK_INT(ATH_EINVALID, exec_json(s, q, "[\"x\", \"b%\"]")); /* LIKE is not judged in memory */
	CHECK_CONTAINS(ath_error_last()->message, "Could not evaluate current criteria in Python");
	/* an evaluable WHERE: no SELECT, the matched object gets the value in memory */
	const char *upd_eq = "{\"k\": \"update\", \"table\": [\"entity\", \"User\"], \"set\": [[\"fullname\", [\"bind\", 0]]], "
			     "\"where\": [\"and\", [\"=\", [\"attr\", \"User\", \"name\"], [\"bind\", 1]], [\"is_not\", [\"attr\", \"User\", \"id\"], [\"null\"]]]}";
	SQL_COUNT(1, CHECK_INT(ATH_OK, exec_json(s, upd_eq, "[\"Evaluated\", \"b2\"]")));
	CHECK_INT(1, ath_session_rowcount(s));
	SQL_COUNT(0, CHECK_GET("\"Evaluated\"", u[1], "fullname"));
	CHECK_GET("\"Stale\"", u[0], "fullname"); /* b1 did not match (it loads: the "auto" UPDATE above expired it) */
	/* DELETE with criteria: the matched object is deleted in the session too */
	CHECK_INT(ATH_OK, exec_json(s, "{\"k\": \"delete\", \"table\": [\"entity\", \"User\"], \"where\": [\"=\", [\"attr\", \"User\", \"name\"], [\"bind\", 0]], "
				       "\"synchronize_session\": \"fetch\"}", "[\"b3\"]"));
	CHECK_INT(1, ath_session_rowcount(s));
	CHECK_INT(ATH_OBJ_DELETED, ath_obj_status_of(u[2]));
	CHECK(ath_session_commit(s) == ATH_OK);
	CHECK_INT(ATH_OBJ_DETACHED, ath_obj_status_of(u[2]));
	CHECK_DB("[[\"b1\",\"Stale\"],[\"b2\",\"Evaluated\"]]", "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"], [\"col\", \"users\", \"fullname\"]], "
							   "\"where\": [\"like\", [\"col\", \"users\", \"name\"], [\"lit\", \"b_\"]], \"order_by\": [[\"col\", \"users\", \"name\"]]}");
	free_objs(u, 3);
	ath_session_close(s);
#undef upd
}

static void test_100k_released(void)
{
	TEST_CASE("100,000 loaded objects are released once the host drops them");
	ath_session *s = session();
	/* 100,000 on SQLite; 20,000 over the network to the servers, to keep the run short */
	const int N = strcmp(B->name, "sqlite") == 0 ? 100000 : 20000;
	enum { CHUNK = 10000 };
	size_t cap = (size_t)CHUNK * 40;
	char *rows = malloc(cap);
	for (int c = 0; c < N / CHUNK; c++) { /* ORM bulk INSERT, 10,000 rows a statement */
		size_t off = 0;
		rows[off++] = '[';
		for (int i = 0; i < CHUNK; i++)
			off += (size_t)snprintf(rows + off, cap - off, "%s{\"name\": \"k%06d\", \"version\": 1}", i ? ", " : "",
						c * CHUNK + i);
		rows[off++] = ']';
		rows[off] = 0;
		CHECK_INT(ATH_OK, exec_json(s, "{\"k\": \"insert\", \"table\": [\"entity\", \"User\"]}", rows));
	}
	free(rows);
	CHECK(ath_session_commit(s) == ATH_OK);
	ath_buf sh = mp("{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"like\", [\"attr\", \"User\", \"name\"], [\"lit\", \"k%%\"]]}");
	ath_buf out = ATH_BUF_INIT;
	CHECK(ath_session_execute(&out, s, sh.ptr, sh.size, NULL, 0, ATH_ROWS_SCALARS) == ATH_OK);
	CHECK_INT(N, ath_session_count(s)); /* held for the result's references */
	/* the host takes every object and drops it again */
	msgpack_zone z;
	msgpack_zone_init(&z, 4096);
	msgpack_object root;
	size_t off = 0, taken = 0;
	msgpack_unpack((const char *)out.ptr, out.size, &off, &z, &root);
	for (uint32_t i = 0; i < root.via.array.size; i++) {
		uint64_t id = 0;
		for (int k = 0; k < 8; k++)
			id = id << 8 | (unsigned char)root.via.array.ptr[i].via.ext.ptr[k];
		ath_obj *o = NULL;
		if (ath_session_object(&o, s, id) == ATH_OK) {
			taken++;
			ath_obj_free(o);
		}
	}
	msgpack_zone_destroy(&z);
	CHECK_INT(N, taken);
	/* letting go of the result's references releases them: nothing else holds the objects */
	ath_session_release_results(s);
	CHECK_INT(0, ath_session_count(s));
	/* (so does the next statement) */
	CHECK(ath_session_execute(&out, s, sh.ptr, sh.size, NULL, 0, ATH_ROWS_SCALARS | ATH_ROWS_FIRST) == ATH_OK);
	CHECK_INT(1, ath_session_count(s)); /* only the one the latest result refers to */
	ath_buf_dispose(&out);
	mp_free(&sh);
	CHECK_INT(ATH_OK, exec_json(s, "{\"k\": \"delete\", \"table\": [\"entity\", \"User\"], \"where\": [\"like\", [\"attr\", \"User\", \"name\"], [\"lit\", \"k%%\"]], "
				       "\"synchronize_session\": false}", NULL));
	CHECK_INT(N, ath_session_rowcount(s));
	CHECK(ath_session_commit(s) == ATH_OK);
	ath_session_close(s);
}

static void test_inheritance(void)
{
	TEST_CASE("single-table inheritance: discriminator, polymorphic loading, subclass queries");
	ath_session *s = session();
	ath_obj *co = make("Company", "{\"name\": \"Initech\"}");
	ath_obj *dilbert = make("Engineer", "{\"name\": \"dilbert\", \"engineer_info\": \"knows C\"}");
	ath_obj *mgr = make("Manager", "{\"name\": \"pointy\"}");
	ath_obj *emp = make("Employee", "{\"name\": \"wally\"}");
	CHECK_GET("\"engineer\"", dilbert, "type"); /* set at creation */
	link_to(co, "employees", dilbert);
	link_to(co, "employees", mgr);
	link_to(co, "employees", emp);
	CHECK(ath_session_add(s, co) == ATH_OK);
	CHECK(ath_session_commit(s) == ATH_OK);
	int64_t dilbert_id = get_int(dilbert, "id");
	ath_obj_free(co);
	ath_obj_free(dilbert);
	ath_obj_free(mgr);
	ath_obj_free(emp);
	ath_session_close(s);
	s = session();
	/* the base entity loads each row as its class */
	ath_obj *all[4];
	CHECK_INT(3, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Employee\"]], \"order_by\": [[\"attr\", \"Employee\", \"name\"]]}", NULL, all, 4, 0));
	CHECK_STR("Engineer", ath_obj_class(all[0]));
	CHECK_STR("Manager", ath_obj_class(all[1]));
	CHECK_STR("Employee", ath_obj_class(all[2]));
	/* a subclass entity adds the discriminator to the WHERE */
	ath_obj *engs[4];
	CHECK_INT(1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Engineer\"]]}", NULL, engs, 4, 0));
	CHECK_CONTAINS(last_sql[0], "WHERE employees.type IN ('engineer')");
	CHECK(engs[0] == all[0]); /* the identity map is the hierarchy's */
	CHECK_INT(0, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Manager\"]], \"where\": [\"=\", [\"attr\", \"Manager\", \"name\"], [\"lit\", \"dilbert\"]]}",
			   NULL, engs + 1, 3, 0));
	char key[32];
	snprintf(key, sizeof key, "[%lld]", (long long)dilbert_id);
	ath_buf kb = mp("%s", key);
	ath_obj *g = NULL;
	CHECK(ath_session_get(&g, s, "Manager", kb.ptr, kb.size) == ATH_OK && g == NULL); /* an Engineer is no Manager */
	SQL_COUNT(0, CHECK(ath_session_get(&g, s, "Employee", kb.ptr, kb.size) == ATH_OK && g == all[0]));
	ath_obj_free(g);
	mp_free(&kb);
	/* relationships to the base load polymorphically; the inherited many-to-one works on subclasses */
	ath_obj *c = NULL, *first = NULL;
	CHECK(ath_obj_related(&c, all[0], "company", 0) == ATH_OK);
	size_t n = 0;
	CHECK(c && ath_obj_related_count(&n, c, "employees") == ATH_OK && n == 3);
	CHECK(ath_obj_related(&first, c, "employees", 0) == ATH_OK && first == all[0]);
	ath_obj_free(first);
	/* a write-only collection: additions and removals are written, it is never loaded */
	ath_obj *asok = make("Engineer", "{\"name\": \"asok\"}");
	SQL_COUNT(0, CHECK(ath_obj_link(c, "staff", asok) == ATH_OK));
	CHECK_INT(ATH_OBJ_PENDING, ath_obj_status_of(asok)); /* save-update cascade */
	CHECK(ath_session_commit(s) == ATH_OK);
	CHECK_DB("[[\"asok\",\"Initech\"]]", "{\"k\": \"select\", \"columns\": [[\"col\", \"employees\", \"name\"], [\"col\", \"companies\", \"name\"]], "
						"\"from\": [[\"join\", [\"table\", \"employees\"], [\"table\", \"companies\"], [\"=\", [\"col\", \"employees\", \"company_id\"], "
						"[\"col\", \"companies\", \"id\"]]]], \"where\": [\"=\", [\"col\", \"employees\", \"name\"], [\"lit\", \"asok\"]]}");
	CHECK(ath_obj_related_count(&n, c, "staff") != ATH_OK);
	CHECK_CONTAINS(ath_error_last()->message, "'Company.staff' is a write-only collection");
	SQL_COUNT(1, CHECK(ath_obj_unlink(c, "staff", asok) == ATH_OK && ath_session_flush(s) == ATH_OK)); /* the UPDATE */
	CHECK_GET("null", asok, "company_id");
	ath_obj_free(asok);
	ath_obj_free(c);
	free_objs(all, 3);
	free_objs(engs, 1);
	ath_session_close(s);
	/* configure errors */
	const char *md = strstr(SPEC, "\"metadata\": ") + 12;
	size_t mdlen = strstr(SPEC, " \"classes\"") - md - 1;
	static const struct {
		const char *classes, *message;
	} cases[] = {
		{ "[{\"name\": \"E\", \"table\": \"employees\", \"polymorphic_on\": \"type\"}, {\"name\": \"X\", \"inherits\": \"E\"}]",
		  "X: a subclass in single-table inheritance needs a polymorphic_identity" },
		{ "[{\"name\": \"E\", \"table\": \"employees\", \"polymorphic_on\": \"type\"}, {\"name\": \"X\", \"inherits\": \"E\", \"table\": \"users\", "
		  "\"polymorphic_identity\": \"x\"}]", "X: can't find any foreign key relationships between 'employees' and 'users'" },
		{ "[{\"name\": \"E\", \"table\": \"employees\", \"polymorphic_on\": \"kind\"}]", "E: polymorphic_on names 'kind'" },
		{ "[{\"name\": \"X\", \"inherits\": \"Y\", \"polymorphic_identity\": 1}, {\"name\": \"Y\", \"inherits\": \"X\", \"polymorphic_identity\": 2}]",
		  "the classes' inherits form a cycle" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ath_buf spec = mp("{\"k\": \"registry\", \"metadata\": %.*s, \"classes\": %s}", (int)mdlen, md, cases[i].classes);
		ath_registry *r = NULL;
		CHECK(ath_registry_create(&r, spec.ptr, spec.size) != ATH_OK);
		CHECK_CONTAINS(ath_error_last()->message, cases[i].message);
		mp_free(&spec);
	}
}

static void test_custom_primaryjoin(void)
{
	TEST_CASE("a relationship with a custom primaryjoin (a filtered collection)");
	ath_session *s = session();
	ath_obj *u = make("User", "{\"name\": \"pj\"}");
	ath_obj *home = make("Address", "{\"email\": \"pj@home\"}"), *work = make("Address", "{\"email\": \"pj@work\"}");
	link_to(u, "addresses", home);
	link_to(u, "addresses", work);
	CHECK(ath_session_add(s, u) == ATH_OK);
	CHECK(ath_session_commit(s) == ATH_OK);
	size_t n = 0;
	SQL_COUNT(2, CHECK(ath_obj_related_count(&n, u, "work_addresses") == ATH_OK && n == 1)); /* u reloads, then the lazy load */
	CHECK_CONTAINS(last_sql[0], "addresses.email LIKE '%@work'");
	ath_obj *w = NULL;
	CHECK(ath_obj_related(&w, u, "work_addresses", 0) == ATH_OK && w == work);
	ath_obj_free(w);
	ath_obj *found[2];
#define q "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"=\", [\"attr\", \"User\", \"name\"], [\"lit\", \"pj\"]], " \
	  "\"options\": [[\"%s\", [\"User\", \"work_addresses\"]]]}"
	const char *loaders[] = { "selectinload", "joinedload" };
	for (int k = 0; k < 2; k++) {
		CHECK(ath_session_commit(s) == ATH_OK);
		char buf[512];
		snprintf(buf, sizeof buf, q, loaders[k]);
		SQL_COUNT(2 - k, CHECK_INT(1, query(s, buf, NULL, found, 2, 0)));
		SQL_COUNT(0, CHECK(ath_obj_related_count(&n, found[0], "work_addresses") == ATH_OK && n == 1));
		free_objs(found, 1);
	}
#undef q
	CHECK_INT(1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"any\", [\"rel\", \"User\", \"work_addresses\"]]}",
			   NULL, found, 2, 0));
	free_objs(found, 1);
	CHECK_INT(1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"from\": [[\"join\", [\"entity\", \"User\"], "
			      "[\"rel\", \"User\", \"work_addresses\"], null]]}", NULL, found, 2, 0));
	free_objs(found, 1);
	ath_obj_free(home);
	ath_obj_free(work);
	ath_obj_free(u);
	ath_session_close(s);
}

static void test_errors(void)
{
	TEST_CASE("errors");
	ath_session *s = session();
	ath_obj *o[2];
	CHECK_INT((size_t)-1, query(s, USERS_BY_NAME, "[\"nobody\"]", o, 2, ATH_ROWS_ONE));
	CHECK_STR("NoResultFound", ath_error_class_name(ath_error_last()->klass));
	CHECK_INT((size_t)-1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]]}", NULL, o, 2, ATH_ROWS_ONE_OR_NONE));
	CHECK_STR("MultipleResultsFound", ath_error_class_name(ath_error_last()->klass));
	CHECK_INT((size_t)-1, query(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Nope\"]]}", NULL, o, 2, 0));
	CHECK_CONTAINS(ath_error_last()->message, "class 'Nope' is not mapped");
	CHECK_INT((size_t)-1, query(s, "{\"k\": \"select\", \"columns\": [[\"attr\", \"User\", \"nope\"]]}", NULL, o, 2, 0));
	CHECK_CONTAINS(ath_error_last()->message, "User has no attribute 'nope'");
	/* detached: an expired attribute cannot load */
	CHECK_INT(1, query(s, USERS_BY_NAME, "[\"jack\"]", o, 2, 0));
	CHECK(ath_session_expire(s, o[0], NULL, 0) == ATH_OK);
	ath_session_close(s);
	CHECK_INT(ATH_OBJ_DETACHED, ath_obj_status_of(o[0]));
	CHECK_GET("DetachedInstanceError", o[0], "name");
	/* an integrity error in a flush: nothing half-applied, rollback makes the session usable */
	s = session();
	ath_obj *bad = make("Address", "{\"email\": \"x@y\"}");
	ath_obj *bad2 = make("User", "{\"name\": null, \"fullname\": \"no name\"}"); /* name is NOT NULL */
	CHECK(ath_session_add(s, bad) == ATH_OK && ath_session_add(s, bad2) == ATH_OK);
	CHECK(ath_session_commit(s) != ATH_OK);
	CHECK_STR("IntegrityError", ath_error_class_name(ath_error_last()->klass));
	CHECK(ath_session_rollback(s) == ATH_OK);
	CHECK_INT(ATH_OBJ_TRANSIENT, ath_obj_status_of(bad));
	CHECK_DB("[[0]]", "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"addresses\"]], "
			  "\"where\": [\"=\", [\"col\", \"addresses\", \"email\"], [\"lit\", \"x@y\"]]}");
	ath_obj_free(bad);
	ath_obj_free(bad2);
	ath_obj_free(o[0]);
	/* misuse */
	CHECK(ath_obj_set(NULL, "name", "\xa1x", 2) == ATH_EMISUSE);
	ath_obj *u = make("User", "{\"name\": \"z\"}");
	CHECK(ath_obj_set(u, "nope", "\xa1x", 2) == ATH_EINVALID);
	CHECK(ath_obj_set(u, "name", "\xa5x", 2) == ATH_EINVALID); /* truncated msgpack */
	CHECK(ath_obj_link(u, "addresses", u) == ATH_EINVALID);   /* wrong class */
	ath_obj_free(u);
	ath_session_close(s);
}

static void test_registry_errors(void)
{
	TEST_CASE("registry errors name the class and attribute");
	static const struct {
		const char *classes, *message;
	} cases[] = {
		{ "[{\"name\": \"User\", \"table\": \"nope\"}]", "User: table 'nope' is not in the metadata" },
		{ "[{\"name\": \"User\", \"table\": \"users\", \"properties\": {\"x\": {\"column\": \"nope\"}}}]",
		  "User.x: table 'users' has no column 'nope'" },
		{ "[{\"name\": \"User\", \"table\": \"users\", \"relationships\": {\"k\": {\"target\": \"Kw\"}}},"
		  " {\"name\": \"Kw\", \"table\": \"keywords\"}]",
		  "User.k: could not determine join condition between parent/child tables 'users' and 'keywords': there are no foreign keys" },
		{ "[{\"name\": \"User\", \"table\": \"users\", \"relationships\": {\"addresses\": {\"target\": \"Address\", \"back_populates\": \"owner\"}}},"
		  " {\"name\": \"Address\", \"table\": \"addresses\"}]",
		  "User.addresses: back_populates names 'owner', which Address does not have" },
		{ "[{\"name\": \"User\", \"table\": \"users\", \"relationships\": {\"a\": {\"target\": \"Nobody\"}}}]",
		  "User.a: target class 'Nobody' is not mapped" },
		{ "[{\"name\": \"K\", \"table\": \"user_keywords\"}, {\"name\": \"K\", \"table\": \"users\"}]", "class 'K' is mapped twice" },
	};
	const char *md = strstr(SPEC, "\"metadata\": ") + 12;
	size_t mdlen = strstr(SPEC, " \"classes\"") - md - 1;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ath_buf spec = mp("{\"k\": \"registry\", \"metadata\": %.*s, \"classes\": %s}", (int)mdlen, md, cases[i].classes);
		ath_registry *r = NULL;
		CHECK(ath_registry_create(&r, spec.ptr, spec.size) != ATH_OK && r == NULL);
		CHECK_CONTAINS(ath_error_last()->message, cases[i].message);
		mp_free(&spec);
	}
	ath_buf bad = mp("{\"k\": \"registry\", \"metadata\": %.*s, \"classes\": [{\"name\": 1}]}", (int)mdlen, md);
	ath_registry *r = NULL;
	CHECK(ath_registry_create(&r, bad.ptr, bad.size) == ATH_EINVALID);
	CHECK_CONTAINS(ath_error_last()->message, "$.classes[0].name");
	mp_free(&bad);
	CHECK(ath_registry_create(&r, "\xdf\xff\xff\xff\xff", 5) == ATH_EINVALID); /* lying map header */
	CHECK_INT(ATH_ENOTFOUND, ath_registry_class(reg, "Nope"));
	int cls = ath_registry_class(reg, "User");
	CHECK(cls >= 0);
	CHECK_INT(1, ath_registry_attr(reg, cls, "name"));
	CHECK_INT(4, ath_registry_attr(reg, cls, "name_len"));  /* the column_property after the 4 columns */
	CHECK_INT(5, ath_registry_attr(reg, cls, "addresses")); /* then the relationships */
}

int main(int argc, char **argv)
{
	int rc = ormtest_setup(argc, argv, "test_orm", SPEC, "orm.db");
	if (rc)
		return rc;
	test_registry_errors();
	test_add_and_identity();
	test_canonical_values();
	test_update_and_versions();
	test_rollback();
	test_cascades();
	test_self_referential();
	test_many_to_many();
	test_selectin_and_weak_map();
	test_loader_options();
	test_relationship_criteria();
	test_session_api();
	test_orm_dml();
	test_inheritance();
	test_custom_primaryjoin();
	test_100k_released();
	test_errors();
	return ormtest_finish();
}
