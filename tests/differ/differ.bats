#!/usr/bin/env bats
# lpdiff on pairs of tiny source trees (tests/differ/cases/NAME/{old,new}):
# what it decides is changed, what it refuses, and where the patch's
# relocations point in the OLD module.
load helpers

@test "two same-named statics in different files resolve to their own OLD copies" {
  diff_case statics pie
  assert_success
  assert_equal "$(json .changed)" '["count_a","count_b"]'
  dump
  assert_success
  a=$(old_local_addr a.c counter) b=$(old_local_addr b.c counter)
  [[ -n $a && -n $b && $a != "$b" ]]
  # count_a's code comes first in .lp.text: its references go to a.c's counter.
  first=$(grep -m1 ' -> module counter ' <<<"$output")
  last=$(grep ' -> module counter ' <<<"$output" | tail -1)
  [[ $first == *" $a "* ]]
  [[ $last == *" $b "* ]]
}

@test "a function-scope static renumbered by a new function keeps the OLD variable" {
  diff_case staticlocal pie
  assert_success
  assert_equal "$(json .changed)" '["tick"]'
  assert_equal "$(json .added)" '["other"]'
  assert_equal "$(json .new_variables)" '["other::calls (s.c)"]'
  dump
  # tick's own counter is calls.0 of the OLD module, state kept, named by
  # its stable name (a stacked patch finds it in an older build by that)...
  addr=$(old_local_addr s.c calls.0)
  assert_output --partial "-> module tick::calls $addr "
  # ...and the new function's counter is new data in the patch.
  assert_output --regexp '-> patch calls\.[0-9]+ \.lp\.bss\+0x'
}

@test "a changed string literal patches its function and carries the new string" {
  diff_case string pie
  assert_success
  # greet changed; bye (and main, which calls greet) untouched.
  assert_equal "$(json .changed)" '["greet"]'
  dump
  assert_output --regexp '-> patch \.rodata[^ ]* \.lp\.rodata\+0x'
  # libc's stdout lives in the module (copy relocation): its OLD copy is used.
  assert_output --partial "-> module stdout $(old_global_addr stdout@GLIBC_2.2.5) "
  assert_output --partial "-> dynamic printf -"
  run grep -c "HELLO there" "$T/p.lpatch"
  assert_output 1
}

@test "a changed const table patches every function reading it" {
  diff_case table pie
  assert_success
  assert_equal "$(json .changed)" '["nth_prime","main"]'
  dump
  assert_output --regexp '-> patch \.rodata\.primes \.lp\.rodata\+0x'
  refute_output --partial "twice"
}

@test "a never-written static table that shrinks is carried in the patch, every reader patched, applied live" {
  diff_case nowritetable pie
  assert_success
  # is_allowed's code is the same: it is patched because it reads the table
  assert_equal "$(json .changed)" '["is_allowed","lp_probe"]'
  assert_equal "$(json .carried_tables)" '["allowed (m.c)"]'
  assert_line "tables never written, carried in the patch (every reader patched) (1):"
  assert_line "  allowed (m.c)"
  refute_output --partial GLOBAL_SIZE
  dump
  assert_output --regexp '-> patch allowed \.lp\.data\+0x'
  refute_output --partial "-> module allowed"
  live_check
}

@test "a never-written static table whose strings change (same size) is carried, not DATA_INIT" {
  diff_case nowritechange pie
  assert_success
  assert_equal "$(json .carried_tables)" '["allowed (m.c)"]'
  assert_equal "$(json .refused)" '[]'
  live_check
}

@test "a static table that code writes, or whose address escapes, is still refused" {
  diff_case writtentable pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [GLOBAL_SIZE] variable allowed: size 40 -> 32 bytes (m.c:4)"
  assert_equal "$(json .carried_tables)" '[]'
  diff_case escapetable pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [GLOBAL_SIZE] variable allowed: size 40 -> 32 bytes (m.c:4)"
  assert_equal "$(json .carried_tables)" '[]'
}

@test "a change in an inlined helper reaches its callers only" {
  diff_case inline pie
  assert_success
  assert_equal "$(json .changed)" '["scale","main"]'
}

