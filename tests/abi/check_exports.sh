#!/usr/bin/env bash
# tests/abi/check_exports.sh — checks what libathanor.so exports (STYLE.md §6):
#   1. every defined dynamic symbol is an ath_* name (nothing internal or from a dependency leaks);
#   2. exported ath_* symbols == ATH_EXTERN declarations in the public headers == capi/athanor.map,
#      naming each symbol that is in one set and not another;
#   3. the SONAME is the expected one (libathanor.so.<ABI major>).
# Usage: check_exports.sh LIBRARY INCLUDE_DIR MAP_FILE EXPECTED_SONAME [NM] [READELF]
set -euo pipefail

lib=$1 include_dir=$2 map=$3 want_soname=$4 nm=${5:-nm} readelf=${6:-readelf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "FAIL abi/exports: $*" >&2
	failed=1
}

# Drop /* ... */ comments (which may span lines), so names mentioned in prose are not counted.
strip_comments() {
	awk '{
		line = $0; out = ""
		while (length(line)) {
			if (incomment) {
				i = index(line, "*/"); if (!i) break
				line = substr(line, i + 2); incomment = 0
			} else {
				i = index(line, "/*"); if (!i) { out = out line; break }
				out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1
			}
		}
		print out
	}' "$@"
}

# 1. Defined dynamic symbols: "VALUE TYPE NAME[@[@]VERSION]". Type A entries are the version
#    nodes themselves (ATHANOR_0), not code or data.
"$nm" -D --defined-only "$lib" >"$tmp/nm.txt"
awk 'NF >= 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm.txt" | sort -u >"$tmp/exported"
grep -v '^ath_' "$tmp/exported" >"$tmp/stray" || true
while IFS= read -r sym; do
	fail "exported symbol '$sym' is not an ath_* name (make it static, or hidden and not in the map)"
done <"$tmp/stray"
grep '^ath_' "$tmp/exported" >"$tmp/lib" || true

# 2. The three lists of the API.
strip_comments "$include_dir"/athanor/*.h | tr '\n' ' ' |
	grep -oE 'ATH_EXTERN\([^)]*\)[[:space:]]*ath_[A-Za-z0-9_]+[[:space:]]*\(' |
	sed -E 's/.*\)[[:space:]]*(ath_[A-Za-z0-9_]+).*/\1/' | sort >"$tmp/headers"
strip_comments "$map" | grep -oE '\bath_[A-Za-z0-9_]+[[:space:]]*;' | tr -d ' \t;' | sort >"$tmp/map"

for list in headers map; do
	dups=$(uniq -d "$tmp/$list" | tr '\n' ' ')
	[[ -z $dups ]] || fail "listed twice in the $list: $dups"
	sort -u -o "$tmp/$list" "$tmp/$list"
done
[[ -s $tmp/headers ]] || fail "no ATH_EXTERN declarations found in $include_dir/athanor/*.h"

while IFS= read -r sym; do
	fail "$sym is declared with ATH_EXTERN but not exported by the library (not defined, or missing from capi/athanor.map)"
done < <(comm -23 "$tmp/headers" "$tmp/lib")
while IFS= read -r sym; do
	fail "$sym is exported by the library but declared in no public header"
done < <(comm -13 "$tmp/headers" "$tmp/lib")
while IFS= read -r sym; do
	fail "$sym is declared with ATH_EXTERN but missing from capi/athanor.map"
done < <(comm -23 "$tmp/headers" "$tmp/map")
while IFS= read -r sym; do
	fail "$sym is listed in capi/athanor.map but declared in no public header"
done < <(comm -13 "$tmp/headers" "$tmp/map")

# 3. SONAME.
soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ $soname == "$want_soname" ]] || fail "SONAME is '${soname:-none}', expected '$want_soname'"

if ((failed)); then
	exit 1
fi
echo "abi/exports: $(wc -l <"$tmp/lib") ath_* functions exported, matching the headers and the map; SONAME $soname"
