# docs/man/: the manual pages, hand-written roff (lpatch.8, lpdiff.1,
# livepatch.mk.7).  make install puts them under PREFIX/share/man as they
# are; make deb compresses them.  tests/foundation/deb.bats checks that they
# describe every command and option the tools' --help prints.
MAN_PAGES := $(wildcard docs/man/*.[1-8])

define INSTALL_MAN
	$(foreach m,$(MAN_PAGES),install -D -m 0644 $(m) \
	    $(DESTDIR)$(PREFIX)/share/man/man$(subst .,,$(suffix $(m)))/$(notdir $(m));)

endef
INSTALL_STEPS += $(INSTALL_MAN)
