"""Progress output: silent when disabled, a few lines off a TTY, a tqdm bar on a TTY."""

from __future__ import annotations

import io

from stablenet.train.progress import Progress

RECORD = {"train_loss": 0.5, "train_accuracy": 0.75, "val_accuracy": 0.8}


def drive(progress: Progress, epochs: int, per_epoch: int) -> None:
    progress.start_level(0, 1, 8, epochs, epochs * per_epoch)
    for e in range(1, epochs + 1):
        for _ in range(per_epoch):
            progress.step(0.5, 0.75, 0.8)
        progress.epoch({**RECORD, "epoch": e})
    progress.close()


def test_disabled_prints_nothing():
    stream = io.StringIO()
    drive(Progress(enabled=False, stream=stream), 20, 3)
    assert stream.getvalue() == ""


def test_plain_lines_off_a_tty():
    stream = io.StringIO()
    drive(Progress(enabled=True, stream=stream), 20, 3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "level 1/1 depth 8: 20 epoch(s), 60 step(s)"
    assert [ln.split()[1] for ln in lines[1:]] == [f"{e}/20:" for e in range(2, 21, 2)]
    assert "val acc 0.8000" in lines[-1]


def test_long_epochs_report_every_tenth():
    stream = io.StringIO()
    drive(Progress(enabled=True, stream=stream), 1, 400)
    steps = [ln for ln in stream.getvalue().splitlines() if ln.strip().startswith("step")]
    assert [ln.split()[1] for ln in steps] == [f"{k}/400:" for k in range(40, 400, 40)]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_tty():
    stream = FakeTTY()
    drive(Progress(enabled=True, stream=stream), 2, 5)
    text = stream.getvalue()
    assert "level 1/1 depth 8" in text and "10/10" in text and "loss=0.5000" in text
