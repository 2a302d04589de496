# src/lib/host.mk: sources of the host part of the core
