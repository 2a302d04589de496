# packaging: filled in by its owner
