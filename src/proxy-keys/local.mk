# src/proxy-keys: filled in by its owner
