# src/proxy-shell: filled in by its owner
