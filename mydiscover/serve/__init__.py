"""``mydiscover serve``: the local web page (the weekly to hear and steer, the taste map, past
weeklies, the stages) and, in front of a Subsonic server, Instant Mix from mydiscover's
models for every Subsonic client."""