@test "a new function is carried in the patch and called there" {
  diff_case newfn pie
  assert_success
  assert_equal "$(json .added)" '["checked"]'
  assert_equal "$(json '.changed|index("compute")!=null')" true
  dump
  assert_output --regexp 'new +checked \(n\.c:1\)'
  assert_output --regexp 'PLT32 -> patch checked \.lp\.text\+0x|PC32 -> patch checked \.lp\.text\+0x'
}

@test "a struct that gains a member is refused (LAYOUT_TYPE) with type, member and line" {
  diff_case structmember pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [LAYOUT_TYPE] type struct conn: member 'flags' added"
  assert_output --partial "(c.c:3)"
  assert_equal "$(json '.refused[0].code')" '"LAYOUT_TYPE"'
  assert_equal "$(json .patch)" null
  [[ ! -e $T/p.lpatch ]]
}

@test "a bit-field added in unused bits is refused (BITFIELD_ADDED), then accepted and applied live" {
  diff_case bitsadded pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [BITFIELD_ADDED] type struct conn: bit-field 'closing' at offset 4 bit 2 (1 bit) added in bits no member used (size 8 bytes and every other member unchanged); in objects that already exist these bits hold whatever they held before: 0 if the objects were zero-allocated (calloc, static storage, memset) (c.c:6)"
  assert_equal "$(json '[.refused[].code]')" '["BITFIELD_ADDED"]'
  assert_equal "$(json '.refused[0].name')" '"conn"'
  [[ ! -e $T/p.lpatch ]]
  diff_case bitsadded pie --accept BITFIELD_ADDED:conn
  assert_success
  assert_equal "$(json '[.accepted[].code]')" '["BITFIELD_ADDED"]'
  assert_equal "$(json .refused)" '[]'
  live_check
}

@test "a bit-field struct that grows is still LAYOUT_TYPE, with bit offsets in the message" {
  diff_case bitsgrow pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [LAYOUT_TYPE] type struct perm: member 'exec' added at offset 4 bit 0 (1 bit); size 4 -> 8 bytes (c.c:5)"
  refute_output --partial "BITFIELD_ADDED"
  refute_output --partial "offset -1"
}

@test "an anonymous struct is named by its typedef in the refusal" {
  diff_case anonstruct pie
  assert_failure 3
  assert_output --partial "[LAYOUT_TYPE] type CONN (anonymous struct): member 'flags' added"
}

@test "a resized global is refused (GLOBAL_SIZE)" {
  diff_case resized pie
  assert_failure 3
  assert_output --partial "[GLOBAL_SIZE] variable hist: size 32 -> 64 bytes (r.c:1)"
}

@test "a changed enum value is refused (ENUM_VALUE)" {
  diff_case enumval pie
  assert_failure 3
  assert_output --partial "[ENUM_VALUE] type enum state: BUSY = 1 -> 2"
}

@test "a changed initializer is refused (DATA_INIT) unless accepted, and the report records it" {
  diff_case init pie
  assert_failure 3
  assert_output --partial "[DATA_INIT] variable limit"
  assert_equal "$(json '[.refused[].code]')" '["DATA_INIT"]'
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" \
    --report "$T/r.json" --accept DATA_INIT:limit
  # Accepted, and no code changed: nothing to patch.
  assert_failure 1
  assert_output --partial "lpdiff: accepted [DATA_INIT] variable limit"
  assert_equal "$(json '[.accepted[].name]')" '["limit"]'
  assert_equal "$(json .refused)" '[]'
}

@test "a misspelt --accept code is a usage error naming the code, not a pattern that never matches" {
  diff_case init pie
  assert_failure 3
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" \
    --report "$T/r.json" --accept DATA_INT:limit
  assert_failure 2
  assert_line --index 0 --partial "lpdiff: --accept: unknown refusal code 'DATA_INT' in 'DATA_INT:limit' (codes: AMBIGUOUS"
  assert_output --partial "DATA_INIT"
  [[ ! -e $T/p.lpatch ]]
}

