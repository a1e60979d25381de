"""Matching listens to catalogued tracks, on the hard cases real histories are full of."""

from __future__ import annotations

import pytest

from mydiscover.library.match import CatalogEntry, TrackMatcher, artist_key, title_key

CATALOG = [
    CatalogEntry(1, "The Beatles", "Let It Be", "Let It Be", None),
    CatalogEntry(2, "The Beatles", "Let It Be", "Past Masters", None),
    CatalogEntry(3, "Beyoncé", "Crazy in Love", "Dangerously in Love", None),
    CatalogEntry(4, "Sigur Rós", "Hoppípolla", "Takk...", "5d2dd1a4-1b4b-4e5e-9a39-4f3c2c1b0a11"),
    CatalogEntry(5, "Slowdive; Neil Halstead", "Souvlaki Space Station", "Souvlaki", None),
    CatalogEntry(6, "Aretha Franklin", "Respect", "I Never Loved a Man", None),
    CatalogEntry(7, "Otis Redding", "Respect", "Otis Blue", None),
    CatalogEntry(8, "Queen", "Don't Stop Me Now", "Jazz", None),
    CatalogEntry(9, "Simon & Garfunkel", "The Boxer", "Bridge over Troubled Water", None),
    CatalogEntry(10, "Oasis", "Live Forever", "Definitely Maybe", None),
    CatalogEntry(11, "Clean Bandit", "Rather Be (feat. Jess Glynne)", "New Eyes", None),
    CatalogEntry(12, "Arcade Fire", "Neighborhood #1 (Tunnels)", "Funeral", None),
    CatalogEntry(13, "Beethoven", "Symphony No. 5 in C minor", None, None),
    CatalogEntry(14, "Tears for Fears", "Everybody Wants to Rule the World", None, None),
    CatalogEntry(15, "!!!", "Heart of Hearts", "Myth Takes", None),
]


@pytest.fixture(scope="module")
def matcher() -> TrackMatcher:
    return TrackMatcher(CATALOG)


@pytest.mark.parametrize(
    ("artist", "title", "album", "mbid", "expected"),
    [
        # MusicBrainz recording ID wins over any name.
        ("Whoever", "Whatever", None, "5D2DD1A4-1B4B-4E5E-9A39-4F3C2C1B0A11", (4, "mbid")),
        # Accents, case and Unicode forms.
        ("Sigur Ros", "Hoppipolla", None, None, (4, "name")),
        ("BEYONCE", "crazy in love", None, None, (3, "name")),
        ("Beyonce\u0301", "Crazy In Love", None, None, (3, "name")),  # decomposed accent
        # Featured artists, in the artist or in the title.
        ("Beyoncé feat. Jay-Z", "Crazy in Love", None, None, (3, "name")),
        ("Beyoncé", "Crazy in Love (feat. Jay-Z)", None, None, (3, "name")),
        ("Beyoncé ft. Jay Z", "Crazy in Love [feat. Jay-Z]", None, None, (3, "name")),
        # Edition suffixes.
        ("The Beatles", "Let It Be - Remastered 2009", "Let It Be", None, (1, "album")),
        ("Queen", "Don't Stop Me Now (2011 Remaster)", None, None, (8, "name")),
        ("Queen", "Don\u2019t Stop Me Now", None, None, (8, "name")),  # curly apostrophe
        # A leading "The", "&" spelled out, punctuation.
        ("Beatles", "Let It Be", None, None, (1, "name")),
        ("Simon and Garfunkel", "Boxer", None, None, (9, "name")),
        # The album breaks a tie between two copies of a song.
        ("The Beatles", "Let It Be", "Past Masters", None, (2, "album")),
        # Same title by different artists: the artist decides.
        ("Otis Redding", "Respect", None, None, (7, "name")),
        ("Aretha Franklin", "Respect", None, None, (6, "name")),
        # The catalog's multi-artist tag matches on its first artist.
        ("Slowdive", "Souvlaki Space Station", None, None, (5, "name")),
        ("Clean Bandit", "Rather Be", None, None, (11, "name")),
        ("!!!", "Heart of Hearts", None, None, (15, "name")),
        # A typo is forgiven only within the same artist.
        ("Slowdive", "Souvlaki Space Statoin", None, None, (5, "fuzzy")),
    ],
)
def test_hard_cases_match(matcher, artist, title, album, mbid, expected) -> None:
    found = matcher.match(artist, title, album, mbid)

    assert found is not None and (found.track_id, found.method) == expected


@pytest.mark.parametrize(
    ("artist", "title"),
    [
        ("Oasis", "Live Forever (Live)"),  # a live recording is another recording
        ("Oasis", "Wonderwall"),
        ("Otis Reding", "Respect"),  # no fuzzy match on the artist
        ("Aretha Franklin", "Respect Yourself"),
        ("Unknown Artist", "Let It Be"),
        ("", "Let It Be"),
        ("The Beatles", ""),
        # A remix after a featuring credit is still a remix.
        ("Clean Bandit", "Rather Be (feat. Jess Glynne) [Marvin Humes Remix]"),
        # Numbers decide: another part, another symphony.
        ("Arcade Fire", "Neighborhood #2 (Laika)"),
        ("Arcade Fire", "Neighborhood #2 (Tunnels)"),
        ("Beethoven", "Symphony No. 6 in C minor"),
        # Version words decide, even when the rest is a near match.
        ("Tears for Fears", "Everybody Wants to Rule the World (Live)"),
        ("Tears for Fears", "Everybody Wants to Rule the World - Remix"),
        # A punctuation-only name is not any other punctuation-only name.
        ("???", "Heart of Hearts"),
    ],
)
def test_no_false_matches(matcher, artist, title) -> None:
    assert matcher.match(artist, title) is None


def test_keys() -> None:
    assert artist_key("The The") == "the"
    assert artist_key("AC/DC") == artist_key("AC-DC") == "ac dc"
    assert title_key("Song (Mono) [Remastered]") == "song"
    assert title_key("1979") == "1979"
    assert title_key("Song - Radio Edit") == "song"
