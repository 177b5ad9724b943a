-- fixtures.sql — the database every executable corpus case (tests/compiler/cases/*.json) runs
-- against: a fresh in-memory SQLite database gets these statements (one per line-ending ";"),
-- then a file's own "setup". Shared by test_corpus_exec.c and gen/exec_rows.py (which computes
-- the expected rows with Python's sqlite3 from SQLAlchemy's rendering). Columns carry no type
-- names that athanor's SQLite driver would convert, so rows compare as plain values.
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, fullname TEXT, email TEXT, nick TEXT, created TEXT, "order" INTEGER, "from" TEXT, "UserName" TEXT, a INTEGER, b INTEGER, n INTEGER, tags TEXT);
INSERT INTO users VALUES (1, 'alice', 'Alice Adams', 'alice@example.com', 'al', '2024-01-02 03:04:05', 3, 'here', 'Alice', 1, 2, 0, '["x", "y"]');
INSERT INTO users VALUES (2, 'bob', 'Bob Brown', 'bob@example.com', NULL, '2024-02-03 04:05:06', 1, 'there', 'Bob', 2, 3, 0, '[]');
INSERT INTO users VALUES (3, 'carol', NULL, 'carol@example.org', 'cc', '2023-12-31 23:59:59', 2, NULL, 'Carol', 3, 1, 0, '["z"]');
INSERT INTO users VALUES (4, NULL, 'Nameless', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL);
INSERT INTO users VALUES (5, 'O''Re\illy', 'Dan O''Reilly', 'dan@example.com', 'dan', '2024-05-06 07:08:09', 5, 'x', 'Dan', 5, 5, 0, '[1, 2]');
CREATE TABLE addresses (id INTEGER PRIMARY KEY, user_id INTEGER, email TEXT);
INSERT INTO addresses VALUES (1, 1, 'alice@example.com'), (2, 1, 'alice@work.example'), (3, 2, 'bob@example.com'), (4, 3, 'carol'), (5, 9, 'orphan@example.com');
CREATE TABLE orders (id INTEGER PRIMARY KEY, address_id INTEGER, total INTEGER);
INSERT INTO orders VALUES (1, 1, 100), (2, 1, 250), (3, 3, 75);
CREATE TABLE archive (id INTEGER, name TEXT);
INSERT INTO archive VALUES (100, 'archived');
CREATE TABLE old (id INTEGER);
INSERT INTO old VALUES (2), (7);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER, touched TEXT);
INSERT INTO accounts VALUES (1, 100, NULL), (2, -5, NULL);
CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT, manager_id INTEGER);
INSERT INTO employees VALUES (1, 'ceo', NULL), (2, 'cto', 1), (3, 'dev', 2), (4, 'ops', 2);
CREATE TABLE nodes (id INTEGER PRIMARY KEY, parent_id INTEGER);
INSERT INTO nodes VALUES (1, NULL), (2, 1), (3, 1), (4, 2), (5, 4), (6, NULL);
CREATE TABLE a (id INTEGER PRIMARY KEY, email TEXT, x INTEGER);
INSERT INTO a VALUES (1, 'a1@x', 10), (2, 'a2@x', 20), (3, NULL, 30);
CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER, y INTEGER);
INSERT INTO b VALUES (1, 1, 5), (2, 1, 6), (4, 9, 7);
CREATE TABLE c (b_id INTEGER, x INTEGER);
INSERT INTO c VALUES (1, 50), (4, 70);
CREATE TABLE "order" (id INTEGER PRIMARY KEY, "Total" INTEGER, "group" TEXT);
INSERT INTO "order" VALUES (1, 10, 'g1'), (2, 20, 'g2');
CREATE TABLE "Order Items" ("select" TEXT);
INSERT INTO "Order Items" VALUES ('first'), ('second');
CREATE TABLE "my table" ("my col" TEXT, "a""b" INTEGER);
INSERT INTO "my table" VALUES ('one', 1);
CREATE TABLE banned (email TEXT);
INSERT INTO banned VALUES ('bob@example.com');
CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, d, e, g TEXT, k TEXT, p INTEGER, x INTEGER, doc TEXT, flag INTEGER, suffix TEXT, arr TEXT, "rows" INTEGER, analyse INTEGER, "1st" INTEGER, "a$b" INTEGER, "a"" FROM x; --" INTEGER, "we""ird`name" INTEGER, a_column_name_that_is_far_longer_than_sixty_three_bytes_in_total_xx INTEGER);
INSERT INTO t VALUES (1, 1, 2, 3, '2024-03-04 05:06:07', 1, 'g1', 'name', 4, 10, '{"name": "ann", "a": [0, {"b": 5}], "k": "v"}', 1, '1', NULL, 7, 8, 9, 10, 11, 12, 13);
INSERT INTO t VALUES (2, 5, 2, 8, '2023-11-12 13:14:15', 2, 'g1', 'a', 2, 20, '{"name": "bo", "a": [1, {"b": 6}], "k": "w"}', 0, '5', NULL, 0, 0, 0, 0, 0, 0, 0);
INSERT INTO t VALUES (3, 'abc', 3, 1, '2022-01-01 00:00:00', 4, 'g2', 'b', 0, 30, '{"name": null, "a": []}', NULL, 'c', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO t VALUES (4, '50%_off/now', 1, 1, NULL, 2, 'g2', NULL, NULL, NULL, NULL, 1, 'now', NULL, 1, 1, 1, 1, 1, 1, 1);
INSERT INTO t VALUES (5, NULL, NULL, 2, '2024-02-29 12:00:00', 3, NULL, NULL, 1, 5, '{}', 0, NULL, NULL, 2, 2, 2, 2, 2, 2, 2);
ATTACH DATABASE ':memory:' AS app;
CREATE TABLE app.users (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO app.users VALUES (10, 'remote');
ATTACH DATABASE ':memory:' AS "Sales";
CREATE TABLE "Sales"."Users" ("Id" INTEGER PRIMARY KEY);
INSERT INTO "Sales"."Users" VALUES (7), (8);
