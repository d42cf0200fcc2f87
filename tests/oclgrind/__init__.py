"""The Oclgrind kernel-coverage subset (a package, so its conftest does not shadow tests/conftest)."""