@test "a TLS variable added before another is refused (TLS_LAYOUT)" {
  diff_case tls pie
  assert_failure 3
  assert_output --partial "[TLS_LAYOUT] thread-local variable depth: offset in the TLS block moves 0 -> 4"
  assert_output --partial "[TLS_LAYOUT] thread-local variable nesting_limit"
}

@test "comment-only change: nothing to patch (exit 1)" {
  diff_case nochange pie
  assert_failure 1
  assert_output --partial "nothing changed"
  assert_equal "$(json .changed)" '[]'
  [[ ! -e $T/p.lpatch ]]
}

@test "a changed signature still called by unpatched code is refused (SIGNATURE)" {
  diff_case signature pie
  assert_failure 3
  assert_output --partial "[SIGNATURE] function area: signature changes (return type int -> long int) but main"
}

@test "a changed constructor is refused (CTOR_CHANGED)" {
  diff_case ctor pie
  assert_failure 3
  assert_output --partial "[CTOR_CHANGED] function setup"
}

@test "a changed function only a constructor calls is refused like the constructor" {
  diff_case initonly pie
  assert_failure 3
  assert_output --partial "[CTOR_CHANGED] function fill_table: changed, but only constructor setup calls it"
}

@test "same-named statics of two util.c files: told apart by DWARF with the plugin" {
  diff_case ambiguous pie
  assert_success
  assert_equal "$(json .changed)" '["net_fail"]'
  # net/util.c's errors, by the DWARF location of that CU's variable.
  want=$(readelf -wi "$T/old/prog" | awk '/DW_AT_name.*net\/util\.c/ { cu = 1 }
    cu && /DW_OP_addr/ { sub(/.*DW_OP_addr: /, ""); sub(/\).*/, ""); print "0x" $0; exit }')
  [[ -n $want ]]
  dump
  assert_output --partial "-> module errors $want "
}

@test "without the plugin the two util.c files are ambiguous and cannot be accepted" {
  diff_case ambiguous plain
  assert_failure 3
  assert_output --partial "[AMBIGUOUS] unit util.c: linked from two object files"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" --accept 'AMBIGUOUS:*'
  assert_failure 3
}

@test "non-PIE executable: relocations target fixed OLD addresses" {
  diff_case statics nopie
  assert_success
  dump
  assert_output --partial "(fixed address)"
  assert_output --partial "-> module counter $(old_local_addr a.c counter) "
  assert_output --partial "-> module counter $(old_local_addr b.c counter) "
}

@test "shared library: flagged shared, statics resolved in the library" {
  diff_case statics shared
  assert_success
  dump
  assert_output --partial "libt.so (shared library)"
  assert_output --partial "-> module counter $(old_local_addr a.c counter) "
}

@test "without the plugin: object code decides, entries found from the NOP pad" {
  diff_case statics plain
  assert_success
  assert_equal "$(json .changed)" '["count_a","count_b"]'
  dump
  assert_output --partial "-> module counter $(old_local_addr b.c counter) "
}

@test "a changed function without a patchable entry is refused (NO_ENTRY)" {
  diff_case statics noentry
  assert_failure 3
  assert_output --partial "[NO_ENTRY] function count_a: changed, but no patchable entry"
}

@test "different codegen options are refused (OPTIONS_MISMATCH)" {
  T=$BATS_TEST_TMPDIR/o1
  build_tree "$CASES/statics/old" "$T/old" pie
  build_tree "$CASES/statics/new" "$T/new" O1
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch"
  assert_failure 3
  assert_output --partial "[OPTIONS_MISMATCH] unit a.c: codegen options differ: '-O2"
}

@test "builds without -g are refused (NO_DEBUGINFO) unless accepted deliberately" {
  diff_case statics nodebug
  assert_failure 3
  assert_output --regexp '\[NO_DEBUGINFO\] module [^ ]*/old/prog: no DWARF debug information \(build with -g\)'
  assert [ ! -e "$T/p.lpatch" ]
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" \
    --accept NO_DEBUGINFO:prog
  assert_success
  assert [ -s "$T/p.lpatch" ]
}

