# livepatch.mk - `make livepatch OLD=REV|DIR NEW=REV|DIR`: build two revisions
# of a project with the livepatch GCC plugin, diff them, and write one live
# patch per changed module.  See docs/make-livepatch.md.
#
# Two ways to use it:
#   1. in a project's Makefile:
#          LIVEPATCH_MODULES := server libfoo.so
#          include /usr/local/share/livepatch/livepatch.mk
#      then `make livepatch OLD=v1.0 NEW=v1.1`;
#   2. on a foreign project, its Makefile untouched:
#          make -f .../livepatch.mk livepatch OLD=v1.0 NEW=v1.1 \
#               LIVEPATCH_BUILD='make -C src' LIVEPATCH_MODULES=src/prog
#
# OLD/NEW: a directory holding that revision's sources, or a git revision of
# the repository around the current directory.  Each is built in
# $(LIVEPATCH_DIR)/build/<rev>/ with CC set to gcc + plugin + reproducibility
# flags (also as a make command-line override, so `CC = gcc` in the
# project's Makefile does not lose the plugin).

LIVEPATCH_MK := $(abspath $(lastword $(MAKEFILE_LIST)))
livepatch_mk_dir := $(patsubst %/,%,$(dir $(LIVEPATCH_MK)))
# Including us must not change the project's default goal.
livepatch_saved_goal := $(.DEFAULT_GOAL)

# Tools: LPDIFF, LPATCH and LIVEPATCH_PLUGIN as the user gives them, in the
# environment or on the command line; else the source tree's build/ when this
# file sits in a livepatch checkout, else the installed ones
# (-fplugin=livepatch is GCC's plugin directory).
livepatch_top := $(patsubst %/,%,$(dir $(livepatch_mk_dir)))
ifneq ($(wildcard $(livepatch_top)/gcc-plugin/lpmeta.h),)
LIVEPATCH_HOOKS_INCLUDE ?= $(livepatch_top)/runtime
LIVEPATCH_PLUGIN ?= $(livepatch_top)/build/livepatch.so
LPDIFF ?= $(livepatch_top)/build/bin/lpdiff
LPATCH ?= $(livepatch_top)/build/bin/lpatch
else
LIVEPATCH_HOOKS_INCLUDE ?= $(abspath $(livepatch_mk_dir)/../../include/livepatch)
LIVEPATCH_PLUGIN ?= livepatch
LPDIFF ?= lpdiff
LPATCH ?= lpatch
endif

# $(call livepatch_tool,T): T as the builds and livepatch.sh use it.  A name
# without a slash stays a name (PATH; GCC's plugin directory).  A relative
# path is relative to where the user ran make: $(PWD), which make -C does not
# change, when the file is there, else this directory; either way made
# absolute, because the revision builds run in other directories.
livepatch_tool = $(if $(findstring /,$(1)),$(if $(filter /%,$(1)),$(1),$(abspath \
    $(or $(if $(PWD),$(wildcard $(PWD)/$(1))),$(CURDIR)/$(1)))),$(1))
livepatch_plugin = $(call livepatch_tool,$(LIVEPATCH_PLUGIN))

LIVEPATCH_MODULES ?=
LIVEPATCH_BUILD   ?= $(MAKE)
LIVEPATCH_OUT     ?= livepatch
LIVEPATCH_DIR     ?= .livepatch
LIVEPATCH_GCC     ?= gcc
LIVEPATCH_GXX     ?= g++
LIVEPATCH_CFLAGS  ?=
OLD_BUILD         ?=
# A secret key (lpatch keygen NAME: NAME.sec): sign every patch and the
# manifest (FILE.sig).  Relative to where make ran, as the tools are.
LIVEPATCH_SIGN_KEY ?=
# LIVEPATCH_HOOKS=fix.c: a hook file (callbacks, shadow variables; see
# livepatch-hooks.h) linked into the patch, compiled with -I of the NEW
# tree and LIVEPATCH_HOOKS_CFLAGS.  One module.
LIVEPATCH_HOOKS ?=
LIVEPATCH_HOOKS_CFLAGS ?=
# Where livepatch-hooks.h is, for sources that use shadow variables
# (CPPFLAGS += -I$(LIVEPATCH_HOOKS_INCLUDE)); exported to the builds.
export LIVEPATCH_HOOKS_INCLUDE
livepatch_file = $(if $(1),$(if $(filter /%,$(1)),$(1),$(abspath \
    $(or $(if $(PWD),$(wildcard $(PWD)/$(1))),$(CURDIR)/$(1)))))

# The compiler lines for a build whose top directory is $(1).  Use them for
# the builds you deploy too, so they match what `make livepatch` rebuilds:
#     make CC="$(LIVEPATCH_CC)" CXX="$(LIVEPATCH_CXX)"   (or CC = $(LIVEPATCH_CC) ...)
# This is the only definition of those flags: livepatch.sh gets it as a
# template with @DIR@ for the build directory.
#   -g: lpdiff checks data layouts from DWARF (and refuses a build without);
#   -gno-record-gcc-switches: the plugin's path must not reach the build-id;
#   -ffile-prefix-map: the same revision built anywhere gives the same bytes.
livepatch_flags = -fplugin=$(livepatch_plugin) -g -gno-record-gcc-switches -ffile-prefix-map=$(1)=. \
                  -Wl,--build-id=sha1$(if $(LIVEPATCH_CFLAGS), $(LIVEPATCH_CFLAGS))
