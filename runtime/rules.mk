# runtime/: liblivepatch (static, shared, and a sanitizer build for tests).
RUNTIME_SRCS := $(wildcard runtime/*.c)
CFLAGS_runtime := -fPIC
PUBLIC_runtime := runtime/livepatch-hooks.h runtime/liblivepatch.h runtime/lpatch_format.h runtime/lpstate.h runtime/lp_entry.h
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
