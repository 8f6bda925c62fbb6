# runtime/: liblivepatch (static, shared, and a sanitizer build for tests).
RUNTIME_SRCS := $(wildcard runtime/*.c)
CFLAGS_runtime := -fPIC
PUBLIC_runtime := runtime/liblivepatch.h runtime/lpatch_format.h runtime/lpstate.h runtime/lp_entry.h \
                  runtime/livepatch-hooks.h
USES_runtime :=
LIBLP_A   := $(BUILD)/lib/liblivepatch.a
LIBLP_SO  := $(BUILD)/lib/liblivepatch.so
LIBLP_SAN := $(BUILD)/san/lib/liblivepatch.a
# The shared library's ABI version: its SONAME liblivepatch.so.$(LIBLP_ABI),
# the installed file's name (liblivepatch.so links to it for -llivepatch).
LIBLP_ABI := 0

$(LIBLP_A): $(call objs,$(RUNTIME_SRCS))
	$(archive)

$(LIBLP_SO): $(call objs,$(RUNTIME_SRCS))
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,liblivepatch.so.$(LIBLP_ABI) -o $@ $^ -lxxhash

$(LIBLP_SAN): $(call sanobjs,$(RUNTIME_SRCS))
	$(archive)

ALL_TARGETS += $(LIBLP_A) $(LIBLP_SO)
SAN_TARGETS += $(LIBLP_SAN)

define INSTALL_RUNTIME
	install -D -m 0644 $(LIBLP_A) $(DESTDIR)$(PREFIX)/lib/liblivepatch.a
	install -D -m 0644 $(LIBLP_SO) $(DESTDIR)$(PREFIX)/lib/liblivepatch.so.$(LIBLP_ABI)
	ln -sfn liblivepatch.so.$(LIBLP_ABI) $(DESTDIR)$(PREFIX)/lib/liblivepatch.so
	install -D -m 0644 runtime/liblivepatch.h $(DESTDIR)$(PREFIX)/include/livepatch/liblivepatch.h
	install -D -m 0644 runtime/lpatch_format.h $(DESTDIR)$(PREFIX)/include/livepatch/lpatch_format.h
	install -D -m 0644 runtime/lpstate.h $(DESTDIR)$(PREFIX)/include/livepatch/lpstate.h
	install -D -m 0644 runtime/lp_entry.h $(DESTDIR)$(PREFIX)/include/livepatch/lp_entry.h
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/$(MULTIARCH)/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LP_VERSION)|' runtime/liblivepatch.pc.in \
	    >$(DESTDIR)$(PREFIX)/lib/$(MULTIARCH)/pkgconfig/liblivepatch.pc

endef
INSTALL_STEPS += $(INSTALL_RUNTIME)

# runtime/hooks/: the in-target hook runtime (shadow variables, lp_veto).
# Not part of liblivepatch: it runs inside the target, so it is built
# freestanding - no libc, no stack protector, no TLS, no constructors, no
# calls gcc might invent (memset), position independent, only the API
# visible - into ONE relocatable object that lpdiff links into patches, and
# an archive of that object for linking a NEW build that runs directly.
# Its sources see runtime's public headers only (build/include/runtime).
HOOKS_SRCS     := $(wildcard runtime/hooks/*.c)
HOOKS_CPPFLAGS := -I$(BUILD)/include/runtime
HOOKS_CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -O2 -fno-strict-aliasing -MMD -MP \
                  -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns \
                  -fPIC -fvisibility=hidden -fno-stack-protector -fno-stack-clash-protection \
                  -fcf-protection=full -fno-asynchronous-unwind-tables -fno-unwind-tables \
                  -fno-reorder-blocks-and-partition -fno-common -fno-sanitize=all
HOOKS_OBJ      := $(BUILD)/lib/livepatch-hooks.o
HOOKS_A        := $(BUILD)/lib/liblivepatch-hooks.a
HOOKS_PARTS    := $(patsubst runtime/hooks/%.c,$(BUILD)/hooks/%.o,$(HOOKS_SRCS))
# The unit tests compile the same sources the ordinary way (sanitizers on).
HOOKS_SAN_OBJS := $(call sanobjs,$(HOOKS_SRCS))
CPPFLAGS_DIR_runtime/hooks := $(HOOKS_CPPFLAGS)

$(BUILD)/hooks/%.o: runtime/hooks/%.c | public-headers
	@mkdir -p $(@D)
	$(CC) $(HOOKS_CPPFLAGS) $(HOOKS_CFLAGS) -c $< -o $@

$(BUILD)/san/obj/runtime/hooks/%.o: runtime/hooks/%.c | public-headers
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(HOOKS_CPPFLAGS) $(CFLAGS_ALL) $(SANFLAGS) -fPIC -c $< -o $@

$(HOOKS_OBJ): $(HOOKS_PARTS)
	@mkdir -p $(@D)
	ld -r -o $@ $^

$(HOOKS_A): $(HOOKS_OBJ)
	$(archive)

ALL_TARGETS += $(HOOKS_OBJ) $(HOOKS_A)

define INSTALL_HOOKS
	install -D -m 0644 $(HOOKS_OBJ) $(DESTDIR)$(PREFIX)/lib/livepatch/livepatch-hooks.o
	install -D -m 0644 $(HOOKS_A) $(DESTDIR)$(PREFIX)/lib/liblivepatch-hooks.a
	install -D -m 0644 runtime/livepatch-hooks.h $(DESTDIR)$(PREFIX)/include/livepatch/livepatch-hooks.h

endef
INSTALL_STEPS += $(INSTALL_HOOKS)
