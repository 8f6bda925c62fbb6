#!/usr/bin/env bats
# C++ targets (issue #15): member and virtual functions, constructors and
# destructors, COMDAT templates and inline functions, lambdas, code that
# throws or that exceptions unwind through, and function-scope statics with
# guard variables are all patched in a running process; a new virtual
# function, a changed class layout and a changed base class are refused with
# messages that name the class; C++ symbols are shown demangled.  Cases are
# cases/cxx_*/ (levels.bats runs them at every optimisation level too).
load helpers

# live_case NAME: diff cases/NAME at -O2 PIE, assert a patch, apply it live
# (in a subshell: lpdiff's output stays in $output for the test).
live_case() {
  diff_case "$1" pie
  assert_success
  (live_check)
}

# changed_has SYM: the report lists SYM as changed.
changed_has() {
  [[ $(json ".changed | index(\"$1\") != null") == true ]] ||
    fail "$1 is not in the changed functions: $(json .changed)"
}

@test "a member function" {
  live_case cxx_member
  changed_has _ZN7Counter4stepEi
  # The summary names it demangled, with its symbol.
  assert_line '  Counter::step(int) (_ZN7Counter4stepEi)'
}

@test "a virtual function called through a base pointer: the vtable is kept, its old entry redirects" {
  live_case cxx_virtual
  assert_equal "$(json .changed)" '["_ZNK6Square4areaEv"]'
  dump
  assert_output --regexp "replace Square::area\\(\\) const \\(_ZNK6Square4areaEv\\) \\(shapes\\.cc:2\\)  old $(old_global_addr _ZNK6Square4areaEv) "
  # No new vtable or typeinfo travels with the patch: existing objects and
  # new ones share the OLD vtable, whose slot reaches the redirected entry.
  refute_output --partial _ZTV
  refute_output --partial _ZTI
}

@test "a constructor and a destructor: the C1/C2 and D1/D2 aliases redirect through one entry" {
  live_case cxx_ctor
  for s in _ZN6WidgetC1Ei _ZN6WidgetC2Ei _ZN6WidgetD1Ev _ZN6WidgetD2Ev _ZN6GadgetC1Ev _ZN6GadgetC2Ev; do
    changed_has $s
  done
  # At -O2 the complete-object and base-object entries are one code body
  # (two symbols, one address): one redirect serves both.
  [[ $(old_global_addr _ZN6WidgetC1Ei) == "$(old_global_addr _ZN6WidgetC2Ei)" ]] ||
    skip "the compiler emitted two bodies: nothing to alias"
  assert_line '  Widget::Widget(int) (_ZN6WidgetC1Ei) is an alias of Widget::Widget(int) (_ZN6WidgetC2Ei) (one code body): replaced with it'
  dump
  assert_line 'functions: 3'
  assert_output --regexp "replace Widget::Widget\\(int\\) \\(_ZN6WidgetC2Ei\\) \\([^)]*\\)  old $(old_global_addr _ZN6WidgetC1Ei) "
  assert_output --regexp "replace Widget::~Widget\\(\\) \\(_ZN6WidgetD2Ev\\) \\([^)]*\\)  old $(old_global_addr _ZN6WidgetD1Ev) "
}

@test "a template instantiated in two units and an inline function of a header (COMDAT)" {
  # Each instance is in both objects; the module links one copy of each.
  diff_case cxx_comdat pie
  for f in a b; do
    nm "$T/old/$f.o" | grep -q ' W _Z5twiceIiET_S0_$' || fail "$f.o has no COMDAT twice<int>"
  done
  [[ $(nm "$T/old/prog" | grep -c ' _Z5twiceIiET_S0_$') == 1 ]] || fail "twice<int> linked more than once"
  live_case cxx_comdat
  changed_has _Z5twiceIiET_S0_
  changed_has _Z5scalei
  assert_line '  int twice<int>(int) (_Z5twiceIiET_S0_)'
}

@test "a lambda's operator(), reached through a std::function made at start-up" {
  live_case cxx_lambda
  # Its invoker's address was stored by a static constructor, it is called
  # later: not "only constructors call it" (CTOR_CHANGED).
  assert_equal "$(json .refused)" '[]'
  [[ $(json '[.changed[] | select(test("UliE_"))] | length') -ge 1 ]] ||
    fail "the lambda is not among the changed functions: $(json .changed)"
}

@test "a function that throws, and one that exceptions unwind through" {
  live_case cxx_throw
  changed_has _Z5checki
  changed_has _Z5relayi
  # Both carry their unwind information (and their .cold parts'): the
  # exception is caught by the unpatched lp_probe.
  dump
  assert_output --regexp 'unwind: [2-9] FDEs'
}

@test "a function-scope static with a guard variable keeps the running process's initialised copy" {
  live_case cxx_guard
  assert_equal "$(json .changed)" '["_Z6lookupi"]'
  assert_equal "$(json .new_variables)" '[]'
  dump
  # The guard and the object resolve to the OLD module's copies (the
  # running process's, already initialised): not fresh ones in the patch.
  assert_output --regexp "-> module guard variable for lookup\\(int\\)::reg \\(_ZGVZ6lookupiE3reg\\) $(old_local_addr g.cc _ZGVZ6lookupiE3reg) "
  assert_output --regexp "-> module _Z6lookupi::reg $(old_local_addr g.cc _ZZ6lookupiE3reg) "
  refute_output --regexp 'sizes: .* data [1-9]'
  refute_output --regexp 'sizes: .* bss [1-9]'
}

@test "refused: a new virtual function (the vtable grows)" {
  diff_case cxx_newvirtual pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [VTABLE_CHANGED] class Shape: virtual function Shape::area2() const (_ZNK5Shape5area2Ev) added (vtable 3 -> 4 slots): every existing object keeps pointing at the OLD vtable"
  assert_equal "$(json '[.refused[] | .code + ":" + .name]')" '["VTABLE_CHANGED:_ZTV5Shape"]'
}

@test "refused: a changed class layout (a member added)" {
  diff_case cxx_layout pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [LAYOUT_TYPE] type struct Point: member 'z' added at offset 8 (s.cc:3)"
  assert_output --partial "lpdiff: refused [GLOBAL_SIZE] variable p (_ZL1p): size 8 -> 12 bytes"
}

@test "refused: a changed base class (an extra base, no member moves)" {
  diff_case cxx_base pie
  assert_failure 3
  assert_output --partial "lpdiff: refused [BASE_CHANGED] class Item: base classes change (Named -> Named, Tagged): the layout and RTTI of every existing object change"
  assert_equal "$(json '[.refused[] | .code + ":" + .name]')" '["BASE_CHANGED:_ZTI4Item"]'
  # Accepted by the symbol's name, like every code.
  diff_case cxx_base pie --accept BASE_CHANGED:_ZTI4Item
  assert_success
}

@test "the new codes are listed in --help and the man page" {
  run "$LPDIFF" --help
  assert_output --partial VTABLE_CHANGED
  assert_output --partial BASE_CHANGED
  grep -q 'VTABLE_CHANGED, BASE_CHANGED' "$LP_TOP/docs/man/lpdiff.1"
}
