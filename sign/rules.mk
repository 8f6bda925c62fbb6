# sign/: liblpsign, Ed25519 signatures of patch files and manifests in
# signify's formats (libsodium), and the policy of the keys directory.
SIGN_SRCS := $(wildcard sign/*.c)
PUBLIC_sign := sign/lpsign.h
USES_sign :=
LIBLPSIGN_A   := $(BUILD)/lib/liblpsign.a
LIBLPSIGN_SAN := $(BUILD)/san/lib/liblpsign.a
LIBS_SIGN := -lsodium

$(LIBLPSIGN_A): $(call objs,$(SIGN_SRCS))
	$(archive)

$(LIBLPSIGN_SAN): $(call sanobjs,$(SIGN_SRCS))
	$(archive)

ALL_TARGETS += $(LIBLPSIGN_A)
SAN_TARGETS += $(LIBLPSIGN_SAN)
