// Filled in by the generation work.
