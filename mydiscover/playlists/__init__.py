"""Playlist files: extended M3U, XSPF, JSPF and mydiscover's JSON, with three path modes."""
