/* compiler.h — the generic SQL compiler: a dispatch over node kinds, with each dialect's hooks
 * (dialect->visit[kind] when set). Dialect code uses the helpers below to emit SQL. Mirrors
 * sqlalchemy.sql.compiler.SQLCompiler. */
#ifndef ATH_SQL_COMPILER_H
#define ATH_SQL_COMPILER_H

#include "dialects/dialect.h"
#include "sql/compiled.h"
#include "wire/ast.h"

struct ath_metadata;

/* Compile a statement tree for a dialect, against a metadata or none (md NULL: names only).
 * *out is owned (refcount 1) and holds a reference to `md`. */
int ath_sql__compile(ath_compiled **out, const ath_dialect *d, const struct ath_metadata *md, const ath_node *stmt,
		     ath_err *err);

/* helpers for dialect hooks */
int ath_compiler__expr(ath_compiler *c, const ath_node *n);
/* Emit `n`, parenthesised when its precedence does not bind tighter than `against` (SQLAlchemy's
 * self_group / is_precedent). */
int ath_compiler__grouped(ath_compiler *c, const ath_node *n, int against_prec, int against_op);
void ath_compiler__puts(ath_compiler *c, const char *s);
void ath_compiler__ident(ath_compiler *c, const char *name);
int ath_compiler__fail(ath_compiler *c, ath_error_class klass, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const ath_dialect *ath_compiler__dialect(const ath_compiler *c);
/* Emit the key or path operand (kids[1]) of a JSON access node: a bind gets `bind_flags`
 * (ATH_BIND_JSON_PATH / ATH_BIND_PG_PATH: the value is turned into a path when rendered); a
 * literal is rendered as the path text itself. */
int ath_compiler__json_key(ath_compiler *c, const ath_node *n, uint16_t bind_flags);
/* The generic visitor for a kind, for hooks that only adjust a case. */
int ath_compiler__visit_generic(ath_compiler *c, const ath_node *n);

/* For DDL (engine/schema): an identifier quoted by the dialect's rules (reserved word, case, odd
 * characters), as the compiler quotes it; a string literal escaped for the dialect. */
void ath_sql__quote(ath_strbuf *b, const ath_dialect *d, const char *name);
void ath_sql__string_literal(ath_strbuf *b, const ath_dialect *d, const char *s, size_t n);
/* An expression of a DDL construct (server default, CHECK, computed column, index item or
 * predicate) rendered with literal values inline and columns unqualified, as SQLAlchemy's DDL
 * compiler does (literal_binds, include_table=False). A bind parameter is a CompileError. */
int ath_sql__ddl_expr(ath_strbuf *out, const ath_dialect *d, const ath_node *e, ath_err *err);

#endif
