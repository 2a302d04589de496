# src/lib/setup.mk: sources of the setup part of the core