livepatch_cc  = $(LIVEPATCH_GCC) $(call livepatch_flags,$(abspath $(1)))
livepatch_cxx = $(LIVEPATCH_GXX) $(call livepatch_flags,$(abspath $(1)))
LIVEPATCH_CC  = $(call livepatch_cc,$(CURDIR))
LIVEPATCH_CXX = $(call livepatch_cxx,$(CURDIR))

livepatch_q = '$(subst ','\'',$(1))'
livepatch_run = LP_MODULES=$(call livepatch_q,$(strip $(LIVEPATCH_MODULES))) \
    LP_OLD=$(call livepatch_q,$(OLD)) LP_NEW=$(call livepatch_q,$(NEW)) \
    LP_OLD_BUILD=$(call livepatch_q,$(OLD_BUILD)) \
    LP_BUILD_CMD=$(call livepatch_q,$(LIVEPATCH_BUILD)) \
    LP_OUT=$(call livepatch_q,$(LIVEPATCH_OUT)) LP_WORK=$(call livepatch_q,$(LIVEPATCH_DIR)) \
    LP_GCC=$(call livepatch_q,$(LIVEPATCH_GCC)) LP_GXX=$(call livepatch_q,$(LIVEPATCH_GXX)) \
    LP_PLUGIN=$(call livepatch_q,$(livepatch_plugin)) \
    LP_FLAGS_TEMPLATE=$(call livepatch_q,$(call livepatch_flags,@DIR@)) \
    LP_LPDIFF=$(call livepatch_q,$(call livepatch_tool,$(LPDIFF))) \
    LP_LPATCH=$(call livepatch_q,$(call livepatch_tool,$(LPATCH))) \
    LP_LPDIFF_FLAGS=$(call livepatch_q,$(LIVEPATCH_LPDIFF_FLAGS)) \
    LP_SIGN_KEY=$(call livepatch_q,$(call livepatch_file,$(LIVEPATCH_SIGN_KEY))) \
    LP_HOOKS=$(call livepatch_q,$(call livepatch_file,$(LIVEPATCH_HOOKS))) \
    LP_HOOKS_CFLAGS=$(call livepatch_q,$(LIVEPATCH_HOOKS_CFLAGS)) \
    LP_VERBOSE=$(call livepatch_q,$(LIVEPATCH_VERBOSE)) \
    sh $(livepatch_mk_dir)/livepatch.sh

.PHONY: livepatch livepatch-build livepatch-cc livepatch-clean livepatch-help livepatch-deb

# make livepatch-deb: the patches of $(LIVEPATCH_OUT) as a Debian package
# (livepatch-patch-NAME) whose maintainer scripts run lpatch install/auto
# and remove/auto.
LIVEPATCH_DEB_NAME    ?= $(notdir $(CURDIR))
LIVEPATCH_DEB_VERSION ?= 1
livepatch-deb:
	@sh $(livepatch_mk_dir)/patch-deb.sh $(LIVEPATCH_OUT) $(LIVEPATCH_DEB_NAME) \
	    $(LIVEPATCH_DEB_VERSION) \
	    $(LIVEPATCH_OUT)/livepatch-patch-$(LIVEPATCH_DEB_NAME)_$(LIVEPATCH_DEB_VERSION)_all.deb

# "+": the project's build joins our jobserver (make -j).
livepatch:
	+@$(livepatch_run) livepatch

# Build one revision: make livepatch-build REV=v1  (prints the build directory)
livepatch-build:
	+@$(livepatch_run) build $(call livepatch_q,$(REV))

livepatch-cc:
	@echo $(call livepatch_q,$(LIVEPATCH_CC))

livepatch-clean:
	rm -rf $(LIVEPATCH_DIR) $(LIVEPATCH_OUT)

livepatch-help:
	@echo 'make livepatch OLD=REV|DIR NEW=REV|DIR   write $(LIVEPATCH_OUT)/*.lpatch and manifest.json'
	@echo '  LIVEPATCH_MODULES=$(LIVEPATCH_MODULES)'
	@echo '  LIVEPATCH_BUILD=$(LIVEPATCH_BUILD)   OLD_BUILD=DIR (reuse an archived OLD build)'
	@echo '  LIVEPATCH_SIGN_KEY=NAME.sec           sign the patches and the manifest (FILE.sig)'
	@echo '  LIVEPATCH_HOOKS=FILE.c                link a hook file into the patch (callbacks, shadow variables)'
	@echo 'make livepatch-deb                      the patches as a .deb (LIVEPATCH_DEB_NAME, LIVEPATCH_DEB_VERSION)'
	@echo 'make livepatch-build REV=REV|DIR        build one revision under $(LIVEPATCH_DIR)/build/'
	@echo 'make livepatch-cc                       print the compiler line for deployed builds'
	@echo 'make livepatch-clean                    remove $(LIVEPATCH_DIR) and $(LIVEPATCH_OUT)'

ifeq ($(livepatch_saved_goal),)
.DEFAULT_GOAL :=
endif
