# applier/: lpatch, the ptrace-based command.
APPLIER_SRCS := $(filter-out applier/main.c,$(wildcard applier/*.c))
# The plugin's record reader (liblpmeta): stacked patches name
# function-scope statics by their stable names.
PUBLIC_applier :=
USES_applier := runtime gcc-plugin
LPATCH     := $(BUILD)/bin/lpatch
LPATCH_SAN := $(BUILD)/san/bin/lpatch

$(LPATCH): $(call objs,applier/main.c $(APPLIER_SRCS)) $(LIBLPMETA_A) $(LIBLP_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND)

$(LPATCH_SAN): $(call sanobjs,applier/main.c $(APPLIER_SRCS)) $(LIBLPMETA_SAN) $(LIBLP_SAN)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_ELF) $(LIBS_UNWIND)

ALL_TARGETS += $(LPATCH)
SAN_TARGETS += $(LPATCH_SAN)

define INSTALL_APPLIER
	install -D -m 0755 $(LPATCH) $(DESTDIR)$(PREFIX)/bin/lpatch

endef
INSTALL_STEPS += $(INSTALL_APPLIER)
