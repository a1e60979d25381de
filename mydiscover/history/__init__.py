"""The history stage: what the user listened to, from Last.fm, ListenBrainz and export files,
matched to the tracks of their library."""
