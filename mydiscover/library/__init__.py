"""The library stage: find audio files, read their tags, keep the catalog in step with the disk."""