@test "overrides from an accept file are recorded in the report" {
  diff_case resized pie
  printf '# deliberate: hist is reset on reload\nGLOBAL_SIZE:hist\n' >"$T/accept"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" \
    --report "$T/r.json" --accept-file "$T/accept"
  assert_success
  assert_equal "$(json '[.accepted[].code]')" '["GLOBAL_SIZE"]'
  assert_equal "$(json '.patch_id|length')" 32
}

@test "the JSON report has every documented field" {
  diff_case statics pie
  assert_success
  run jq -e 'has("format") and has("module") and has("old_build_id") and has("new_build_id")
    and has("changed") and has("added") and has("removed") and has("refused")
    and has("accepted") and has("patch") and has("patch_id") and .format == 1' "$T/r.json"
  assert_success
  old_id=$(readelf -n "$T/old/prog" | awk '/Build ID/ {print $3}')
  assert_equal "$(jq -r .old_build_id "$T/r.json")" "$old_id"
}

@test "a truncated module is an input error naming the file" {
  diff_case statics pie
  head -c 3000 "$T/old/prog" >"$T/old/prog.cut" && mv "$T/old/prog.cut" "$T/old/prog"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch"
  assert_failure 2
  assert_output --regexp "^lpdiff: .*/old/prog: truncated"
}

@test "a truncated object file is an input error, not a silently missing unit" {
  diff_case statics pie
  head -c 1500 "$T/new/a.o" >"$T/a.cut" && mv "$T/a.cut" "$T/new/a.o"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch"
  assert_failure 2
  assert_output --regexp "^lpdiff: .*/new/a\.o: truncated"
}

@test "a corrupt object file is an input error naming it" {
  diff_case statics pie
  printf '\177ELF garbage' >"$T/new/a.o"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch"
  assert_failure 2
  assert_output --regexp "^lpdiff: .*/new/a\.o: "
}

@test "a relocation section pointing at a section that does not exist is an input error" {
  diff_case statics pie
  local o=$T/new/a.o shoff idx
  shoff=$(readelf -hW "$o" | awk '/Start of section headers/ { print $5 }')
  idx=$(readelf -SW "$o" | sed -n 's/^ *\[ *\([0-9]*\)\] \.rela\.text\.count_a .*/\1/p')
  [[ -n $shoff && -n $idx ]]
  # sh_info (4 bytes at +44 of the section header) := 0x7fff
  printf '\377\177\000\000' | dd of="$o" bs=1 seek=$((shoff + idx * 64 + 44)) conv=notrunc 2>/dev/null
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch"
  assert_failure 2
  assert_output --regexp "^lpdiff: .*/new/a\.o: corrupt relocation section"
}

@test "a corrupt patch is rejected by --dump" {
  diff_case statics pie
  printf 'x' | dd of="$T/p.lpatch" bs=1 seek=200 conv=notrunc 2>/dev/null
  run "$LPDIFF" --dump "$T/p.lpatch"
  assert_failure 2
  assert_output --partial "lpdiff: "
}

@test "usage: --help, missing and unknown options" {
  run "$LPDIFF" --help
  assert_success
  assert_output --partial "exit status: 0 patch written, 1 nothing changed"
  run "$LPDIFF" --old a --new b
  assert_failure 2
  assert_output --partial "--module are required"
  run "$LPDIFF" --frobnicate
  assert_failure 2
  assert_output --partial "unknown option '--frobnicate'"
  run "$LPDIFF" --old /nonexistent --new /nonexistent --module prog -o x
  assert_failure 2
  assert_output --partial "/nonexistent/prog: cannot open"
}

@test "a removed writable variable is refused (DATA_REMOVED)" {
  diff_case removed pie
  assert_failure 3
  assert_output --partial "[DATA_REMOVED] variable hits: removed"
}

@test "existing TLS, globals and libc: TLS offset, OLD address (GOT kept), dynamic by name" {
  diff_case tlsuse shared
  assert_success
  assert_equal "$(json .changed)" '["enter"]'
  dump
  assert_output --regexp 'TLSGD -> tls depth 0x0 '
  assert_output --regexp "GOTPCRELX -> module total $(old_global_addr total) "
  assert_output --partial "-> dynamic __tls_get_addr -"
}

