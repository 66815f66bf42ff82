"""The command line's stderr: the progress line (on a terminal and in a log) and plain --help."""

import io

from dae_core.cli.console import ProgressLine
from dae_core.cli.main import build_parser


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_line_shows_the_bar_the_share_done_what_is_done_and_the_time_left():
    line = ProgressLine("evaluate").render(0.25, "gaussian 0.5", elapsed=30)
    assert line == "[evaluate] [#####---------------]  25%  gaussian 0.5  ~1:30 left"
    assert ProgressLine("x").render(0.5, "", elapsed=1) == "[x] [##########----------]  50%"  # too early to tell


def test_on_a_terminal_the_line_is_redrawn_in_place_and_cleared_at_the_end():
    stream = Terminal()
    with ProgressLine("compare", stream=stream, every_s=0) as progress:
        progress(0.5, "a longer text")
        progress(1.0, "done")
    out = stream.getvalue()
    assert "\n" not in out and out.count("\r") == 4  # two lines, each over the last, then cleared
    first = out.split("\r")[1]
    second = out.split("\r")[2]
    assert len(second) == len(first)  # padded over the longer line before it
    assert out.endswith("\r") and out.split("\r")[-2].strip() == ""


def test_in_a_log_it_writes_a_line_at_most_every_few_seconds_and_always_the_last():
    stream = io.StringIO()
    progress = ProgressLine("study", stream=stream, log_every_s=60)
    for step in range(1, 11):
        progress(step / 10, f"step {step}")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert [line.split("  ")[-1] for line in lines] == ["step 1", "step 10"]


def test_help_is_plain_text():
    parser = build_parser()
    texts = [parser.format_help()] + [p.format_help() for p in parser._subparsers._group_actions[0].choices.values()]
    assert not any("``" in text for text in texts)
    assert all("--verbose" in text for text in texts[1:])
