"""Small public co-listening datasets with a planted structure, written in the real formats.

Listeners belong to one of a few taste groups and play mostly that group's artists, with
heavy-tailed play counts; so a working recommender must put a listener's hidden artists of their
own group above the globally popular ones, and tests can check that with real metrics.
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import tarfile
from pathlib import Path

import numpy as np
import zstandard

GROUPS = ("Shoegaze", "Metal", "Jazz", "Techno")
ARTISTS_PER_GROUP = 15


def artist_name(group: int, index: int) -> str:
    """A readable artist name: group 0 artist 3 is 'Shoegaze Artist 3'."""
    return f"{GROUPS[group]} Artist {index}"


def planted_plays(listeners: int = 240, per_listener: int = 12, seed: int = 7) -> list[tuple]:
    """(listener, group, artist index, plays) rows: ~85% of a listener's artists from their group.

    Every group's first artists are the most popular, and group 0 is the biggest group overall.
    """
    rng = np.random.default_rng(seed)
    rows = []
    weights = 1.0 / np.arange(1, ARTISTS_PER_GROUP + 1) ** 0.8
    weights /= weights.sum()
    for listener in range(listeners):
        group = listener % len(GROUPS)
        chosen: set[tuple[int, int]] = set()
        while len(chosen) < per_listener:
            other = rng.random() > 0.85
            from_group = int(rng.integers(len(GROUPS))) if other else group
            chosen.add((from_group, int(rng.choice(ARTISTS_PER_GROUP, p=weights))))
        for from_group, index in sorted(chosen):
            rows.append((listener, group, from_group, index, int(rng.pareto(1.2) * 20) + 1))
    return rows


def write_hetrec(folder: Path, **options: int) -> Path:
    """A HetRec Last.fm 2K folder (artists.dat, user_artists.dat) of the planted data."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = {
        (group, index): group * 100 + index + 1
        for group in range(len(GROUPS))
        for index in range(ARTISTS_PER_GROUP)
    }
    artists = ["id\tname\turl\tpictureURL"]
    artists += [f"{ident}\t{artist_name(*key)}\thttp://x\thttp://y" for key, ident in ids.items()]
    (folder / "artists.dat").write_text("\r\n".join(artists) + "\r\n", encoding="utf-8")
    lines = ["userID\tartistID\tweight"]
    lines += [
        f"{listener + 2}\t{ids[(group, index)]}\t{plays}"
        for listener, _, group, index, plays in planted_plays(**options)
    ]
    (folder / "user_artists.dat").write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return folder


def write_lastfm_360k(path: Path, rows: list[str]) -> Path:
    """A gzipped Last.fm 360K TSV of the given raw lines (bytes allowed in them via latin-1)."""
    with gzip.open(path, "wb") as handle:
        for row in rows:
            handle.write(row.encode("utf-8", "surrogateescape") + b"\n")
    return path


def listenbrainz_line(
    user: str, artist: str, mbid: str | None = None, when: int = 1_600_000_000
) -> str:
    """One listen as a ListenBrainz dump writes it."""
    mapping = {"artist_mbids": [mbid], "recording_mbid": "r"} if mbid else None
    return json.dumps(
        {
            "user_name": user,
            "listened_at": when,
            "track_metadata": {
                "artist_name": artist,
                "track_name": "Song",
                "mbid_mapping": mapping,
                "additional_info": {},
            },
        }
    )


#: Words listeners tag each group's artists with (the planted text signal).
GROUP_TAGS = {
    "Shoegaze": ["shoegaze", "dream pop", "ethereal", "reverb"],
    "Metal": ["thrash metal", "heavy", "aggressive", "riffs"],
    "Jazz": ["jazz", "bebop", "saxophone", "swing"],
    "Techno": ["techno", "electronic", "minimal", "berlin"],
}


