# src/setup: filled in by its owner
