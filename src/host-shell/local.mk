# src/host-shell: filled in by its owner
