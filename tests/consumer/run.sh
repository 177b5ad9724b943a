#!/usr/bin/env bash
# tests/consumer/run.sh — what a user of an installed athanor does, end to end: `cmake --install` the
# build into a prefix inside the build tree, then build and run tests/consumer/project twice against
# that prefix: with CMake (find_package(athanor), CMAKE_PREFIX_PATH) and with pkg-config and a plain
# compiler command. CFLAGS/LDFLAGS carry the sanitizer flags of an instrumented build.
# Usage: run.sh CMAKE BUILD_DIR WORK_DIR CC CFLAGS LDFLAGS GENERATOR [PKG_CONFIG]
set -euo pipefail

cmake=$1 build_dir=$2 work=$3 cc=$4 cflags=$5 ldflags=$6 generator=$7 pkg_config=${8:-pkg-config}
project=$(cd "$(dirname "$0")/project" && pwd)
prefix=$work/prefix

step() { printf '\n== %s\n' "$*"; }

rm -rf "$work"
mkdir -p "$work"

step "install into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix"
libdir=$(dirname "$(find "$prefix" -name 'libathanor.so' | head -n1)")
[[ -f $libdir/libathanor.so ]] || { echo "libathanor.so was not installed under $prefix" >&2; exit 1; }
for f in "$prefix/include/athanor/athanor.h" "$libdir/pkgconfig/athanor.pc" \
	"$libdir/cmake/athanor/athanorConfig.cmake" "$libdir/cmake/athanor/athanorConfigVersion.cmake"; do
	[[ -f $f ]] || { echo "missing from the install: ${f#"$prefix"/}" >&2; exit 1; }
done

step "consumer with find_package(athanor)"
"$cmake" -S "$project" -B "$work/cmake-build" -G "$generator" \
	-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags"
"$cmake" --build "$work/cmake-build"
"$work/cmake-build/consumer"

step "consumer with pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
pc_flags=$("$pkg_config" --cflags --libs athanor)
echo "pkg-config --cflags --libs athanor: $pc_flags"
[[ " $pc_flags " == *" -I$prefix/include "* ]] ||
	{ echo "athanor.pc does not point into the prefix it was installed to ($prefix)" >&2; exit 1; }
# shellcheck disable=SC2086 # the flags are meant to be split into words
"$cc" $cflags "$project/main.c" -o "$work/pkgconfig-consumer" $pc_flags $ldflags
LD_LIBRARY_PATH=$libdir "$work/pkgconfig-consumer"
