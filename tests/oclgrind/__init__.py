"""The Oclgrind kernel-coverage subset (a package: its conftest does not shadow tests/conftest)."""