@test "a call to an unchanged function targets its OLD address" {
  diff_case globals shared
  assert_success
  assert_equal "$(json .changed)" '["api"]'
  dump
  assert_output --partial "PLT32 -> module helper $(old_global_addr helper) "
}

@test "--dry-run decides and validates but writes nothing" {
  diff_case statics pie --dry-run
  assert_success
  assert_output --partial "count_a"
  [[ ! -e $T/p.lpatch ]]
  assert_equal "$(json .patch)" null
}

# Build trees as real build systems leave them (after tests/real/regress).
twin_tree() { # DIR VERSION KIND
  local d=$1 v=$2 cc="gcc -fplugin=$LP_PLUGIN -ffile-prefix-map=$1=. -g -O2"
  mkdir -p "$d/.libs"
  printf 'int helper(int x) { return x + %d; }\nint api(int x) { return helper(x) * 2; }\n' "$v" >"$d/foo.c"
  printf 'int api(int);\nint main(void) { return api(1); }\n' >"$d/main.c"
  case $3 in
    libtool) (cd "$d" && $cc -c foo.c -o foo.o && $cc -fPIC -c foo.c -o .libs/foo.o &&
               $cc -c main.c -o main.o && gcc -o prog main.o foo.o) ;;
    cxx) (cd "$d" && $cc -c foo.c -o foo.o && $cc -c main.c -o main.o &&
           g++ -x c++ -O2 -c foo.c -o foo-c++.o && gcc -o prog main.o foo.o) ;;
    script) printf 'FOO { global: api; local: *; };\n' >"$d/foo.map"
            (cd "$d" && $cc -fPIC -c foo.c -o foo.o &&
              gcc -shared -Wl,--version-script=foo.map -o prog foo.o) ;;
  esac
}

@test "libtool's PIC and non-PIC objects of one source: the linked one is chosen" {
  T=$BATS_TEST_TMPDIR/libtool
  twin_tree "$T/old" 1 libtool && twin_tree "$T/new" 2 libtool
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" --report "$T/r.json"
  assert_success
  assert_equal "$(json .changed)" '["helper","api"]' # helper is inlined in api
}

@test "a plugin-less second build of a source (C++ twin) is not taken as linked" {
  T=$BATS_TEST_TMPDIR/cxx
  twin_tree "$T/old" 1 cxx && twin_tree "$T/new" 2 cxx
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" --report "$T/r.json"
  assert_success
  assert_equal "$(json .changed)" '["helper","api"]' # helper is inlined in api
}

@test "a function made local by a version script is found in the OLD module" {
  T=$BATS_TEST_TMPDIR/script
  twin_tree "$T/old" 1 script && twin_tree "$T/new" 2 script
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" --report "$T/r.json"
  assert_success
  assert_equal "$(json .changed)" '["helper"]'
  dump
  assert_output --regexp "replace helper \\(foo\\.c:1\\)  old $(readelf -sW "$T/old/prog" | awk '$8 == "helper" { v = $2; sub(/^0+/, "", v); print "0x" v }') "
}

@test "plugin hash and object code disagreeing is refused (HASH_MISMATCH), never resolved silently" {
  diff_case nochange pie
  assert_failure 1
  # Change one code byte of add() in the NEW object, leaving its recorded hash.
  local o=$T/new/x.o
  off=$((0x$(readelf -SW "$o" | sed -n 's/.*\] \.text\.add *PROGBITS *[0-9a-f]* \([0-9a-f]*\).*/\1/p')))
  ((off > 0))
  printf '\xcc' | dd of="$o" bs=1 seek=$((off + 20)) conv=notrunc 2>/dev/null
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch"
  assert_failure 3
  assert_output --partial "[HASH_MISMATCH] function add: plugin hash says unchanged but the object code is different"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" --accept HASH_MISMATCH:add -v
  assert_success
  assert_output --partial "accepted [HASH_MISMATCH]"
  assert_output --partial "add: object code differs"
}