def write_hetrec_tags(folder: Path, seed: int = 11) -> Path:
    """HetRec's ``tags.dat`` (Latin-1, CRLF) and ``user_taggedartists.dat`` for the artists of
    :func:`write_hetrec`: each artist tagged a few times with its group's words, and now and
    then with a word of another group (listeners disagree)."""
    rng = np.random.default_rng(seed)
    vocabulary = sorted({tag for tags in GROUP_TAGS.values() for tag in tags} | {"café"})
    ids = {tag: n + 1 for n, tag in enumerate(vocabulary)}
    (folder / "tags.dat").write_bytes(
        ("tagID\ttagValue\r\n" + "".join(f"{i}\t{t}\r\n" for t, i in ids.items())).encode("latin-1")
    )
    lines = ["userID\tartistID\ttagID\tday\tmonth\tyear"]
    for group, name in enumerate(GROUPS):
        for index in range(ARTISTS_PER_GROUP):
            artist = group * 100 + index + 1
            for _ in range(int(rng.integers(2, 8))):
                other = rng.random() < 0.15
                words = GROUP_TAGS[GROUPS[int(rng.integers(len(GROUPS)))] if other else name]
                tag = words[int(rng.integers(len(words)))]
                lines.append(f"{int(rng.integers(2, 200))}\t{artist}\t{ids[tag]}\t1\t1\t2010")
    (folder / "user_taggedartists.dat").write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return folder


def _compressed(data: bytes, name: str) -> bytes:
    """``data`` compressed as ``name``'s ending says."""
    if name.endswith(".gz"):
        return gzip.compress(data)
    if name.endswith(".xz"):
        return lzma.compress(data)
    if name.endswith(".zst"):
        return zstandard.ZstdCompressor().compress(data)
    return data


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    """A tar archive of ``members`` (name -> bytes), itself compressed by ``path``'s ending
    (.tar, .tar.gz, .tar.xz, .tar.zst)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(_compressed(buffer.getvalue(), path.name))
    return path


def write_listens_dump(path: Path, listens: dict[str, list[str]]) -> Path:
    """A ListenBrainz listens dump as published: per listener (name -> JSON lines), a
    ``listens/<u>/<uu>/<uuid>.listens`` file located by ``index.json``, beside COPYING."""
    return write_tar(path, listens_dump_members(listens))


def write_files(folder: Path, members: dict[str, bytes]) -> Path:
    """``members`` (name -> bytes) as files under ``folder``: an archive extracted."""
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def listens_dump_members(listens: dict[str, list[str]]) -> dict[str, bytes]:
    """The files of a ListenBrainz listens dump (see write_listens_dump), by name."""
    top = "listenbrainz-listens-dump-1-20240101-000000-full"
    members: dict[str, bytes] = {f"{top}/COPYING": b"CC0\n"}
    index = {}
    for number, (user, lines) in enumerate(listens.items()):
        uuid = f"{number:08x}-0000-4000-8000-000000000000"
        data = ("\n".join(lines) + "\n").encode()
        index[user] = {"file_name": uuid, "offset": 0, "size": len(data)}
        members[f"{top}/listens/{uuid[0]}/{uuid[:2]}/{uuid}.listens"] = data
    members[f"{top}/index.json"] = json.dumps(index).encode()
    return members


def mlhd_line(when: int, artists: list[str], release: str = "", recording: str = "") -> str:
    """One MLHD listen: timestamp, artist MBIDs (comma separated), release, recording."""
    return f"{when}\t{','.join(artists)}\t{release}\t{recording}"


def write_mlhd(path: Path, listeners: dict[str, list[str]], ending: str = ".txt.gz") -> Path:
    """An MLHD tar of one file per listener (UUID -> lines), each compressed by ``ending``."""
    return write_tar(path, mlhd_members(listeners, ending))


def mlhd_members(listeners: dict[str, list[str]], ending: str = ".txt.gz") -> dict[str, bytes]:
    """MLHD's files (see write_mlhd), by name."""
    return {f"MLHD_000/{uuid}{ending}": _compressed(("\n".join(lines) + "\n").encode(), ending)
            for uuid, lines in listeners.items()}  # fmt: skip
