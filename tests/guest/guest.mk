# Test guest: build/testguest.elf and build/testguest.bzImage.
.PHONY: testguest
testguest:
