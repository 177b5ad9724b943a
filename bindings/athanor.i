/* athanor.i — the one SWIG interface over athanor's public C API, shared by every binding language.
 * It %includes the real public headers (nothing is re-declared), states ownership (T **out is an
 * owned handle returned to the host, ath_buf *out a byte buffer the wrapper disposes), turns
 * (data, len) pairs into host byte strings, and raises a host error with class, SQLSTATE and message
 * when a call returns a negative code (ATH_ITEROVER is "no more rows", not an error). The error is
 * read from ath_error_last() inside the wrapper, right after the call (STYLE.md section 11).
 * Language typemaps (how a handle, a byte string or an error looks in that language) live in
 * <lang>/<lang>.i, included below; generated wrappers live in the build tree and are never edited.
 * It does not wrap options structs field by field: each language passes them as its own map type. */

#if defined(SWIGLUA)
%module athanor_raw
#else
%module _athanor
#endif

%{
#include <athanor/athanor.h>

/* A call failed when it returned a negative code other than ATH_ITEROVER. */
static int ath_binding_failed(int rc)
{
	return rc < 0 && rc != ATH_ITEROVER;
}
%}

/* SWIG parses the public headers themselves; their ATH_EXTERN falls back to plain `extern type`
 * there (SWIG defines neither __GNUC__ nor _WIN32), so nothing needs defining here. */

/* The handles are opaque in C; to SWIG they are classes without constructors whose destructor is the
 * handle's one _free/_close, so a handle the host owns is released by its garbage collector. */
%nodefaultctor ath_engine;
%nodefaultctor ath_conn;
%nodefaultctor ath_txn;
%nodefaultctor ath_result;
%nodefaultctor ath_metadata;
struct ath_engine {};
struct ath_conn {};
struct ath_txn {};
struct ath_result {};
struct ath_metadata {};
%nodefaultctor ath_registry;
%nodefaultctor ath_session;
%nodefaultctor ath_obj;
struct ath_registry {};
struct ath_session {};
struct ath_obj {};
%extend ath_engine { ~ath_engine() { ath_engine_free($self); } }
%extend ath_conn { ~ath_conn() { ath_conn_close($self); } }
%extend ath_txn { ~ath_txn() { ath_txn_free($self); } }
%extend ath_result { ~ath_result() { ath_result_close($self); } }
%extend ath_metadata { ~ath_metadata() { ath_metadata_free($self); } }
%extend ath_registry { ~ath_registry() { ath_registry_free($self); } }
%extend ath_session { ~ath_session() { ath_session_close($self); } }
%extend ath_obj { ~ath_obj() { ath_obj_free($self); } }

/* Not for hosts: buffer disposal is the wrapper's job, options structs cross as host maps, log
 * callbacks would need a host pointer as payload, and init/shutdown are implicit. */
/* The destructors are the handles' own (above) plus the language's idempotent close(): a raw call
 * here followed by the garbage collector's would free twice. */
%ignore ath_engine_free;
%ignore ath_conn_close;
%ignore ath_txn_free;
%ignore ath_result_close;
%ignore ath_metadata_free;
%ignore ath_registry_free;
%ignore ath_session_close;
%ignore ath_obj_free;
%ignore ath_obj_ref; /* a second reference is the host's own business (its proxy) */
%ignore ath_session_options;
%ignore ath_session_options_init;
%ignore ath_buf;
%ignore ath_buf_dispose;
%ignore ath_engine_options;
%ignore ath_engine_options_init;
%ignore ath_compile_options;
%ignore ath_compile_options_init;
%ignore ath_log_cb;
%ignore ath_error;
%ignore ath_error_last;
%ignore ath_error_clear;

%include <stdint.i>

#if defined(SWIGLUA)
%include "lua/lua.i"
#endif

%include <athanor/common.h>
%include <athanor/errors.h>
%include <athanor/types.h>
%include <athanor/engine.h>
%include <athanor/conn.h>
%include <athanor/result.h>
%include <athanor/metadata.h>
%include <athanor/orm.h>
