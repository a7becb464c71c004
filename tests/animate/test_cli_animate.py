"""``fusemax animate``: GIF frames = temporal steps (read back with PIL), HTML pages, errors exit 2."""
from __future__ import annotations

import pytest
from PIL import Image

from fusemax.animate.draw import ffmpeg_path
from fusemax.cli import main


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("animate")
    assert main(["animate", "--config", "binding", "--einsums", "RM,AV", "--pe", "2x2", "--pe1d", "2",
                 "--size", "B=1,H=1,M=8,P=4,E=2", "-o", str(folder)]) == 0
    return folder


def test_gif_has_one_frame_per_temporal_step(out):
    # binding on the 1D array: RM walks M1 = 4 key blocks x P1_1d = 2 query tiles; AV walks F = 2 x P1_1d = 2
    for name, steps in (("rm", 8), ("av", 4)):
        with Image.open(out / f"{name}.gif") as gif:
            assert gif.n_frames == steps
            assert gif.size[0] > 600 and gif.size[1] > 200


def test_html_pages_are_self_contained(out):
    page = (out / "rm.html").read_text()
    assert "RM[b,h,m1+1,p] = max(RM[b,h,m1,p], LM[b,h,m1,p])" in page
    assert page.count("data:image/png;base64") == 8  # every frame embedded
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "class=\"fa" not in page and "&#x25B6;" in page  # player buttons as plain glyphs
    index = (out / "index.html").read_text()
    assert "src='rm.gif'" in index and "href='av.html'" in index


def test_mp4_when_ffmpeg_is_present(out):
    if ffmpeg_path() is None:
        pytest.skip("ffmpeg is not installed: fusemax animate writes no MP4")
    assert (out / "rm.mp4").stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["--size", "B=1,H=1,M=64,P=64,E=2"], "over the drawing limit of 256; use a smaller --size"),
    (["--size", "B=1,M=8"], "--size: missing H, P, E"),
    (["--size", "B=1,H=1,M=8,P=four,E=2"], "--size: P must be a positive integer"),
    (["--pe", "2x3"], "--pe: the 2D array is square"),
    (["--pe", "big"], "--pe: bad PE array 'big'"),
    (["--pe1d", "x"], "--pe1d: bad 1D array 'x'"),
    (["--pe", "4x4"], "over the drawing limit of 9 PEs"),
    (["--einsums", "QK,XX"], "--einsums: unknown Einsum(s) XX for binding"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main(["animate", "-o", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, message", [
    (["--size", f"B=1,H=1,M={2**64},P=4,E=2"], "--size: M=18446744073709551616 is over the drawing limit"),
    (["--size", "B=1,H=1,M=8,M=4,P=4,E=2"], "--size: M is given twice"),
    (["--einsums", ","], "--einsums: no Einsum in ','"),
])
def test_animate_refuses_at_once(argv, message, tmp_path, capsys):
    from fusemax.cli import main
    assert main(["animate", "--no-mp4", "-o", str(tmp_path / "a"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_unwritable_output_is_one_line_and_no_warning(tmp_path, capsys):
    """-o naming a file: the error alone, not followed by matplotlib's warning about an unsaved animation."""
    import gc
    import warnings
    (tmp_path / "afile").write_text("")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["animate", "--no-mp4", "--einsums", "QK", "-o", str(tmp_path / "afile")]) == 2
        gc.collect()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the animation" in err
    assert not [w for w in caught if "Animation was deleted" in str(w.message)]
