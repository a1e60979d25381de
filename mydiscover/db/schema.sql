-- The schema of a new mydiscover database (version 12), written by
-- tools/schema_snapshot.py from the migrations in mydiscover/db/schema.py.
CREATE TABLE audio_to_cf (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    made_from   TEXT NOT NULL,
    map         BLOB NOT NULL               -- NumPy .npz: weights, x_mean, y_mean
);

CREATE TABLE bans (
    track_id    INTEGER PRIMARY KEY REFERENCES tracks (id),
    banned_at   INTEGER NOT NULL
);

CREATE TABLE cf_fold (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    model_fingerprint  TEXT NOT NULL,
    history_marker     TEXT NOT NULL,  -- listens and tag play counts when the user was folded in
    user_artists       INTEGER NOT NULL,
    matched_artists    INTEGER NOT NULL,
    scored_tracks      INTEGER NOT NULL,
    user_factors       BLOB,               -- float32: the user's place among the listeners
    folded_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE cf_scores (
    track_id   INTEGER PRIMARY KEY REFERENCES tracks (id),
    score      REAL NOT NULL,
    percentile REAL NOT NULL,          -- rank among the library's artists: 1 is the best
    artist     TEXT NOT NULL,          -- the public artist the track was matched to
    -- mbid / name: the artist is in the public data; similar: it is not, but a similarity
    -- service lists it beside one of the user's artists
    matched_by TEXT NOT NULL CHECK (matched_by IN ('mbid', 'name', 'similar')),
    because    TEXT                    -- the user's artist most like it, for explanations
);

CREATE TABLE crawls (
    artist_key  TEXT NOT NULL,
    album_key   TEXT NOT NULL,
    source      TEXT NOT NULL,
    crawled_at  INTEGER NOT NULL,
    found       INTEGER NOT NULL,        -- documents stored
    error       TEXT,                    -- why it failed, in one line
    PRIMARY KEY (artist_key, album_key, source)
);

CREATE TABLE documents (
    id          INTEGER PRIMARY KEY,
    artist_key  TEXT NOT NULL,
    album_key   TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,           -- wikipedia, lastfm, lastfm-tags, feed, page
    url         TEXT NOT NULL,
    title       TEXT,
    text        TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL,        -- UTC seconds
    UNIQUE (artist_key, album_key, source, url)
);

CREATE TABLE feedback (
    track_id    INTEGER PRIMARY KEY REFERENCES tracks (id),
    kind        TEXT NOT NULL CHECK (kind IN ('love', 'skip')),
    said_at     INTEGER NOT NULL            -- UTC seconds
);

CREATE TABLE history_imports (
    source         TEXT NOT NULL,
    account        TEXT NOT NULL,
    imported_until INTEGER,      -- every listen up to this time (UTC seconds) is in
    run_from       INTEGER,      -- an unfinished run: its window...
    run_to         INTEGER,
    run_cursor     INTEGER,      -- ...and how far it got (a page, or a timestamp)
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (source, account)
);

CREATE TABLE learned_blend (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    learned_at  INTEGER NOT NULL,           -- UTC seconds
    blend       TEXT NOT NULL               -- JSON: weights, offsets, source, note
);

CREATE TABLE listens (
    id              INTEGER PRIMARY KEY,
    listened_at     INTEGER NOT NULL,           -- UTC seconds
    artist          TEXT NOT NULL,
    title           TEXT NOT NULL,
    album           TEXT,
    mb_recording_id TEXT,
    mb_artist_id    TEXT,
    mb_release_id   TEXT,
    source          TEXT NOT NULL,              -- lastfm, listenbrainz, file:<format>
    artist_key      TEXT NOT NULL,
    title_key       TEXT NOT NULL,
    track_id        INTEGER REFERENCES tracks (id),
    matched_by      TEXT CHECK (matched_by IN ('mbid', 'name', 'album', 'fuzzy')),
    UNIQUE (artist_key, title_key, listened_at)
);

CREATE TABLE rematch_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    tried_until TEXT NOT NULL
);

