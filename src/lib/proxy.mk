# src/lib/proxy.mk: sources of the proxy part of the core
