# src/lib/remote.mk: sources of the remote part of the core
