#!/bin/sh
# SPDX-License-Identifier: MIT
# Install test, as TAP (meson test --suite install):
#   1. configure this source tree into a temporary directory with --prefix there, build and
#      `meson install` it; the expected files are in place, the shared library has soname
#      librtweb.so.0 and versioned symbols (RTWEB_0);
#   2. build tests/install/consumer.c against the installed headers with
#      `pkg-config --cflags --libs rtweb` and run it (shared library); the same for
#      tests/install/consumer_tls.c with `pkg-config ... rtweb-tls` (librtweb-tls.so.0,
#      shared, then static);
#   3. build it with `pkg-config --static --libs rtweb`, linking librtweb.a (and only it)
#      statically, check the binary does not need librtweb.so, and run it;
#   4. build tests/install/parent, a meson project using rtweb as a subproject, and run its
#      program;
#   5. what else `meson install` puts in place: every guide (docs/*.md, docs/img) in
#      share/doc/rtweb, rtwcat's man page, and the Python package, which `import rtweb` finds
#      under the prefix and which loads the installed librtweb.so.0 (no LD_LIBRARY_PATH);
#   6. every example (examples/*.c, and the chat demo) builds as a user outside the tree
#      builds it: against the installed headers through pkg-config, with
#      -std=c99 -Wall -Wextra -pedantic -Werror and no -D flags (a single-file example
#      defines the feature macros it needs, such as _POSIX_C_SOURCE, at its top; the chat
#      gets the tree's -D_POSIX_C_SOURCE=200809L).
# usage: run.sh SOURCE_ROOT THIS_DIR      (CC, if set, is the compiler to use)
set -u

src=$1
here=$2
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtweb-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM  # runs the EXIT trap
prefix=$tmp/prefix
opts="-Dtests=disabled -Dbench=false -Dexamples=false -Dfuzzing=none -Dbuildtype=release"
opts="$opts -Dpython=enabled"

