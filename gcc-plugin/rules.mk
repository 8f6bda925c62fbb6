# gcc-plugin/: livepatch.so, built with g++ against GCC's plugin headers.
GCC_PLUGIN_DIR := $(shell $(CC) -print-file-name=plugin)
PLUGIN_SRCS := $(wildcard gcc-plugin/*.cc)
PLUGIN_CXXFLAGS := -std=gnu++17 -fPIC -fno-rtti -fno-exceptions -O2 -g -Wall -Wextra -Werror \
                   -Wno-unused-parameter -I$(GCC_PLUGIN_DIR)/include -Igcc-plugin -I$(BUILD)/include/runtime
PLUGIN := $(BUILD)/livepatch.so
PUBLIC_gcc-plugin := gcc-plugin/lpmeta.h gcc-plugin/lpmeta_read.h
USES_gcc-plugin := runtime

# liblpmeta: the C reader of the records (lpmeta_read.h), beside the contract
# it reads; lpdiff and lpatch link it.
LPMETA_SRCS := gcc-plugin/lpmeta_read.c
LIBLPMETA_A   := $(BUILD)/lib/liblpmeta.a
LIBLPMETA_SAN := $(BUILD)/san/lib/liblpmeta.a
$(LIBLPMETA_A): $(call objs,$(LPMETA_SRCS))
	$(archive)
$(LIBLPMETA_SAN): $(call sanobjs,$(LPMETA_SRCS))
	$(archive)
ALL_TARGETS += $(LIBLPMETA_A)
SAN_TARGETS += $(LIBLPMETA_SAN)

$(BUILD)/obj/gcc-plugin/%.o: gcc-plugin/%.cc gcc-plugin/lpmeta.h | public-headers
	@mkdir -p $(@D)
	$(CXX) $(PLUGIN_CXXFLAGS) -MMD -MP -c $< -o $@

$(PLUGIN): $(patsubst gcc-plugin/%.cc,$(BUILD)/obj/gcc-plugin/%.o,$(PLUGIN_SRCS))
	$(CXX) -shared -Wl,-soname,livepatch.so -o $@ $^ -lxxhash

ALL_TARGETS += $(PLUGIN)

# Both spellings users write: -fplugin=livepatch (GCC's plugin dir) and
# -fplugin=livepatch.so (dlopen()ed by name: the multiarch libdir).
MULTIARCH_LIBDIR := /usr/lib/$(MULTIARCH)
define INSTALL_PLUGIN
	install -D -m 0644 $(PLUGIN) $(DESTDIR)$(GCC_PLUGIN_DIR)/livepatch.so
	install -D -m 0644 $(PLUGIN) $(DESTDIR)$(MULTIARCH_LIBDIR)/livepatch.so
	install -D -m 0644 gcc-plugin/lpmeta.h $(DESTDIR)$(PREFIX)/include/livepatch/lpmeta.h

endef
INSTALL_STEPS += $(INSTALL_PLUGIN)