@test "--allow-active marks only the named function" {
  diff_case statics pie --allow-active count_a
  assert_success
  dump
  assert_output --regexp 'replace count_a .*\[may be active\]'
  refute_output --regexp 'replace count_b .*\[may be active\]'
}

@test "code and data the OLD link dropped (--gc-sections, inlined) travel in the patch" {
  diff_case gcdropped gc
  assert_success
  # api was inlined into main and dropped: nothing to redirect, so it is added.
  assert_equal "$(json .changed)" '["main"]'
  assert_equal "$(json .added)" '["api"]'
  assert_equal "$(json '.notes|length')" 2
  dump
  assert_output --regexp '-> patch counter_unused \.lp\.bss\+0x'
}

@test "switch tables and .cold parts point into the patch's copy, and the patched process runs it" {
  diff_case switch pie
  assert_success
  assert_equal "$(json .changed)" '["op"]'
  dump
  # Every label of op's body (table entries, the cold part's way back) is
  # the new copy; nothing jumps into the old body.
  refute_output --partial "-> module op "
  # the switch table (.rodata.op, after the unwind table in .lp.rodata)
  local tab
  tab=$(grep -o -m1 'patch \.rodata\.op \.lp\.rodata+0x[0-9a-f]*' <<<"$output" | sed 's/.*+//')
  [[ -n $tab ]]
  assert_output --regexp "\.lp\.rodata\+$tab R_X86_64_PC32 -> patch \.text\.op \.lp\.text\+0x0"
  assert_output --regexp 'PC32 -> patch op\.cold \.lp\.text\+0x'
  [[ -x $LPATCH ]] || skip "lpatch not built"
  "$T/old/prog" >"$T/out" &
  local pid=$!
  sleep 0.3
  run "$LPATCH" apply "$pid" "$T/p.lpatch"
  sleep 0.4
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  assert_success
  # Old answers before, new after; the other cases and the cold default unchanged.
  run grep -c '^36$' "$T/out"
  [[ $output -ge 1 ]]
  run grep -c '^360$' "$T/out"
  [[ $output -ge 1 ]]
  run grep -c '^-1$' "$T/out"
  [[ $output -ge 2 ]]
}

@test "a C++ inline function defined in two units is patched once" {
  T=$BATS_TEST_TMPDIR/cxxinline
  for v in old new; do
    mkdir -p "$T/$v"
    for f in a b; do
      (cd "$CASES/cxxinline/$v" && g++ -fplugin="$LP_PLUGIN" -O2 -g -fPIE -fno-inline -c $f.cc -o "$T/$v/$f.o")
    done
    g++ -pie -o "$T/$v/prog" "$T/$v/a.o" "$T/$v/b.o"
  done
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p.lpatch" --report "$T/r.json"
  assert_success
  assert_equal "$(json .changed)" '["_ZN3Acc3addEi"]'
  dump
  assert_output --regexp 'replace Acc::add\(int\) \(_ZN3Acc3addEi\) \(h\.h:1\)'
}

@test "a global function and variable that moved to another file keep their OLD identity" {
  diff_case moved pie
  assert_success
  assert_equal "$(json .changed)" '["check","main"]'
  assert_equal "$(json .refused)" '[]'
  dump
  assert_output --regexp "replace check \\(main\\.c:3\\)  old $(old_global_addr check) "
  assert_output --partial "-> module limit $(old_global_addr limit) "
}

@test "function-scope statics renumbered by reordering keep their own OLD variable (with and without plugin)" {
  for mode in pie plain; do
    diff_case staticswap $mode
    assert_success
    assert_equal "$(json .changed)" '["first"]'
    # first's counter is the zero-initialised one (.bss, nm type b).
    want=0x$(nm "$T/old/prog" | awk '$2 == "b" && $3 ~ /^count\./ { sub(/^0+/, "", $1); print $1 }')
    dump
    # named by the plugin's stable name; without the plugin, by GCC's
    assert_output --regexp "-> module $([[ $mode == pie ]] && echo 'first::count' || echo 'count\.[0-9]+') $want "
  done
}