examples=$(cd "$src/examples" && ls ./*.c | sed 's|^\./||')
total=$((15 + $(echo "$examples" | wc -w) + 1))
n=0
failed=0
echo "1..$total"
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
  if [ -n "${2:-}" ] && [ -f "$2" ]; then tail -n 30 "$2" | sed 's/^/#   /'; fi
}
skip_rest() { # $1 = reason; marks the remaining checks as failed, since they cannot run
  while [ "$n" -lt "$total" ]; do not_ok "(not run: $1)"; done
  exit 1
}

# ------------------------------------------------------------------ 1. install
if meson setup "$tmp/build" "$src" --prefix="$prefix" --libdir=lib $opts \
     > "$tmp/setup.log" 2>&1 &&
   ninja -C "$tmp/build" > "$tmp/build.log" 2>&1 &&
   meson install -C "$tmp/build" --no-rebuild > "$tmp/install.log" 2>&1; then
  ok "meson setup, build and install to a temporary prefix"
else
  cat "$tmp/build.log" >> "$tmp/setup.log" 2>/dev/null
  cat "$tmp/install.log" >> "$tmp/setup.log" 2>/dev/null
  not_ok "meson setup, build and install to a temporary prefix" "$tmp/setup.log"
  skip_rest "install failed"
fi

missing=""
for f in include/rtweb/rtweb.h include/rtweb/common.h include/rtweb/sse.h include/rtweb/ws.h \
         include/rtweb/http.h lib/librtweb.a lib/librtweb.so lib/librtweb.so.0 \
         lib/pkgconfig/rtweb.pc; do
  [ -e "$prefix/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
  ok "installed: the five headers, librtweb.so, librtweb.so.0, librtweb.a, rtweb.pc"
else
  echo "# missing:$missing"
  not_ok "installed: the five headers, librtweb.so, librtweb.so.0, librtweb.a, rtweb.pc"
fi

soname=$(readelf -d "$prefix/lib/librtweb.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
versioned=$(readelf --dyn-syms -W "$prefix/lib/librtweb.so" 2>/dev/null |
            grep -c ' rtw_[a-z_0-9]*@@RTWEB_0$')
unversioned=$(readelf --dyn-syms -W "$prefix/lib/librtweb.so" 2>/dev/null |
              awk '$5 == "GLOBAL" && $7 != "UND" && $8 !~ /@@?RTWEB_0$/ && $8 != "RTWEB_0"' |
              wc -l)
if [ "$soname" = "librtweb.so.0" ] && [ "$versioned" -gt 0 ] && [ "$unversioned" -eq 0 ]; then
  ok "soname librtweb.so.0; all $versioned exported symbols versioned RTWEB_0"
else
  echo "# soname '$soname', $versioned symbols @@RTWEB_0, $unversioned other global symbols"
  not_ok "soname librtweb.so.0; exported symbols versioned RTWEB_0"
fi

# ------------------------------------------------------------------ 2. shared, pkg-config
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
unset PKG_CONFIG_LIBDIR 2>/dev/null || true
cflags=$(pkg-config --cflags rtweb 2>"$tmp/pc.log")
libs=$(pkg-config --libs rtweb 2>>"$tmp/pc.log")
if [ $? -ne 0 ] || [ -z "$libs" ]; then
  not_ok "pkg-config finds rtweb" "$tmp/pc.log"
  skip_rest "no pkg-config data"
fi
# The consumer uses the documented initialiser `{.version = RTW_X_SETTINGS_VERSION}`, which
# -Wextra accepts, so the strictest usual warnings apply.
warn="-std=c99 -Wall -Wextra -pedantic -Werror"
# shellcheck disable=SC2086
if "$cc" $warn $cflags "$here/consumer.c" -o "$tmp/consumer_shared" $libs \
     > "$tmp/cc_shared.log" 2>&1; then
  ok "consumer.c builds with pkg-config --cflags --libs rtweb ($cflags $libs)"
else
  not_ok "consumer.c builds with pkg-config --cflags --libs rtweb" "$tmp/cc_shared.log"
fi
if LD_LIBRARY_PATH=$prefix/lib "$tmp/consumer_shared" > "$tmp/run_shared.log" 2>&1 &&
   LD_LIBRARY_PATH=$prefix/lib ldd "$tmp/consumer_shared" | grep -q "$prefix/lib/librtweb.so.0"
then
  ok "shared consumer runs against the installed librtweb.so.0"
else
  ldd "$tmp/consumer_shared" >> "$tmp/run_shared.log" 2>&1
  not_ok "shared consumer runs against the installed librtweb.so.0" "$tmp/run_shared.log"
fi

# rtweb-tls: its own header, library (soname librtweb-tls.so.0) and pkg-config file.
tls_cflags=$(pkg-config --cflags rtweb-tls 2>"$tmp/pc_tls.log")
tls_libs=$(pkg-config --libs rtweb-tls 2>>"$tmp/pc_tls.log")
tls_soname=$(readelf -d "$prefix/lib/librtweb-tls.so" 2>/dev/null |
             sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ -f "$prefix/include/rtweb/tls.h" ] && [ "$tls_soname" = "librtweb-tls.so.0" ] &&
   [ -n "$tls_libs" ]; then
  ok "installed: rtweb/tls.h, librtweb-tls.so.0, rtweb-tls.pc ($tls_libs)"
else
  not_ok "installed: rtweb/tls.h, librtweb-tls.so.0, rtweb-tls.pc" "$tmp/pc_tls.log"
fi
# shellcheck disable=SC2086
if "$cc" $warn $tls_cflags "$here/consumer_tls.c" -o "$tmp/consumer_tls" $tls_libs \
     > "$tmp/cc_tls.log" 2>&1 &&
   LD_LIBRARY_PATH=$prefix/lib "$tmp/consumer_tls" > "$tmp/run_tls.log" 2>&1; then
  ok "consumer_tls.c builds with pkg-config rtweb-tls and runs against librtweb-tls.so.0"
else
  cat "$tmp/run_tls.log" >> "$tmp/cc_tls.log" 2>/dev/null
  not_ok "consumer_tls.c builds with pkg-config rtweb-tls and runs" "$tmp/cc_tls.log"
fi
tls_slibs=$(pkg-config --static --libs rtweb-tls |
            sed 's/-lrtweb-tls\( \|$\)/-l:librtweb-tls.a\1/; s/-lrtweb\( \|$\)/-l:librtweb.a\1/')
# shellcheck disable=SC2086
if "$cc" $warn $tls_cflags "$here/consumer_tls.c" -o "$tmp/consumer_tls_static" $tls_slibs \
     > "$tmp/cc_tls_static.log" 2>&1 &&
   ! readelf -d "$tmp/consumer_tls_static" | grep -q 'librtweb' &&
   env -u LD_LIBRARY_PATH "$tmp/consumer_tls_static" >> "$tmp/cc_tls_static.log" 2>&1; then
  ok "consumer_tls.c links statically ($tls_slibs) and runs"
else
  not_ok "consumer_tls.c links statically with pkg-config --static rtweb-tls" "$tmp/cc_tls_static.log"
fi

# ------------------------------------------------------------------ 3. static, pkg-config
# `pkg-config --static --libs` gives -lrtweb plus Libs.private. Link librtweb.a itself
# (-l:librtweb.a) so the linker cannot pick the .so; the C library stays dynamic.
slibs=$(pkg-config --static --libs rtweb | sed 's/-lrtweb\( \|$\)/-l:librtweb.a\1/')
# shellcheck disable=SC2086
if "$cc" $warn $cflags "$here/consumer.c" -o "$tmp/consumer_static" $slibs \
     > "$tmp/cc_static.log" 2>&1; then
  ok "consumer.c builds with pkg-config --static --libs rtweb ($slibs)"
else
  not_ok "consumer.c builds with pkg-config --static --libs rtweb" "$tmp/cc_static.log"
fi
if [ -x "$tmp/consumer_static" ] &&
   ! readelf -d "$tmp/consumer_static" | grep -q 'librtweb' &&
   env -u LD_LIBRARY_PATH "$tmp/consumer_static" > "$tmp/run_static.log" 2>&1; then
  ok "static consumer runs and does not need librtweb.so"
else
  readelf -d "$tmp/consumer_static" >> "$tmp/run_static.log" 2>&1
  not_ok "static consumer runs and does not need librtweb.so" "$tmp/run_static.log"
fi

# ------------------------------------------------------------------ 4. meson subproject
parent=$tmp/parent
mkdir -p "$parent/subprojects/rtweb"
cp "$here/parent/meson.build" "$here/consumer.c" "$parent/"
# A copy of the tree as a vendoring project would have it: no build directories, no VCS.
(cd "$src" && tar --exclude='./build*' --exclude=./.git --exclude='*/node_modules' \
   --exclude=./fuzz/out -cf - .) | (cd "$parent/subprojects/rtweb" && tar -xf -)
unset PKG_CONFIG_PATH
if meson setup "$tmp/parent-build" "$parent" --force-fallback-for=rtweb \
     -Dbuildtype=release > "$tmp/parent.log" 2>&1 &&
   ninja -C "$tmp/parent-build" consumer >> "$tmp/parent.log" 2>&1; then
  ok "a parent meson project builds with rtweb as a subproject"
else
  not_ok "a parent meson project builds with rtweb as a subproject" "$tmp/parent.log"
fi
if [ -x "$tmp/parent-build/consumer" ] &&
   "$tmp/parent-build/consumer" > "$tmp/run_parent.log" 2>&1; then
  ok "the parent project's program runs"
else
  not_ok "the parent project's program runs" "$tmp/run_parent.log"
fi

# ------------------------------------------------------------------ 5. docs, man page, Python
docdir=$prefix/share/doc/rtweb
missing=""
for f in "$src"/docs/*.md "$src"/docs/img/* "$src/README.md"; do
  case $f in
    */img/*) rel=img/$(basename "$f") ;;
    *) rel=$(basename "$f") ;;
  esac
  cmp -s "$f" "$docdir/$rel" || missing="$missing $rel"
done
if [ -z "$missing" ]; then
  ok "every guide (docs/*.md, docs/img, README.md) installed in share/doc/rtweb"
else
  echo "# missing or different in $docdir:$missing"
  not_ok "every guide (docs/*.md, docs/img, README.md) installed in share/doc/rtweb"
fi

# The page renders without a groff warning (-ww: all of them), where groff is installed.
man1=$prefix/share/man/man1/rtwcat.1
if [ -f "$src/docs/rtwcat.1" ] && cmp -s "$src/docs/rtwcat.1" "$man1" &&
   [ -x "$prefix/bin/rtwcat" ] &&
   { ! command -v groff > /dev/null ||
     { groff -man -ww -z "$man1" > "$tmp/groff.log" 2>&1 && [ ! -s "$tmp/groff.log" ]; }; }; then
  ok "rtwcat and its man page installed (bin/rtwcat, share/man/man1/rtwcat.1)"
else
  ls -l "$src/docs/rtwcat.1" "$prefix/share/man/man1" "$prefix/bin" 2>&1 | sed 's/^/# /'
  not_ok "rtwcat and its man page installed (bin/rtwcat, share/man/man1/rtwcat.1)" "$tmp/groff.log"
fi

# The package directory under the prefix (lib/python3/dist-packages on Debian), found by
# its __init__.py; the binding's own modules must all be there.
pkg=$(find "$prefix" -path '*-packages/rtweb/__init__.py' 2>/dev/null | head -n 1)
pkg=${pkg%/__init__.py}
missing=""
for f in "$src"/bindings/python/rtweb/*.py; do
  [ -n "$pkg" ] && cmp -s "$f" "$pkg/$(basename "$f")" || missing="$missing $(basename "$f")"
done
[ -n "$pkg" ] && [ -f "$pkg/_config.py" ] || missing="$missing _config.py"
# From another directory, without RTWEB_LIBRARY or LD_LIBRARY_PATH: the package must load
# the library installed with it and parse an event through it.
probe='import rtweb
from rtweb import sse
p = sse.Parser()
events = p.feed(b"id: 7\nevent: tick\ndata: he") + p.feed(b"llo\r\n\r\n")
print(rtweb.library_path)
print(rtweb.library_version())
print([(e.type, e.data, e.id) for e in events])'
want="$prefix/lib/librtweb.so.0
$(sed -n "s/^  version : '\(.*\)',$/\1/p" "$src/meson.build")
[('tick', 'hello', '7')]"
if [ -z "$missing" ]; then
  got=$(cd "$tmp" && env -u RTWEB_LIBRARY -u LD_LIBRARY_PATH PYTHONPATH="${pkg%/rtweb}" \
        PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c "$probe" 2>&1)
else
  got="missing in the installed package:$missing"
fi
if [ "$got" = "$want" ]; then
  ok "import rtweb from ${pkg#"$prefix"/} loads the installed librtweb.so.0 and parses an event"
else
  printf '%s\n' "wanted:" "$want" "got:" "$got" | sed 's/^/# /'
  not_ok "import rtweb from the installed package loads the installed librtweb.so.0"
fi

# ------------------------------------------------------------------ 6. examples, standalone
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
for ex in $examples; do
  pkgs=rtweb
  # A library an example needs besides rtweb, by the header it includes.
  if grep -q '^#include <rtweb/tls.h>' "$src/examples/$ex"; then
    pkgs="$pkgs rtweb-tls"
  fi
  if grep -q '^#include <uv.h>' "$src/examples/$ex"; then
    pkgs="$pkgs libuv"
    if ! pkg-config --exists libuv; then
      n=$((n + 1)); echo "ok $n - examples/$ex # SKIP libuv (libuv.pc) not installed"
      continue
    fi
  fi
  # shellcheck disable=SC2046,SC2086
  if "$cc" $warn $(pkg-config --cflags $pkgs) "$src/examples/$ex" -o "$tmp/ex_${ex%.c}" \
       $(pkg-config --libs $pkgs) > "$tmp/ex_${ex%.c}.log" 2>&1; then
    ok "examples/$ex builds standalone: $warn, pkg-config $pkgs"
  else
    not_ok "examples/$ex builds standalone: $warn, pkg-config $pkgs" "$tmp/ex_${ex%.c}.log"
  fi
done

# The chat demo, as its meson.build builds it: its .c files, the page embedded as C
# (embed.py), linked with pkg-config rtweb-tls (it serves https/wss), and the POSIX level
# the whole tree is built with (it is several files sharing chat.h, not a single file
# defining its own). name_probe.c and redis_unit_test.c are test programs with their own
# main, not the demo. redis.c (--redis) is built when pkg-config finds hiredis, with
# -DCHAT_HAVE_REDIS=1, as meson does; without hiredis the demo builds without it.
chat=$src/examples/chat
posix=-D_POSIX_C_SOURCE=200809L
chat_srcs=$(ls "$chat"/*.c | grep -v -E '/(name_probe|redis_unit_test|redis)\.c$')
chat_pkgs=rtweb-tls
chat_redis=
if pkg-config --exists hiredis; then
  chat_srcs="$chat_srcs $chat/redis.c"
  chat_pkgs="rtweb-tls hiredis"
  chat_redis=" -DCHAT_HAVE_REDIS=1"
fi
if /usr/bin/python3 "$chat/embed.py" "$chat/page.html" "$tmp/chat_page.c" > "$tmp/chat.log" 2>&1 &&
   # shellcheck disable=SC2046,SC2086
   "$cc" $warn $posix $chat_redis $(pkg-config --cflags $chat_pkgs) -I"$chat" $chat_srcs \
     "$tmp/chat_page.c" -o "$tmp/rtweb-chat" $(pkg-config --libs $chat_pkgs) >> "$tmp/chat.log" 2>&1; then
  ok "examples/chat (rtweb-chat) builds standalone: $warn $posix$chat_redis"
else
  not_ok "examples/chat (rtweb-chat) builds standalone: $warn $posix$chat_redis" "$tmp/chat.log"
fi

[ "$n" -eq "$total" ] || { echo "# ran $n checks, planned $total"; exit 1; }
[ "$failed" -eq 0 ]
