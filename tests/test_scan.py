"""The incremental scan against real files: first scan, rescans, moves, deletions, bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.helpers import scan, tracks
from tests.library_factory import FORMATS, make_track, tag, write_audio


def album(root: Path, artist: str, name: str, count: int, ext: str = ".flac") -> list[Path]:
    """Write a tagged album of ``count`` tracks under root/artist/name."""
    return [
        make_track(
            root / artist / name / f"{n:02d} Song {n}{ext}",
            frequency=200 + 50 * n,
            title=f"Song {n}",
            artist=artist,
            album=name,
            track=f"{n}/{count}",
        )
        for n in range(1, count + 1)
    ]


def by_title(conn) -> dict[str, dict]:
    return {row["title"]: row for row in tracks(conn).values()}


def test_first_scan_catalogs_every_format(conn, library: Path) -> None:
    for ext in FORMATS:
        make_track(library / f"song{ext}", title=f"title {ext}", artist="A")

    report = scan(conn, library)

    assert (report.new, report.errors, report.unchanged) == (len(FORMATS), 0, 0)
    rows = tracks(conn)
    assert {row["title"] for row in rows.values()} == {f"title {ext}" for ext in FORMATS}
    assert all(row["status"] == "ok" and row["duration"] > 0 for row in rows.values())
    assert all(row["root"] == os.fsencode(library) for row in rows.values())


def test_rescan_of_unchanged_library_reads_nothing(conn, library: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 4)
    scan(conn, library)
    before = conn.execute("SELECT id, updated_at FROM tracks ORDER BY id").fetchall()

    report = scan(conn, library)

    assert (report.new, report.changed, report.unchanged, report.missing) == (0, 0, 4, 0)
    assert conn.execute("SELECT id, updated_at FROM tracks ORDER BY id").fetchall() == before


def test_changed_file_is_reread_and_keeps_its_id(conn, library: Path) -> None:
    first = album(library, "Slowdive", "Souvlaki", 3)[0]
    scan(conn, library)
    old_id = by_title(conn)["Song 1"]["id"]

    make_track(first, title="Alison", artist="Slowdive", album="Souvlaki", track="1/3")
    os.utime(first, ns=(1, 2_000_000_000_000_000_000))  # a clearly different mtime
    report = scan(conn, library)

    assert (report.changed, report.unchanged, report.new) == (1, 2, 0)
    assert by_title(conn)["Alison"]["id"] == old_id


def test_renamed_file_keeps_its_identity(conn, library: Path) -> None:
    songs = album(library, "Slowdive", "Souvlaki", 3)
    scan(conn, library)
    old_id = by_title(conn)["Song 2"]["id"]

    renamed = songs[1].with_name("02 - Souvlaki Space Station.flac")
    songs[1].rename(renamed)
    report = scan(conn, library)

    assert (report.moved, report.new, report.missing) == (1, 0, 0)
    row = by_title(conn)["Song 2"]
    assert row["id"] == old_id
    assert row["path"] == os.fsencode(renamed)
    assert row["status"] == "ok"


def test_moved_folder_keeps_identity_of_every_track(conn, library: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 3)
    scan(conn, library)
    ids = {title: row["id"] for title, row in by_title(conn).items()}

    (library / "Shoegaze").mkdir()
    (library / "Slowdive").rename(library / "Shoegaze" / "Slowdive")
    report = scan(conn, library)

    assert (report.moved, report.new, report.missing) == (3, 0, 0)
    assert {title: row["id"] for title, row in by_title(conn).items()} == ids


def test_copy_to_another_disk_is_matched_by_tags(conn, library: Path, tmp_path: Path) -> None:
    # A copy has a new inode and a new mtime: only the tags tell it is the same recording.
    song = make_track(
        library / "a.mp3", title="When the Sun Hits", artist="Slowdive", album="Souvlaki",
        mb_recording_id="aaaaaaaa-0000-0000-0000-000000000001", mb_release_id="r1",
    )  # fmt: skip
    scan(conn, library)
    old_id = next(iter(tracks(conn).values()))["id"]

    new_disk = tmp_path / "NewDisk"
    new_disk.mkdir()
    shutil.copyfile(song, new_disk / "a.mp3")
    song.unlink()
    report = scan(conn, library, new_disk)

    assert (report.moved, report.new, report.missing) == (1, 0, 0)
    (row,) = tracks(conn).values()
    assert row["id"] == old_id
    assert row["root"] == os.fsencode(new_disk)


def test_two_vanished_copies_never_merge_into_one(conn, library: Path) -> None:
    first = make_track(library / "a.flac", title="Dagger", artist="Slowdive", album="Souvlaki")
    shutil.copyfile(first, library / "b.flac")
    scan(conn, library)
    shutil.copyfile(first, library / "c.flac")
    first.unlink()
    (library / "b.flac").unlink()

    report = scan(conn, library)

    # Two identical tracks vanished and one copy appeared: which one it is cannot be known.
    assert (report.new, report.moved, report.missing) == (1, 0, 2)


def test_one_vanished_track_is_claimed_by_one_copy_only(conn, library: Path) -> None:
    song = make_track(library / "a.flac", title="Dagger", artist="Slowdive", album="Souvlaki")
    scan(conn, library)
    old_id = next(iter(tracks(conn).values()))["id"]
    shutil.copyfile(song, library / "b.flac")
    shutil.copyfile(song, library / "c.flac")
    song.unlink()

    report = scan(conn, library)

    assert (report.new, report.moved, report.missing) == (1, 1, 0)
    assert old_id in {row["id"] for row in tracks(conn).values()}


def test_deleted_file_is_marked_missing_never_deleted(conn, library: Path) -> None:
    songs = album(library, "Slowdive", "Souvlaki", 3)
    scan(conn, library)

    songs[0].unlink()
    report = scan(conn, library)

    assert (report.missing, report.unchanged) == (1, 2)
    assert by_title(conn)["Song 1"]["status"] == "missing"
    assert len(tracks(conn)) == 3


def test_disconnected_drive_then_restored(conn, library: Path, tmp_path: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 3)
    scan(conn, library)
    ids = sorted(row["id"] for row in tracks(conn).values())
    parked = tmp_path / "unplugged"

    library.rename(parked)  # the drive is gone
    gone = scan(conn, library)
    assert gone.missing == 3
    assert gone.errors == 1  # the root itself could not be opened
    assert {row["status"] for row in tracks(conn).values()} == {"missing"}

    parked.rename(library)  # and back
    back = scan(conn, library)
    assert (back.restored, back.new, back.missing, back.errors) == (3, 0, 0, 0)
    assert sorted(row["id"] for row in tracks(conn).values()) == ids
    assert {row["status"] for row in tracks(conn).values()} == {"ok"}


def test_drive_remounted_elsewhere_keeps_identity(conn, library: Path, tmp_path: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 2)
    scan(conn, library)
    ids = {title: row["id"] for title, row in by_title(conn).items()}
    new_mount = library.rename(tmp_path / "media-usb1")
    scan(conn, library)  # the old mount point: all missing

    report = scan(conn, new_mount)

    assert report.moved == 2
    assert {title: row["id"] for title, row in by_title(conn).items()} == ids


def test_drive_remounted_and_only_new_place_scanned(conn, library: Path, tmp_path: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 2)
    scan(conn, library)
    ids = {title: row["id"] for title, row in by_title(conn).items()}

    report = scan(conn, library.rename(tmp_path / "media-usb1"))

    # The old root was not scanned, but its files are gone: the new ones are the same tracks.
    assert (report.moved, report.new) == (2, 0)
    assert {title: row["id"] for title, row in by_title(conn).items()} == ids


def test_scanning_one_root_leaves_others_alone(conn, library: Path, tmp_path: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 2)
    other = tmp_path / "Other"
    album(other, "Ride", "Nowhere", 2)
    scan(conn, library, other)

    report = scan(conn, other)

    assert (report.unchanged, report.missing) == (2, 0)
    assert {row["status"] for row in tracks(conn).values()} == {"ok"}


def test_overlapping_roots_count_each_file_once(conn, library: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 2)

    report = scan(conn, library, library / "Slowdive")
    nested_first = scan(conn, library / "Slowdive", library, library)

    assert (report.new, report.errors) == (2, 0)
    assert (nested_first.unchanged, nested_first.errors, nested_first.missing) == (2, 0, 0)
    assert len(tracks(conn)) == 2


def test_hidden_files_and_folders_are_skipped(conn, library: Path) -> None:
    make_track(library / "visible.mp3", title="visible")
    make_track(library / ".Trash-1000" / "deleted.mp3", title="trash")
    (library / "._visible.mp3").write_bytes(b"\x00\x05\x16\x07AppleDouble")

    report = scan(conn, library)

    assert (report.new, report.errors) == (1, 0)


def test_non_audio_files_are_ignored(conn, library: Path) -> None:
    (library / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    (library / "notes.txt").write_text("liner notes")
    make_track(library / "song.ogg", title="song")

    assert scan(conn, library).new == 1


def test_non_utf8_and_odd_file_names(conn, library: Path) -> None:
    raw_dir = os.fsencode(library) + b"/Bj\xf6rk"  # Latin-1 folder name, not valid UTF-8
    os.mkdir(raw_dir)
    raw_file = raw_dir + b"/J\xf3ga \xff.flac"
    os.rename(write_audio(library / "plain.flac"), raw_file)
    make_track(library / "日本" / "曲 #1 ; 'quotes' \"and\" spaces.mp3", title="unicode")
    make_track(library / "line\nbreak.wav", title="newline")

    report = scan(conn, library)

    assert (report.new, report.errors) == (3, 0)
    rows = tracks(conn)
    assert raw_file in rows
    assert rows[raw_file]["path_text"].endswith("Bj\\xf6rk/J\\xf3ga \\xff.flac")
    assert scan(conn, library).unchanged == 3


def test_corrupt_and_fake_audio_are_recorded_and_the_scan_goes_on(conn, library: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 2)
    (library / "fake.mp3").write_text("<html>not audio</html>")
    (library / "empty.flac").write_bytes(b"")
    truncated = write_audio(library / "truncated.ogg", seconds=1.0)
    truncated.write_bytes(truncated.read_bytes()[:60])

    report = scan(conn, library)

    assert (report.new, report.errors) == (5, 3)
    errors = {
        os.path.basename(row["path_text"]): row["error"]
        for row in tracks(conn).values()
        if row["status"] == "error"
    }
    assert set(errors) == {"fake.mp3", "empty.flac", "truncated.ogg"}
    assert all(message and "\n" not in message for message in errors.values())

    # Unchanged broken files are not read again, but they are still errors.
    again = scan(conn, library)
    assert (again.unchanged, again.errors, again.changed) == (2, 3, 0)


def test_fixed_file_becomes_ok_and_broken_track_keeps_its_tags(conn, library: Path) -> None:
    song = make_track(library / "song.flac", title="Machine Gun", artist="Slowdive")
    scan(conn, library)
    good = song.read_bytes()

    song.write_bytes(good[:50])  # a bad copy over the good file
    broken = scan(conn, library)
    (row,) = tracks(conn).values()
    assert (broken.changed, broken.errors) == (1, 1)
    assert (row["status"], row["title"]) == ("error", "Machine Gun")

    song.write_bytes(good)
    os.utime(song, ns=(1, 3_000_000_000_000_000_000))
    fixed = scan(conn, library)
    (row,) = tracks(conn).values()
    assert (fixed.changed, fixed.errors) == (1, 0)
    assert (row["status"], row["error"]) == ("ok", None)


def test_symlinks_loops_and_broken_links(conn, library: Path, tmp_path: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 2)
    elsewhere = tmp_path / "elsewhere"
    album(elsewhere, "Ride", "Nowhere", 1)
    (library / "linked").symlink_to(elsewhere)  # a followed folder link
    (library / "Slowdive" / "loop").symlink_to(library)  # points back up: a loop
    (library / "dead.mp3").symlink_to(tmp_path / "gone.mp3")  # dangling
    os.link(library / "Slowdive" / "Souvlaki" / "01 Song 1.flac", library / "hardlink.flac")

    report = scan(conn, library)

    assert report.new == 3  # two Slowdive songs and one Ride song; the hard link counted once
    problems = dict(conn.execute("SELECT path_text, message FROM scan_errors").fetchall())
    assert "symlink loop" in problems[str(library / "Slowdive" / "loop")]
    assert "broken symbolic link" in problems[str(library / "dead.mp3")]
    assert report.errors == 2


def test_fifo_with_audio_name_is_an_error_not_a_hang(conn, library: Path) -> None:
    os.mkfifo(library / "pipe.mp3")

    report = scan(conn, library)

    assert (report.new, report.errors) == (0, 1)


def test_problems_are_replaced_on_each_scan(conn, library: Path, tmp_path: Path) -> None:
    (library / "dead.mp3").symlink_to(tmp_path / "gone.mp3")
    scan(conn, library)
    (library / "dead.mp3").unlink()

    report = scan(conn, library)

    assert report.errors == 0
    assert conn.execute("SELECT count(*) FROM scan_errors").fetchone()[0] == 0


def test_worker_processes_give_the_same_catalog(conn, library: Path, tmp_path: Path) -> None:
    template = make_track(library / "template.wav", seconds=0.05).read_bytes()
    (library / "template.wav").unlink()
    for n in range(300):  # enough for chunks to go to the workers while the walk goes on
        path = library / f"{n // 50}" / f"{n:03d}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(template)
        tag(path, title=f"t{n}", artist=f"a{n % 7}")
    (library / "bad.mp3").write_bytes(b"junk")

    parallel = scan(conn, library, jobs=2)

    assert (parallel.new, parallel.errors) == (301, 1)
    serial_db = tmp_path / "serial.db"
    from mydiscover.db import open_database

    serial_conn = open_database(serial_db)
    scan(serial_conn, library, jobs=1)
    strip = {"id", "added_at", "updated_at"}

    def content(c) -> list:
        return sorted(
            tuple(v for k, v in row.items() if k not in strip) for row in tracks(c).values()
        )

    assert content(conn) == content(serial_conn)


def test_scan_log_records_each_run(conn, library: Path) -> None:
    album(library, "Slowdive", "Souvlaki", 2)
    scan(conn, library)
    scan(conn, library)

    rows = conn.execute("SELECT outcome, new, unchanged FROM scans ORDER BY id").fetchall()

    assert rows == [("complete", 2, 0), ("complete", 0, 2)]


def test_file_moved_and_another_put_in_its_place(conn, library: Path) -> None:
    first = make_track(library / "a.flac", title="Alison", artist="Slowdive")
    scan(conn, library)
    alison_id = by_title(conn)["Alison"]["id"]

    first.rename(library / "moved.flac")
    make_track(library / "a.flac", seconds=1.0, title="Other", artist="Ride")
    report = scan(conn, library)

    assert (report.moved, report.new, report.changed, report.missing) == (1, 1, 0, 0)
    rows = by_title(conn)
    assert rows["Alison"]["id"] == alison_id
    assert rows["Alison"]["path"] == os.fsencode(library / "moved.flac")
    assert rows["Other"]["id"] != alison_id


def test_a_copy_never_takes_the_identity_of_the_moved_file(conn, library: Path) -> None:
    song = make_track(library / "b.flac", title="Dagger", artist="Slowdive", album="Souvlaki")
    scan(conn, library)
    old_id = next(iter(tracks(conn).values()))["id"]

    shutil.copyfile(song, library / "a-copy.flac")  # sorts first, matches by tags
    song.rename(library / "c.flac")  # the real move: same inode
    report = scan(conn, library)

    assert (report.moved, report.new) == (1, 1)
    assert tracks(conn)[os.fsencode(library / "c.flac")]["id"] == old_id


def test_missing_track_back_changed_is_not_also_claimed(conn, library: Path) -> None:
    song = make_track(library / "b.flac", title="Dagger", artist="Slowdive")
    scan(conn, library)
    parked = song.rename(library.parent / "parked.flac")
    scan(conn, library)  # b.flac is missing now
    parked.rename(song)
    make_track(song, seconds=1.0, title="Dagger", artist="Slowdive")  # back, but re-encoded
    shutil.copyfile(song, library / "c.flac")

    report = scan(conn, library)

    assert (report.changed, report.new, report.moved) == (1, 1, 0)
    assert len(tracks(conn)) == 2


def test_unreadable_file_stays_an_error_after_missing_and_restored(conn, library: Path) -> None:
    fake = library / "fake.mp3"
    fake.write_text("not audio")
    scan(conn, library)
    parked = fake.rename(library.parent / "parked.mp3")
    scan(conn, library)
    parked.rename(fake)

    report = scan(conn, library)

    (row,) = tracks(conn).values()
    assert row["status"] == "error"
    assert report.errors == 1


def test_unreadable_file_is_read_again_once_fixed_even_with_same_size_and_mtime(
    conn, library: Path
) -> None:
    song = make_track(library / "song.flac", title="Fixed")
    good = song.read_bytes()
    stamp = song.stat().st_mtime_ns
    song.write_bytes(b"\x00" * len(good))  # a damaged copy of the same size
    os.utime(song, ns=(stamp, stamp))
    assert scan(conn, library).errors == 1

    song.write_bytes(good)  # repaired in place, timestamps preserved
    os.utime(song, ns=(stamp, stamp))
    report = scan(conn, library)

    (row,) = tracks(conn).values()
    assert (report.changed, report.errors, row["status"], row["title"]) == (1, 0, "ok", "Fixed")


def test_broken_link_with_undecodable_target(conn, library: Path) -> None:
    os.symlink(b"/nowhere/caf\xe9.mp3", os.fsencode(library) + b"/dead.mp3")
    make_track(library / "ok.flac", title="ok")

    report = scan(conn, library)

    assert (report.new, report.errors) == (1, 1)
    (message,) = conn.execute("SELECT message FROM scan_errors").fetchone()
    assert "caf\\xe9.mp3" in message


def test_absurd_numbers_in_tags_do_not_stop_the_scan(conn, library: Path) -> None:
    from mutagen.flac import FLAC

    song = make_track(library / "huge.flac", title="huge")
    audio = FLAC(song)
    audio["TRACKNUMBER"] = "99999999999999999999"
    audio["FMPS_PLAYCOUNT"] = "1e300"
    audio["FMPS_RATING"] = "9" * 5000
    audio.save()
    make_track(library / "fine.flac", title="fine")

    report = scan(conn, library)

    assert (report.new, report.errors) == (2, 0)
    row = by_title(conn)["huge"]
    assert (row["track_number"], row["play_count"], row["rating"]) == (None, None, None)


def test_ctrl_c_during_the_walk_of_a_first_scan_keeps_what_was_read(conn, library: Path) -> None:
    import time

    from mydiscover.library.scan import scan_library
    from mydiscover.library.walk import normalize_root

    template = make_track(library / "t.wav", seconds=0.05).read_bytes()
    (library / "t.wav").unlink()
    for n in range(2500):
        folder = library / f"{n // 100:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"{n:04d}.wav").write_bytes(template)

    class CtrlCAfterTwoThousand:
        def walking(self, files_found: int) -> None:
            if files_found >= 2000:
                time.sleep(0.5)  # the workers finish what they were given meanwhile
                raise KeyboardInterrupt

        def reading(self, total: int) -> None: ...

        def advance(self, count: int) -> None: ...

    report = scan_library(conn, [normalize_root(library)], jobs=2, progress=CtrlCAfterTwoThousand())

    assert report.interrupted
    kept = len(tracks(conn))
    assert 0 < kept <= 2000 and report.new == kept
    resumed = scan(conn, library)
    assert (resumed.new, resumed.unchanged) == (2500 - kept, kept)


def test_a_worker_that_dies_fails_the_scan_instead_of_hanging(conn, library: Path) -> None:
    import multiprocessing
    import signal

    import pytest

    from mydiscover.library.scan import scan_library
    from mydiscover.library.walk import normalize_root
    from mydiscover.workers import WorkerCrashed

    template = make_track(library / "t.wav", seconds=0.05).read_bytes()
    (library / "t.wav").unlink()
    for n in range(3000):
        (library / f"{n:04d}.wav").write_bytes(template)

    class KillAWorker:
        def walking(self, files_found: int) -> None: ...

        def reading(self, total: int) -> None:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                break

        def advance(self, count: int) -> None: ...

    with pytest.raises(WorkerCrashed, match="died"):
        scan_library(conn, [normalize_root(library)], jobs=2, progress=KillAWorker())

    assert conn.execute("SELECT outcome FROM scans").fetchall() == [("failed",)]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_wav_whose_header_claims_more_audio_than_it_holds_is_an_error(conn, library: Path) -> None:
    import struct

    # A RIFF/WAVE header claiming about 4 GB of 16-bit stereo at 44.1 kHz, over no data.
    fmt = struct.pack("<HHIIHH", 1, 2, 44_100, 44_100 * 4, 4, 16)
    lying = b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE"
    lying += b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 0xFFFFFFC0)
    (library / "lying.wav").write_bytes(lying)
    whole = write_audio(library / "whole.wav", seconds=2.0)
    cut = write_audio(library / "cut.wav", seconds=2.0)
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 3])

    report = scan(conn, library)

    rows = {os.path.basename(row["path_text"]): row for row in tracks(conn).values()}
    assert report.errors == 2
    assert rows["whole.wav"]["status"] == "ok"
    assert abs(rows["whole.wav"]["duration"] - 2.0) < 0.01
    for name in ("lying.wav", "cut.wav"):
        assert rows[name]["status"] == "error"
        assert "damaged or truncated" in rows[name]["error"]