@test "a function's own switch table does not count as an unpatched caller of its new signature" {
  for mode in pie shared; do
    diff_case sigswitch $mode
    assert_success
    assert_equal "$(json '.changed | contains(["api","classify"])')" true
    assert_equal "$(json .refused)" '[]'
  done
  # ...while a caller left unpatched still is one
  diff_case signature pie
  assert_failure 3
}

@test "a function whose only change is its assert() line numbers is not patched, with a note" {
  # lines added above hot() move its assert's __LINE__; fixed() really changes
  diff_case assertline pie
  assert_success
  assert_equal "$(json '.changed | index("hot")')" null
  assert_equal "$(json '.changed | index("fixed") != null')" true
  assert_output --partial "function hot: only assert() line numbers changed: not patched"
  diff_case assertline pie --patch-line-changes
  assert_success
  assert_equal "$(json '.changed | index("hot") != null')" true
}

@test "functions whose only change is the __LINE__ they pass to a call (directly or by a macro) are not patched" {
  # two comment lines above every function move each __LINE__ argument by 2:
  # hot (LOG macro), direct (__LINE__ on the call's second line), via_inline
  # (passed to an inlined function that makes the call); moved_and_changed
  # also really changes, literal changes a constant that equals its call's
  # line in OLD (not in NEW)
  diff_case lineargs pie
  assert_success
  assert_equal "$(json '.changed')" '["moved_and_changed","literal"]'
  for f in hot direct via_inline; do
    assert_output --partial "function $f: only __LINE__ argument line numbers changed: not patched"
  done
  refute_output --partial "function literal: only"
  live_check
  diff_case lineargs pie --patch-line-changes
  assert_success
  assert_equal "$(json '.changed | sort')" '["direct","hot","literal","moved_and_changed","via_inline"]'
}

@test "a real constant change inside an instruction holding an 0xba byte, near an assert, is patched" {
  # imul $0x5634ba -> $0x5734ba (69 c7 ba 34 5X 00) a few instructions before
  # __assert_fail: not a `mov $LINE, %edx`, so not an assert line change
  diff_case assertfake pie
  assert_success
  assert_equal "$(json '.changed | index("scale") != null')" true
  refute_output --partial "only assert() line numbers changed"
}

@test "a large automatic array's initializer template (anonymous, writable .data under PIC) travels in the patch, live" {
  # const char *help[] = {60 strings} inside usage(): GCC copies it from an
  # unnamed template, in .data under PIC and in .rodata otherwise
  local mode
  for mode in pie nopie O0 nopie-O0; do
    diff_case helptable $mode
    assert_success
    assert_equal "$(json .changed)" '["usage"]'
    assert_equal "$(json .refused)" '[]'
    dump
    # the template alone (488 bytes: 61 pointers) in the patch's read-only
    # data, with its strings; never the OLD module's
    if [[ $mode == pie || $mode == O0 ]]; then
      assert_output --regexp 'R_X86_64_PC32 -> patch \.data \.lp\.rodata\+0x'
    fi
    refute_output --regexp '-> module \.(data|rodata)'
    assert_output --partial "data 0, bss 0 bytes"
    live_check
  done
}

@test "at -O0 a string added in one function does not change another that uses later strings, live" {
  # plain .rodata: the new string shifts banner()'s strings and those the
  # initializer of the writable table names points to (no DATA_INIT)
  local mode
  for mode in O0 nopie-O0; do
    diff_case ostrings $mode
    assert_success
    assert_equal "$(json .changed)" '["greet"]'
    assert_equal "$(json .refused)" '[]'
    live_check
  done
}

@test "anonymous writable data that code writes (assembly, no symbol) is refused, naming it" {
  diff_case anonstate pie
  assert_failure 3
  assert_equal "$(json '[.refused[].code]')" '["UNRESOLVED"]'
  assert_output --regexp 'symbol \.data\+0x[0-9a-f]+ \(referenced from count\.c\): anonymous writable data'
}