CREATE TABLE scan_errors (
    id         INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    path       BLOB NOT NULL,
    path_text  TEXT NOT NULL,
    message    TEXT NOT NULL,
    seen_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    roots       TEXT NOT NULL,             -- JSON list of the roots, for people
    outcome     TEXT NOT NULL DEFAULT 'running'
                CHECK (outcome IN ('running', 'complete', 'interrupted', 'failed')),
    new         INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    moved       INTEGER NOT NULL DEFAULT 0,
    restored    INTEGER NOT NULL DEFAULT 0,
    missing     INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE server_songs (
    server      TEXT NOT NULL,             -- the server's URL
    song_id     TEXT NOT NULL,
    track_id    INTEGER REFERENCES tracks (id),
    matched_by  TEXT CHECK (matched_by IN ('mbid', 'tags')),
    play_count  INTEGER NOT NULL DEFAULT 0,
    starred     INTEGER NOT NULL DEFAULT 0,
    synced_at   INTEGER NOT NULL,
    PRIMARY KEY (server, song_id)
);

CREATE TABLE similar_artists (
    source       TEXT NOT NULL,        -- lastfm or listenbrainz
    artist_key   TEXT NOT NULL,        -- one of the user's artists
    similar_key  TEXT NOT NULL,
    similar_name TEXT NOT NULL,
    similar_mbid TEXT,
    match        REAL NOT NULL CHECK (match BETWEEN 0 AND 1),
    PRIMARY KEY (source, artist_key, similar_key)
);

CREATE TABLE similar_fetches (
    source     TEXT NOT NULL,
    artist_key TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,       -- UTC seconds
    found      INTEGER NOT NULL,       -- how many similar artists the service listed
    PRIMARY KEY (source, artist_key)
);

CREATE TABLE taste_map (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    made_from   TEXT NOT NULL,
    track_ids   BLOB NOT NULL,              -- int64, little-endian
    points      BLOB NOT NULL               -- [n, 2] float32, little-endian, in [0, 1]
);

CREATE TABLE term_entities (
    artist_key  TEXT NOT NULL,
    album_key   TEXT NOT NULL,
    words       INTEGER NOT NULL,
    PRIMARY KEY (artist_key, album_key)
);

CREATE TABLE terms (
    artist_key  TEXT NOT NULL,
    album_key   TEXT NOT NULL,
    term        TEXT NOT NULL,
    weight      REAL NOT NULL,
    PRIMARY KEY (artist_key, album_key, term)
);

CREATE TABLE terms_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    documents_marker TEXT NOT NULL,
    entities         INTEGER NOT NULL,
    build_id         TEXT NOT NULL,      -- names the term-vector file written with them
    built_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE track_audio (
    track_id         INTEGER PRIMARY KEY REFERENCES tracks (id),
    version          INTEGER NOT NULL,
    backend          TEXT,                  -- essentia or librosa
    file_size        INTEGER NOT NULL,
    file_mtime_ns    INTEGER NOT NULL,
    error            TEXT,                  -- why the audio could not be analysed
    bpm              REAL,
    bpm_confidence   REAL,
    key              TEXT,
    scale            TEXT CHECK (scale IS NULL OR scale IN ('major', 'minor')),
    key_strength     REAL,
    loudness_lufs    REAL,
    replay_gain_db   REAL,
    danceability     REAL,
    embedding        BLOB,                  -- 200 float32, little-endian
    tag_scores       BLOB,                  -- 50 float32: musicnn's MSD tags
    patches          INTEGER,
    analysed_seconds REAL,
    analysed_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE tracks (
    id                 INTEGER PRIMARY KEY,
    path               BLOB NOT NULL UNIQUE,   -- raw file-system bytes: any file name round-trips
    path_text          TEXT NOT NULL,          -- the path for people (undecodable bytes escaped)
    root               BLOB NOT NULL,          -- the music root the file was found under
    format             TEXT,
    size               INTEGER NOT NULL,
    mtime_ns           INTEGER NOT NULL,
    device             INTEGER,
    inode              INTEGER,
    status             TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'missing', 'error')),
    error              TEXT,
    title              TEXT,
    artist             TEXT,
    album              TEXT,
    album_artist       TEXT,
    track_number       INTEGER,
    track_total        INTEGER,
    disc_number        INTEGER,
    disc_total         INTEGER,
    date               TEXT,
    year               INTEGER,
    genre              TEXT,
    mb_recording_id    TEXT,
    mb_release_id      TEXT,
    mb_artist_id       TEXT,
    mb_album_artist_id TEXT,
    isrc               TEXT,
    duration           REAL,
    bitrate            INTEGER,
    sample_rate        INTEGER,
    channels           INTEGER,
    bits_per_sample    INTEGER,
    rating             REAL CHECK (rating IS NULL OR rating BETWEEN 0 AND 1),
    play_count         INTEGER,
    added_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE weeklies (
    id          INTEGER PRIMARY KEY,
    week        TEXT NOT NULL UNIQUE,        -- ISO week, e.g. 2026-W48
    created_at  INTEGER NOT NULL,            -- UTC seconds
    seed        INTEGER NOT NULL,
    signals     TEXT NOT NULL                -- JSON: the signals that were available, weights
);

CREATE TABLE weekly_tracks (
    weekly_id   INTEGER NOT NULL REFERENCES weeklies (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    track_id    INTEGER NOT NULL REFERENCES tracks (id),
    score       REAL NOT NULL,
    lead_signal TEXT,                        -- the signal that ranked it highest
    reasons     TEXT NOT NULL,               -- JSON: {signal: reason}
    PRIMARY KEY (weekly_id, position)
);

CREATE INDEX listens_artist ON listens (artist_key, artist, mb_artist_id, listened_at);

CREATE INDEX listens_track_time ON listens (track_id, listened_at);

CREATE INDEX listens_unmatched ON listens (artist_key) WHERE track_id IS NULL;

CREATE INDEX scan_errors_root ON scan_errors (root);

CREATE INDEX server_songs_track ON server_songs (track_id);

CREATE INDEX tracks_updated ON tracks (updated_at);

CREATE INDEX weekly_tracks_track ON weekly_tracks (track_id);

CREATE VIEW track_history AS
SELECT tracks.id AS track_id,
       count(listens.id) AS listens,
       max(listens.listened_at) AS last_listened_at,
       tracks.play_count AS tag_play_count,
       tracks.rating AS tag_rating
FROM tracks LEFT JOIN listens ON listens.track_id = tracks.id
GROUP BY tracks.id;
