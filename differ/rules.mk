# differ/: lpdiff.  main.c holds only the command line; the rest is a
# library the C unit tests link too.  -lstdc++: __cxa_demangle, the C++
# ABI's demangler, for C++ names in messages (util.c).
DIFFER_SRCS := $(filter-out differ/main.c,$(wildcard differ/*.c))
LIBS_DIFFER := -lstdc++
PUBLIC_differ :=
USES_differ := runtime gcc-plugin cli
LPDIFF_BIN := $(BUILD)/bin/lpdiff
LPDIFF_SAN := $(BUILD)/san/bin/lpdiff

$(LPDIFF_BIN): $(call objs,differ/main.c $(DIFFER_SRCS)) $(LIBLPMETA_A) $(LIBLPCLI_A) $(LIBLP_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBS_ELF) $(LIBS_CLI) -lZydis $(LIBS_DIFFER)

$(LPDIFF_SAN): $(call sanobjs,differ/main.c $(DIFFER_SRCS)) $(LIBLPMETA_SAN) $(LIBLPCLI_SAN) $(LIBLP_SAN)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_ELF) $(LIBS_CLI) -lZydis $(LIBS_DIFFER)

ALL_TARGETS += $(LPDIFF_BIN)
SAN_TARGETS += $(LPDIFF_SAN)

define INSTALL_DIFFER
	install -D -m 0755 $(LPDIFF_BIN) $(DESTDIR)$(PREFIX)/bin/lpdiff

endef
INSTALL_STEPS += $(INSTALL_DIFFER)
