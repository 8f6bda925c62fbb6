#!/usr/bin/env bats
# C++ targets (issue #15): member and virtual functions, constructors and
# destructors, COMDAT templates and inline functions, lambdas, code that
# throws or that exceptions unwind through, and function-scope statics with
# guard variables are all patched in a running process; a new virtual
# function, a changed class layout and a changed base class are refused with
# messages that name the class and its symbols demangled.  Cases are in
# cases/cxx_*/ (levels.bats runs them at every optimisation level too).
load helpers

# live_case NAME: diff cases/NAME at -O2 PIE, assert a patch, apply it live.
live_case() {
  diff_case "$1" pie
  assert_success
  live_check
}

@test "a member function" {
  live_case cxx_member
  assert_equal "$(json '.changed | index("_ZN7Counter4stepEi") != null')" true
}

@test "a virtual function called through a base pointer: the vtable is kept, its old entry redirects" {
  live_case cxx_virtual
  assert_equal "$(json .changed)" '["_ZNK6Square4areaEv"]'
  # Not a new vtable: the patch carries no _ZTV/_ZTI data.
  dump
  refute_output --partial _ZTV
  refute_output --partial _ZTI
}

@test "a constructor and a destructor: every entry the compiler emitted (C1/C2, D1/D2) redirects" {
  live_case cxx_ctor
  json .changed
}

@test "a template instantiated in two units and an inline function of a header (COMDAT)" {
  live_case cxx_comdat
  json .changed
}

@test "a lambda's operator()" {
  live_case cxx_lambda
  json .changed
}

@test "a function that throws, and one that exceptions unwind through" {
  live_case cxx_throw
  json .changed
}

@test "a function-scope static with a guard variable keeps the running process's initialised copy" {
  live_case cxx_guard
  json .changed
}
